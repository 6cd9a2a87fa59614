//! The verified claims of the current request, handed to handlers through an extractor (see
//! [`Caller`](super::Caller)) so that no handler ever parses a token again.
//!
//! The claims are held as their JSON text, not as a parsed map: every cached token keeps one,
//! and the map of a development token's ten claims took over three times the bytes of its text
//! (BENCHMARKS.md). A response that includes them copies the text. The map is built the first
//! time a handler reads a claim by name, and kept from then on; issuer and subject are read on
//! every request, so they are held apart.

use std::sync::{Arc, OnceLock};

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::claim_set::ClaimSet;
use super::error::TokenError;
use super::issuer_alias;

/// Claims of a token whose signature, issuer, audience and lifetime have been verified.
/// Cloning is cheap: the claims are shared.
#[derive(Debug, Clone)]
pub struct VerifiedClaims(Arc<Claims>);

#[derive(Debug)]
struct Claims {
    /// The claims object as the token's payload wrote it, each name once (a [`ClaimSet`]
    /// refuses duplicates), so a response shows exactly what the verifier checked.
    json: Box<RawValue>,
    issuer: Box<str>,
    subject: Option<Box<str>>,
    /// `exp`, whole seconds (a fractional NumericDate rounded down); 0 for a token without one.
    expires_at: u64,
    /// `None` only if the text failed to parse, which [`ClaimSet::parse`] already ruled out with
    /// the same parser.
    parsed: OnceLock<Option<Map<String, Value>>>,
}

impl VerifiedClaims {
    /// Holds verified `claims` as their JSON text; `iss` must be a string, `sub` and `exp` of
    /// their types when present.
    pub(crate) fn new(claims: &ClaimSet<'_>) -> Result<Self, TokenError> {
        let malformed = |_| TokenError::MalformedClaims;
        let issuer = claims
            .text("iss")
            .map_err(malformed)?
            .ok_or(TokenError::MissingClaim)?;
        let expires_at = claims.number("exp").map_err(malformed)?.unwrap_or(0.0);
        Ok(Self(Arc::new(Claims {
            json: claims.json().to_owned(),
            // Google's schemeless `iss` is named by its identifier (see `issuer_alias`).
            issuer: Box::from(issuer_alias::identifier(&issuer)),
            subject: claims.text("sub").map_err(malformed)?.map(Box::from),
            expires_at: expires_at.max(0.0) as u64,
            parsed: OnceLock::new(),
        })))
    }

    /// The `sub` claim, when the issuer sets one.
    pub fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// The verified issuer: the `iss` claim, or for Google's schemeless `iss` the identifier it
    /// stands for (`https://accounts.google.com`).
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// When the token expires, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.0.expires_at
    }

    /// The length of the claims' JSON text, to size a response that includes it.
    pub fn json_len(&self) -> usize {
        self.0.json.get().len()
    }

    /// The claims read into `T`, a type of the caller's own; an error when they do not fit it.
    pub fn read_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.json.get())
    }

    /// Any claim by name, for custom fields. The first call for a token parses its claims.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .parsed
            .get_or_init(|| serde_json::from_str(self.0.json.get()).ok())
            .as_ref()?
            .get(name)
    }
}

/// Written as the claims object, copied from the held text.
impl Serialize for VerifiedClaims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.json.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::claim_set;

    fn claims(value: Value) -> VerifiedClaims {
        VerifiedClaims::new(&claim_set::for_test(&value)).unwrap()
    }

    #[test]
    fn claims_read_by_name_are_those_verified() {
        let claims =
            claims(json!({"iss": "https://issuer", "sub": "alice", "n": 7, "o": {"p": [1]}}));
        assert_eq!(claims.issuer(), "https://issuer");
        assert_eq!(claims.subject(), Some("alice"));
        assert_eq!(claims.get("n"), Some(&json!(7)));
        assert_eq!(claims.get("o"), Some(&json!({"p": [1]})));
        assert_eq!(claims.get("missing"), None);
    }

    #[test]
    fn claims_are_written_as_the_object_they_were_verified_as() {
        let verified = json!({"iss": "i", "sub": "alice", "aud": ["a", "b"], "exp": 1_800_000_000, "x": {"y": null}});
        let claims = claims(verified.clone());
        assert_eq!(serde_json::to_value(&claims).unwrap(), verified);
        assert_eq!(
            serde_json::to_string(&claims).unwrap(),
            r#"{"aud":["a","b"],"exp":1800000000,"iss":"i","sub":"alice","x":{"y":null}}"#
        );
    }

    #[test]
    fn a_token_without_subject_has_none_and_mistyped_claims_refuse_it() {
        let claims = claims(json!({"iss": "https://issuer", "exp": 1.8e9}));
        assert_eq!(claims.subject(), None);
        assert_eq!(claims.expires_at(), 1_800_000_000);
        let refused = |value: Value| VerifiedClaims::new(&claim_set::for_test(&value)).err();
        assert_eq!(refused(json!({"sub": "a"})), Some(TokenError::MissingClaim));
        for mistyped in [
            json!({"iss": 7}),
            json!({"iss": "i", "sub": 7}),
            json!({"iss": "i", "exp": "soon"}),
        ] {
            assert_eq!(
                refused(mistyped.clone()),
                Some(TokenError::MalformedClaims),
                "{mistyped}"
            );
        }
    }
}
