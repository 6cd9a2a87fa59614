//! Who is calling, as handlers see it: subject, issuer, audiences, expiry, and one normalised set
//! of permissions gathered from wherever the issuer puts them.
//!
//! Scopes come from `scope` (space-separated, RFC 9068/8693), `scp` (a string or an array, as
//! Entra ID and Okta send it) and `permissions` (an array, as Auth0 sends it). Roles come from
//! one configurable claim, which may be a nested path such as Keycloak's `realm_access.roles`.

use std::sync::Arc;

use serde_json::Value;

use super::claim_set::{ClaimSet, split_on_space};
use super::claims::VerifiedClaims;
use super::error::TokenError;
use super::provenance::Provenance;

/// Where the roles claim lives: a top-level claim name (which may itself contain dots, as
/// Auth0's namespaced claims do) or a dotted path into nested objects.
#[derive(Debug, Clone)]
pub struct RolesClaim(pub String);

impl RolesClaim {
    /// The roles: the claim of that name, or else the value at that dotted path.
    fn find(&self, claims: &ClaimSet<'_>) -> Option<Value> {
        claims.get(&self.0).or_else(|| {
            let mut parts = self.0.split('.');
            let first = claims.get(parts.next()?)?;
            parts.try_fold(first, |mut value, part| {
                value.get_mut(part).map(Value::take)
            })
        })
    }
}

/// The verified caller of a protected route. Built once per token (and remembered with it by
/// the verified-token cache), so cloning it per request is one reference count.
#[derive(Debug, Clone)]
pub struct Caller(Arc<Permissions>);

#[derive(Debug)]
struct Permissions {
    claims: VerifiedClaims,
    scopes: Names,
    roles: Names,
    /// The thumbprint of the key the token is bound to (`cnf.jkt`, RFC 9449 §6), read once
    /// per token because every request is checked against it.
    bound_key: Option<Box<str>>,
    /// The thumbprint of the client certificate it is bound to (`cnf.x5t#S256`, RFC 8705 §3.1).
    bound_certificate: Option<Box<str>>,
    /// What the verification rested on, checked again whenever the token cache answers.
    provenance: Provenance,
}

/// Sorted, distinct names, held as compactly as they can be: each cached token keeps one set
/// of each (a `BTreeSet` node alone is larger than a set of two short scopes). Sorted
/// in a `Vec` too, not a `BTreeSet`, whose nodes cost an allocation per token verified.
type Names = Box<[Box<str>]>;

fn names<'a>(words: impl Iterator<Item = &'a str>) -> Names {
    let mut names: Vec<&str> = words.collect();
    names.sort_unstable();
    names.dedup();
    names.into_iter().map(Box::from).collect()
}

impl Caller {
    /// Reads permissions out of verified claims, and holds the claims for handlers. A claim
    /// read here that has no readable shape refuses the token: scopes and roles must be a
    /// string or an array of strings, `cnf` exactly one string `jkt`.
    pub(crate) fn new(
        claims: &ClaimSet<'_>,
        roles_claim: &RolesClaim,
        provenance: Provenance,
    ) -> Result<Self, TokenError> {
        let mut granted = Vec::new();
        for name in ["scope", "scp", "permissions"] {
            if let Some(words) = claims.words(name)? {
                granted.extend(words);
            }
        }
        let scopes = names(granted.iter().map(AsRef::as_ref));
        let roles = match roles_claim.find(claims) {
            Some(found) => names(words_in(&found)?.into_iter()),
            None => Names::default(),
        };
        let (bound_key, bound_certificate) = confirmation(claims)?;
        Ok(Self(Arc::new(Permissions {
            claims: VerifiedClaims::new(claims)?,
            scopes,
            roles,
            bound_key,
            bound_certificate,
            provenance,
        })))
    }

    /// What the verification rested on.
    pub(crate) fn provenance(&self) -> &Provenance {
        &self.0.provenance
    }

    /// The `sub` claim, when the issuer sets one.
    pub fn subject(&self) -> Option<&str> {
        self.0.claims.subject()
    }

    /// The verified issuer: the token's `iss`.
    pub fn issuer(&self) -> &str {
        self.0.claims.issuer()
    }

    /// The issuer as configured that vouched for the token: [`issuer`](Self::issuer), except
    /// for a multi-tenant issuer, whose template (`…/{tenantid}/…`) it is.
    pub fn trusted_issuer(&self) -> &str {
        &self.0.provenance.trusted_issuer
    }

    /// The audiences the token names.
    pub fn audience(&self) -> Vec<&str> {
        self.0
            .claims
            .get("aud")
            .into_iter()
            .flat_map(words)
            .collect()
    }

    /// When the token expires, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.0.claims.expires_at()
    }

    /// Every scope or permission granted, sorted, once each.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.0.scopes.iter().map(AsRef::as_ref)
    }

    /// Every role granted, sorted, once each.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.0.roles.iter().map(AsRef::as_ref)
    }

    /// Whether `scope` is among the granted scopes (`scope`, `scp` or `permissions`).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0
            .scopes
            .binary_search_by(|name| (**name).cmp(scope))
            .is_ok()
    }

    /// Whether `role` is among the roles the issuer's roles claim grants.
    pub fn has_role(&self, role: &str) -> bool {
        self.0
            .roles
            .binary_search_by(|name| (**name).cmp(role))
            .is_ok()
    }

    /// The thumbprint of the DPoP key the token is bound to, if it is bound.
    pub fn bound_key(&self) -> Option<&str> {
        self.0.bound_key.as_deref()
    }

    /// The thumbprint of the client certificate the token is bound to (`cnf.x5t#S256`), if
    /// it is. A service that reads no client certificate must refuse such a token; the actix
    /// adapter does.
    pub fn bound_certificate(&self) -> Option<&str> {
        self.0.bound_certificate.as_deref()
    }

    /// All verified claims, for custom fields.
    pub fn claims(&self) -> &VerifiedClaims {
        &self.0.claims
    }
}

/// What a token is bound to: the DPoP key (`cnf.jkt`, RFC 9449 §6), the client certificate
/// (`cnf.x5t#S256`, RFC 8705 §3.1), or both. Any other confirmation (RFC 7800's `jwk`, a
/// thumbprint that is no string, an empty `cnf`) binds the token in a way not enforced here,
/// so it refuses the token rather than letting it pass as unbound.
type Confirmation = (Option<Box<str>>, Option<Box<str>>);

fn confirmation(claims: &ClaimSet<'_>) -> Result<Confirmation, TokenError> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok((None, None));
    };
    let members = cnf.as_object().ok_or(TokenError::UnsupportedConfirmation)?;
    let (mut key, mut certificate) = (None, None);
    for (name, value) in members {
        let thumbprint = value
            .as_str()
            .map(Box::from)
            .ok_or(TokenError::UnsupportedConfirmation)?;
        match name.as_str() {
            "jkt" => key = Some(thumbprint),
            "x5t#S256" => certificate = Some(thumbprint),
            _ => return Err(TokenError::UnsupportedConfirmation),
        }
    }
    if key.is_none() && certificate.is_none() {
        return Err(TokenError::UnsupportedConfirmation);
    }
    Ok((key, certificate))
}

/// The words of a roles value: a string split on SP alone (RFC 6749 §3.3), or an array of
/// strings; any other value is malformed.
fn words_in(value: &Value) -> Result<Vec<&str>, TokenError> {
    match value {
        Value::String(text) => Ok(split_on_space(text).collect()),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().ok_or(TokenError::MalformedClaims))
            .collect(),
        _ => Err(TokenError::MalformedClaims),
    }
}

/// The words of the audience claim (a string or an array of strings).
fn words(value: &Value) -> impl Iterator<Item = &str> {
    let (text, items) = match value {
        Value::String(text) => (Some(text.as_str()), None),
        Value::Array(items) => (None, Some(items)),
        _ => (None, None),
    };
    let items = items.into_iter().flatten().filter_map(Value::as_str);
    text.into_iter().chain(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{claim_set, provenance};
    use serde_json::json;

    fn caller(mut claims: Value, roles: &str) -> Caller {
        if claims.get("iss").is_none() {
            claims["iss"] = json!("https://issuer");
        }
        Caller::new(
            &claim_set::for_test(&claims),
            &RolesClaim(roles.to_owned()),
            provenance::for_test(0),
        )
        .unwrap()
    }

    #[test]
    fn the_registered_claims_are_read_as_their_types() {
        let full = caller(
            json!({"sub": "alice", "iss": "https://issuer", "aud": ["a", "b", 7], "exp": 1_800_000_000}),
            "roles",
        );
        assert_eq!(full.subject(), Some("alice"));
        assert_eq!(full.issuer(), "https://issuer");
        assert_eq!(full.audience(), ["a", "b"]);
        assert_eq!(full.expires_at(), 1_800_000_000);
        let single = caller(json!({"aud": "only"}), "roles");
        assert_eq!(single.audience(), ["only"]);
        assert_eq!(single.expires_at(), 0);
        assert_eq!(single.subject(), None);
    }

    #[test]
    fn scopes_from_every_vendor_shape_are_merged() {
        let merged = caller(
            json!({"scope": "a b", "scp": ["c"], "permissions": ["d", "a"]}),
            "roles",
        );
        let scopes: Vec<&str> = merged.scopes().collect();
        assert_eq!(scopes, ["a", "b", "c", "d"]);
        assert!(caller(json!({"scp": "x y"}), "roles").has_scope("y"));
    }

    #[test]
    fn roles_come_from_nested_paths_and_namespaced_claims() {
        let keycloak = caller(
            json!({"realm_access": {"roles": ["admin"]}}),
            "realm_access.roles",
        );
        assert!(keycloak.has_role("admin"));
        assert_eq!(
            keycloak.roles().collect::<Vec<_>>(),
            ["admin"],
            "every role granted, and only those"
        );
        let auth0 = caller(
            json!({"https://example.com/roles": ["ops"]}),
            "https://example.com/roles",
        );
        assert!(auth0.has_role("ops"));
        assert!(
            caller(json!({"roles": "admin"}), "missing.path")
                .roles()
                .next()
                .is_none()
        );
    }
}
