//! What a token of one issuer must satisfy beyond a signature by one of its keys and the
//! registered claims `jsonwebtoken` checks: the per-issuer rules for tokens shaped as real
//! issuers send them (an audience claim for tokens without `aud`, required claim values, a
//! required `typ`, a longest lifetime) and where that issuer puts its roles.

use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::caller::RolesClaim;
use super::claim_set::ClaimSet;
use super::error::TokenError;
use super::tenant::AllowedTenants;

/// The policy of one trusted issuer.
#[derive(Debug, Clone)]
pub struct IssuerPolicy {
    /// Accepted audiences: `aud` must name one (RFC 7519 §4.1.3).
    pub audience: Vec<String>,
    /// The algorithms this issuer's tokens may be signed with.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_seconds: u64,
    /// Compared with the audiences when a token has no `aud` (Cognito access tokens carry
    /// `client_id` instead). A present `aud` is always the one compared.
    pub audience_claim: Option<String>,
    /// Claims that must hold one of the given values.
    pub required_claims: Vec<RequiredClaim>,
    /// Where this issuer's tokens carry roles.
    pub roles_claim: RolesClaim,
    /// The `typ` every token must carry (RFC 9068 §4), as a media type.
    pub require_typ: Option<String>,
    /// Tokens whose `exp − iat` exceeds this are refused, and `iat` is then required.
    pub max_token_lifetime_seconds: Option<u64>,
    /// For a multi-tenant issuer (`{tenantid}` in its identifier), the tenants whose tokens
    /// are taken; `None` for any other issuer.
    pub allowed_tenants: Option<AllowedTenants>,
}

/// A claim that must be one of `one_of` (a scalar claim) or contain one of them (an array).
/// Values compare as text, so `APP__…=5` and `5` in TOML agree.
#[derive(Debug, Clone)]
pub struct RequiredClaim {
    /// The claim's name.
    pub name: String,
    /// The values it may hold (or, for an array claim, contain one of).
    pub one_of: Vec<String>,
    /// The fixed refusal reason, naming the claim and never its value. Built once at startup
    /// and kept for the process's life, so a rejection stays a `Copy` value like every other.
    refusal: &'static str,
}

impl RequiredClaim {
    /// `name` must hold one of `one_of`.
    pub fn new(name: &str, one_of: Vec<String>) -> Self {
        let refusal = format!("claim {name} does not have a required value");
        Self {
            name: name.to_owned(),
            one_of,
            refusal: Box::leak(refusal.into_boxed_str()),
        }
    }

    /// Whether `claims` satisfy this requirement.
    pub fn holds(&self, claims: &ClaimSet<'_>) -> bool {
        self.accepts(claims.get(&self.name).as_ref())
    }

    /// Whether the claim's value, `None` when absent, satisfies this requirement.
    pub fn accepts(&self, value: Option<&Value>) -> bool {
        let accepted =
            |value: &Value| scalar_text(value).is_some_and(|text| self.one_of.contains(&text));
        match value {
            Some(Value::Array(items)) => items.iter().any(accepted),
            Some(value) => accepted(value),
            None => false,
        }
    }
}

impl IssuerPolicy {
    /// The registered claims `jsonwebtoken` must require: `aud` only when no audience claim can
    /// stand in for it.
    pub fn required_spec_claims(&self) -> &'static [&'static str] {
        match self.audience_claim {
            Some(_) => &["exp", "iss"],
            None => &["exp", "iss", "aud"],
        }
    }

    /// The checks beyond `jsonwebtoken`'s, on a token whose signature and registered claims
    /// have passed; `typ` is the header's, as a media type.
    pub fn check(&self, typ: Option<&str>, claims: &ClaimSet<'_>) -> Result<(), TokenError> {
        if let Some(required) = &self.require_typ
            && typ != Some(required.as_str())
        {
            return Err(TokenError::UnsupportedType);
        }
        // Checked here whenever present, whatever `jsonwebtoken` did: with an audience claim
        // configured `aud` is not required, and `jsonwebtoken` then takes `"aud": null` for
        // none and compares nothing.
        match claims.words("aud")? {
            Some(aud) if !aud.iter().any(|aud| self.audience.iter().any(|a| a == aud)) => {
                return Err(TokenError::AudienceMismatch);
            }
            Some(_) => {}
            None => {
                if let Some(name) = &self.audience_claim {
                    let stand_in = claims.get(name).ok_or(TokenError::MissingClaim)?;
                    if !names_an_audience(&stand_in, &self.audience) {
                        return Err(TokenError::AudienceMismatch);
                    }
                }
            }
        }
        if let Some(max) = self.max_token_lifetime_seconds {
            let iat = claims
                .number("iat")
                .map_err(|_| TokenError::MalformedClaims)?
                .ok_or(TokenError::MissingClaim)?;
            let exp = claims
                .number("exp")
                .ok()
                .flatten()
                .ok_or(TokenError::MalformedClaims)?;
            if exp - iat > max as f64 {
                return Err(TokenError::LifetimeTooLong);
            }
        }
        for required in &self.required_claims {
            if !required.holds(claims) {
                return Err(TokenError::RequiredClaim(required.refusal));
            }
        }
        Ok(())
    }
}

/// Whether a claim (a string or an array of strings) names one of `audience`.
fn names_an_audience(value: &Value, audience: &[String]) -> bool {
    let named = |text: &str| audience.iter().any(|a| a == text);
    match value {
        Value::String(text) => named(text),
        Value::Array(items) => items.iter().filter_map(Value::as_str).any(named),
        _ => false,
    }
}

/// A string, number or boolean as text; other values never match a required value.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claim_set;
    use serde_json::json;

    fn policy() -> IssuerPolicy {
        IssuerPolicy {
            audience: vec!["client-1".to_owned()],
            algorithms: vec![Algorithm::RS256],
            leeway_seconds: 0,
            audience_claim: None,
            required_claims: Vec::new(),
            roles_claim: RolesClaim("roles".to_owned()),
            require_typ: None,
            max_token_lifetime_seconds: None,
            allowed_tenants: None,
        }
    }

    fn claims(value: Value) -> ClaimSet<'static> {
        claim_set::for_test(&value)
    }

    #[test]
    fn a_required_claim_matches_a_scalar_or_an_array_member() {
        let rule = RequiredClaim::new("token_use", vec!["access".to_owned(), "id".to_owned()]);
        assert!(rule.holds(&claims(json!({"token_use": "id"}))));
        assert!(rule.holds(&claims(json!({"token_use": ["x", "access"]}))));
        assert!(!rule.holds(&claims(json!({"token_use": "refresh"}))));
        assert!(!rule.holds(&claims(json!({"token_use": {"access": true}}))));
        assert!(!rule.holds(&claims(json!({}))));
        let numeric = RequiredClaim::new("ver", vec!["2".to_owned()]);
        assert!(numeric.holds(&claims(json!({"ver": 2}))));
        let flag = RequiredClaim::new("email_verified", vec!["true".to_owned()]);
        assert!(flag.holds(&claims(json!({"email_verified": true}))));
        assert!(!flag.holds(&claims(json!({"email_verified": false}))));
    }

    #[test]
    fn a_refused_required_claim_names_the_claim_and_not_its_value() {
        let mut strict = policy();
        strict.required_claims = vec![RequiredClaim::new("tid", vec!["tenant-a".to_owned()])];
        let refusal = strict
            .check(None, &claims(json!({"tid": "tenant-b"})))
            .unwrap_err();
        assert_eq!(refusal.reason(), "claim tid does not have a required value");
        assert!(!refusal.reason().contains("tenant"));
    }

    #[test]
    fn the_audience_claim_stands_in_only_for_a_missing_aud() {
        let mut cognito = policy();
        cognito.audience_claim = Some("client_id".to_owned());
        assert_eq!(cognito.required_spec_claims(), ["exp", "iss"]);
        assert_eq!(
            cognito.check(None, &claims(json!({"client_id": "client-1"}))),
            Ok(())
        );
        assert_eq!(
            cognito.check(None, &claims(json!({"client_id": ["other", "client-1"]}))),
            Ok(())
        );
        assert_eq!(
            cognito.check(None, &claims(json!({"client_id": "other"}))),
            Err(TokenError::AudienceMismatch)
        );
        assert_eq!(
            cognito.check(None, &claims(json!({}))),
            Err(TokenError::MissingClaim)
        );
        assert_eq!(
            cognito.check(None, &claims(json!({"client_id": 7}))),
            Err(TokenError::AudienceMismatch)
        );
        assert_eq!(
            policy().required_spec_claims(),
            ["exp", "iss", "aud"],
            "without an audience claim, aud stays required"
        );
    }

    #[test]
    fn a_required_type_must_be_present_and_equal() {
        let mut strict = policy();
        strict.require_typ = Some(crate::token_type::media_type("application/AT+JWT"));
        assert_eq!(strict.check(Some("at+jwt"), &claims(json!({}))), Ok(()));
        assert_eq!(
            strict.check(Some("jwt"), &claims(json!({}))),
            Err(TokenError::UnsupportedType)
        );
        assert_eq!(
            strict.check(None, &claims(json!({}))),
            Err(TokenError::UnsupportedType)
        );
        assert_eq!(policy().check(None, &claims(json!({}))), Ok(()));
    }

    #[test]
    fn a_longest_lifetime_requires_iat_and_bounds_exp_minus_iat() {
        let mut short = policy();
        short.max_token_lifetime_seconds = Some(300);
        assert_eq!(
            short.check(None, &claims(json!({"iat": 1000, "exp": 1300}))),
            Ok(())
        );
        assert_eq!(
            short.check(None, &claims(json!({"iat": 1000, "exp": 1301}))),
            Err(TokenError::LifetimeTooLong)
        );
        assert_eq!(
            short.check(None, &claims(json!({"exp": 1300}))),
            Err(TokenError::MissingClaim)
        );
        assert_eq!(
            short.check(None, &claims(json!({"iat": "noon", "exp": 1300}))),
            Err(TokenError::MalformedClaims)
        );
        assert_eq!(
            policy().check(None, &claims(json!({"iat": 0, "exp": 99999999}))),
            Ok(())
        );
    }
}
