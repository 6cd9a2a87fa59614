//! What a verification rested on: the issuer, the key and the key set that served it, and when
//! the token lapses. Each caller carries its own, so that a remembered token is checked again
//! on every hit (its key still served, the token unexpired) from the one shared allocation the
//! hit hands out. A record of its own beside the caller meant a second reference count taken
//! and dropped per hit; with two threads answering the same tokens, each count's cache line
//! moves between the cores, and the two-thread throughput fell (see git history).

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::Algorithm;

use super::jwks::SetNumber;
use super::keys::{KeyName, VerificationKey};

/// The key a token was verified with, and until when that verification holds.
pub struct Provenance {
    /// Index of the issuer in the verifier.
    pub issuer: usize,
    /// That issuer as configured: its identifier, or a multi-tenant issuer's template, by
    /// which the issuer's settings (token location, DPoP) are found.
    pub trusted_issuer: Arc<str>,
    pub key_name: KeyName,
    pub alg: Algorithm,
    pub key: Arc<VerificationKey>,
    /// The key set that served `key` when the verification was remembered, if it still did.
    pub checked_in: Option<SetNumber>,
    /// Seconds since the epoch after which the token is expired, leeway included.
    pub valid_until: u64,
}

/// Names the key, never its material.
impl fmt::Debug for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provenance")
            .field("issuer", &self.issuer)
            .field("key_name", &self.key_name)
            .field("alg", &self.alg)
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

/// A provenance by a fixed Ed25519 key of issuer 0, for tests of what carries one.
#[cfg(test)]
pub(crate) fn for_test(valid_until: u64) -> Provenance {
    let jwks = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    let set = super::keys::KeySet::parse(jwks, &[Algorithm::EdDSA], 1, None).unwrap();
    let key_name = KeyName::Kid("k".to_owned());
    Provenance {
        issuer: 0,
        trusted_issuer: Arc::from("https://issuer"),
        key: Arc::clone(set.find(&key_name, Algorithm::EdDSA).unwrap()),
        key_name,
        alg: Algorithm::EdDSA,
        checked_in: None,
        valid_until,
    }
}
