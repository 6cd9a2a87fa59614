//! A token explained check by check against the trusted issuers' rules, for diagnostics (a
//! service's doctor): every check it passes or fails, in order, as far as the checks can go. It
//! grants nothing: the verdict is the verifier's, and a service asks the verifier for it.

use std::time::{Duration, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::header::TokenHeader;
use crate::issuer_alias::identifier as issuer_identifier;
use crate::keys::{KeyLookupError, KeySet, VerificationKey};
use crate::policy::IssuerPolicy;
use crate::verifier::unverified_claims;

/// One check a token passed or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Whether the token passed it.
    pub passed: bool,
    /// What was checked and what the token holds, in plain words; a token's text is shown
    /// escaped, never as it came.
    pub text: String,
    /// A setting that would change the outcome, for the service to name in its own terms.
    pub fix: Option<Fix>,
}

/// A setting that would accept a token the checks refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// A token without `aud` has this claim naming a configured audience: the issuer's
    /// audience claim set to it would accept the token (Cognito access tokens: `client_id`).
    AudienceClaim(String),
    /// A token without `aud`, and no claim of it names a configured audience: an audience
    /// claim is needed, naming the claim that holds this API's audience.
    SomeAudienceClaim,
}

/// What the checks know of one trusted issuer: its identifier, its rules and the keys it
/// offered (`None` where they could not be loaded).
#[derive(Clone, Copy)]
pub struct IssuerView<'a> {
    /// The issuer's identifier, as tokens name it in `iss`.
    pub issuer: &'a str,
    /// What its tokens must satisfy.
    pub policy: &'a IssuerPolicy,
    /// Its current key set.
    pub keys: Option<&'a KeySet>,
}

/// Every check `token` passes or fails against `issuers`, at `now` (seconds since the Unix
/// epoch), stopping where the next checks cannot be made (no header, no trusted issuer, no
/// key).
pub fn explain(
    token: &str,
    issuers: &[IssuerView<'_>],
    max_token_bytes: usize,
    now: u64,
) -> Vec<Check> {
    let mut checks = Vec::new();
    explain_checks(
        token,
        issuers,
        max_token_bytes,
        now,
        &mut |passed, text, fix| {
            checks.push(Check { passed, text, fix });
        },
    );
    checks
}

/// The report, one call of `report` a check.
type Report<'r> = dyn FnMut(bool, String, Option<Fix>) + 'r;

fn explain_checks(
    token: &str,
    issuers: &[IssuerView<'_>],
    max_token_bytes: usize,
    now: u64,
    report: &mut Report<'_>,
) {
    let mut check = |passed: bool, text: String| report(passed, text, None);
    check(
        token.len() <= max_token_bytes,
        format!("size {} bytes (limit {max_token_bytes})", token.len()),
    );
    let every_alg: Vec<Algorithm> = issuers
        .iter()
        .flat_map(|issuer| issuer.policy.algorithms.iter().copied())
        .collect();
    let header = match TokenHeader::parse(token, &every_alg) {
        Ok(header) => header,
        Err(error) => return check(false, format!("header: {}", error.reason())),
    };
    check(
        true,
        format!("header: alg {:?}, {}", header.alg, header.key.describe()),
    );
    let Some(claims) = unverified_claims(token) else {
        return check(false, "payload is not a JSON object".to_owned());
    };
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let named = issuer_identifier(iss);
    let Some(issuer) = issuers
        .iter()
        .find(|issuer| issuer.issuer == named || crate::tenant::matches(issuer.issuer, iss))
    else {
        let trusted: Vec<&str> = issuers.iter().map(|i| i.issuer).collect();
        return check(
            false,
            format!(
                "iss `{iss}` is not a trusted issuer (trusted: {})",
                trusted.join(", ")
            ),
        );
    };
    check(true, format!("iss `{iss}` is a trusted issuer"));
    check(
        issuer.policy.algorithms.contains(&header.alg),
        format!("alg {:?} is allowed for this issuer", header.alg),
    );
    let Some(keys) = issuer.keys else {
        return check(false, "the issuer's keys could not be loaded".to_owned());
    };
    let key = match keys.find(&header.key, header.alg) {
        Ok(key) => key,
        Err(KeyLookupError::AlgorithmMismatch) => {
            return check(
                false,
                format!(
                    "a key answers to {}, but none fits alg {:?}",
                    header.key.describe(),
                    header.alg
                ),
            );
        }
        Err(KeyLookupError::AmbiguousKey) => {
            return check(
                false,
                format!(
                    "the token names no key, and the JWKS has not exactly one key for alg {:?}",
                    header.alg
                ),
            );
        }
        Err(_) => {
            return check(
                false,
                format!(
                    "no key in the issuer's JWKS answers to {}",
                    header.key.describe()
                ),
            );
        }
    };
    check(
        true,
        format!(
            "key {} fits alg {:?}",
            key.kid.as_deref().unwrap_or("(no kid)").escape_debug(),
            header.alg
        ),
    );
    check(
        signature_verifies(token, header.alg, key),
        "signature verifies".to_owned(),
    );
    explain_audience(&claims, issuer.policy, report);
    let mut check = |passed: bool, text: String| report(passed, text, None);
    explain_times(&claims, issuer.policy.leeway_seconds, now, &mut check);
    explain_rules(header.typ.as_deref(), &claims, issuer.policy, &mut check);
}

/// The signature alone: every claim check off, so a failure here is the signature's.
fn signature_verifies(token: &str, alg: Algorithm, key: &VerificationKey) -> bool {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key.decoding_key, &validation).is_ok()
}

fn explain_audience(claims: &Map<String, Value>, policy: &IssuerPolicy, report: &mut Report<'_>) {
    let mut check = |passed: bool, text: String| report(passed, text, None);
    let expected = &policy.audience;
    let names_one = |value: &Value| strings(value).iter().any(|s| expected.contains(s));
    if let Some(aud) = claims.get("aud") {
        return check(
            names_one(aud),
            format!("aud {:?} names one of {expected:?}", strings(aud)),
        );
    }
    match &policy.audience_claim {
        Some(name) => {
            let value = claims.get(name).unwrap_or(&Value::Null);
            check(
                names_one(value),
                format!(
                    "no aud; audience_claim {name} {:?} names one of {expected:?}",
                    strings(value)
                ),
            );
        }
        None => {
            let stand_ins: Vec<&String> = claims
                .iter()
                .filter(|(_, value)| names_one(value))
                .map(|(name, _)| name)
                .collect();
            match stand_ins.first() {
                Some(name) => report(
                    false,
                    format!("aud is missing; claim {name} names a configured audience"),
                    Some(Fix::AudienceClaim((*name).clone())),
                ),
                None => report(
                    false,
                    "aud is missing".to_owned(),
                    Some(Fix::SomeAudienceClaim),
                ),
            }
        }
    }
}

/// The strings of a string or array claim.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The issuer's own rules: required `typ`, longest lifetime, required claims.
fn explain_rules(
    typ: Option<&str>,
    claims: &Map<String, Value>,
    policy: &IssuerPolicy,
    check: &mut impl FnMut(bool, String),
) {
    if let Some(required) = &policy.require_typ {
        check(
            typ == Some(required.as_str()),
            format!(
                "typ {} is the required {required} (require_typ)",
                typ.unwrap_or("(none)")
            ),
        );
    }
    if let Some(max) = policy.max_token_lifetime_seconds {
        let iat = claims.get("iat").and_then(Value::as_u64);
        let exp = claims.get("exp").and_then(Value::as_u64);
        match (iat, exp) {
            (Some(iat), Some(exp)) => check(
                exp.saturating_sub(iat) <= max,
                format!(
                    "lifetime exp − iat = {} s, at most {max} s (max_token_lifetime_seconds)",
                    exp.saturating_sub(iat)
                ),
            ),
            _ => check(
                false,
                format!("iat and exp are required to bound the lifetime to {max} s"),
            ),
        }
    }
    for required in &policy.required_claims {
        check(
            required.accepts(claims.get(&required.name)),
            format!(
                "claim {} is one of {:?} (required_claims)",
                required.name, required.one_of
            ),
        );
    }
    check(
        true,
        format!("roles are read from {}", policy.roles_claim.0),
    );
}

fn explain_times(
    claims: &Map<String, Value>,
    leeway: u64,
    now: u64,
    check: &mut impl FnMut(bool, String),
) {
    match claims.get("exp").and_then(Value::as_u64) {
        Some(exp) => check(
            exp + leeway >= now,
            format!(
                "exp {} ({}; leeway {leeway} s)",
                http_date(exp),
                relative(exp, now)
            ),
        ),
        None => check(false, "exp is missing or not a number".to_owned()),
    }
    for name in ["nbf", "iat"] {
        if let Some(value) = claims.get(name) {
            match value.as_u64() {
                Some(at) => check(
                    at <= now + leeway,
                    format!("{name} {} ({})", http_date(at), relative(at, now)),
                ),
                None => check(false, format!("{name} is not a number")),
            }
        }
    }
}

fn http_date(seconds: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// "in 5 min" or "3 h 2 min ago".
fn relative(at: u64, now: u64) -> String {
    let span = at.abs_diff(now);
    let words = match span {
        0..60 => format!("{span} s"),
        60..3600 => format!("{} min", span / 60),
        _ => format!("{} h {} min", span / 3600, span % 3600 / 60),
    };
    if at >= now {
        format!("in {words}")
    } else {
        format!("{words} ago")
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::caller::RolesClaim;

    const ISSUER: &str = "https://issuer.example.com/";
    const NOW: u64 = 1_800_000_000;

    /// A signing key, and the key set publishing its public half as `ed-1`.
    fn keys() -> (EncodingKey, KeySet) {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwks = json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "alg": "EdDSA",
            "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        }]});
        let set = KeySet::parse(jwks.to_string().as_bytes(), &[Algorithm::EdDSA], 10, None);
        (EncodingKey::from_ed_der(pkcs8.as_ref()), set.unwrap())
    }

    fn policy() -> IssuerPolicy {
        IssuerPolicy {
            audience: vec!["api".to_owned()],
            algorithms: vec![Algorithm::EdDSA],
            leeway_seconds: 30,
            audience_claim: None,
            required_claims: Vec::new(),
            roles_claim: RolesClaim("roles".to_owned()),
            require_typ: None,
            max_token_lifetime_seconds: None,
            allowed_tenants: None,
        }
    }

    /// The test issuer with `policy` and the key `set`.
    fn view<'a>(policy: &'a IssuerPolicy, set: &'a KeySet) -> IssuerView<'a> {
        IssuerView {
            issuer: ISSUER,
            policy,
            keys: Some(set),
        }
    }

    fn sign(key: &EncodingKey, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("ed-1".to_owned());
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    #[test]
    fn a_good_token_passes_every_check_and_a_bad_one_fails_where_it_is_bad() {
        let (key, set) = keys();
        let policy = policy();
        let issuers = [view(&policy, &set)];
        let good = json!({"iss": ISSUER, "aud": "api", "sub": "a", "exp": NOW + 60});
        let checks = explain(&sign(&key, &good), &issuers, 16_384, NOW);
        assert!(checks.iter().all(|check| check.passed), "{checks:#?}");
        assert!(
            checks
                .iter()
                .any(|check| check.text == "signature verifies")
        );

        let elsewhere = json!({"iss": ISSUER, "aud": "other", "exp": NOW - 60});
        let failed: Vec<String> = explain(&sign(&key, &elsewhere), &issuers, 16_384, NOW)
            .into_iter()
            .filter(|check| !check.passed)
            .map(|check| check.text)
            .collect();
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert!(failed[0].starts_with("aud [\"other\"]"), "{failed:?}");
        assert!(failed[1].starts_with("exp "), "{failed:?}");

        let unknown = json!({"iss": "https://other.example.com/", "aud": "api", "exp": NOW});
        let checks = explain(&sign(&key, &unknown), &issuers, 16_384, NOW);
        let last = checks.last().unwrap();
        assert!(
            !last.passed && last.text.contains("is not a trusted issuer"),
            "{checks:#?}"
        );
    }

    #[test]
    fn a_token_without_aud_names_the_claim_that_would_stand_in() {
        let (key, set) = keys();
        let policy = policy();
        let issuers = [view(&policy, &set)];
        let cognito = json!({"iss": ISSUER, "client_id": "api", "exp": NOW + 60});
        let checks = explain(&sign(&key, &cognito), &issuers, 16_384, NOW);
        let audience = checks.iter().find(|check| check.fix.is_some()).unwrap();
        assert!(!audience.passed);
        assert_eq!(
            audience.fix,
            Some(Fix::AudienceClaim("client_id".to_owned()))
        );

        let bare = json!({"iss": ISSUER, "exp": NOW + 60});
        let checks = explain(&sign(&key, &bare), &issuers, 16_384, NOW);
        assert!(
            checks
                .iter()
                .any(|check| check.fix == Some(Fix::SomeAudienceClaim))
        );
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(1_030, 1_000), "in 30 s");
        assert_eq!(relative(1_000, 1_000 + 7_380), "2 h 3 min ago");
    }
}
