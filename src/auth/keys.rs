//! Turns a JWKS document into verification keys, once per fetch, refusing every key that must
//! never verify a token: encryption keys, symmetric keys, weak RSA, unsupported curves, and
//! algorithms outside the allowlist. One bad key never spoils the rest of the set.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

/// RSA moduli below this many bits are skipped (RFC 8725 §3.5, NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;

/// A key ready to verify signatures, with the algorithms it may verify.
pub struct VerificationKey {
    pub kid: Option<String>,
    pub algorithms: Vec<Algorithm>,
    pub decoding_key: DecodingKey,
}

impl VerificationKey {
    /// Whether this key may verify a token signed with `alg`.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }
}

/// A key the set contained but that will never verify, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct SkippedKey {
    pub kid: Option<String>,
    pub reason: String,
}

/// The usable keys of one JWKS document, indexed by `kid`.
#[derive(Default)]
pub struct KeySet {
    by_kid: HashMap<String, Arc<VerificationKey>>,
    all: Vec<Arc<VerificationKey>>,
    skipped: Vec<SkippedKey>,
}

/// Why a JWKS document yielded no set at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySetError {
    NotJson,
    NoKeysMember,
    NoUsableKey,
    TooManyKeys { limit: usize },
}

impl std::fmt::Display for KeySetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotJson => "the JWKS is not a JSON object",
            Self::NoKeysMember => "the JWKS has no `keys` array",
            Self::NoUsableKey => "the JWKS has no key usable for the allowed algorithms",
            Self::TooManyKeys { limit } => return write!(f, "the JWKS has more than {limit} keys"),
        })
    }
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Option<Vec<Value>>,
}

impl KeySet {
    /// Parses a JWKS, keeping only keys that can verify one of `allowed` algorithms; a set of
    /// more than `max_keys` keys is refused whole.
    pub fn parse(body: &[u8], allowed: &[Algorithm], max_keys: usize) -> Result<Self, KeySetError> {
        let document: JwksDocument =
            serde_json::from_slice(body).map_err(|_| KeySetError::NotJson)?;
        let entries = document.keys.ok_or(KeySetError::NoKeysMember)?;
        if entries.len() > max_keys {
            return Err(KeySetError::TooManyKeys { limit: max_keys });
        }
        let mut set = KeySet::default();
        for entry in entries {
            let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
            match verification_key(entry, allowed) {
                Ok(key) => set.insert(key),
                Err(reason) => set.skipped.push(SkippedKey { kid, reason }),
            }
        }
        if set.all.is_empty() {
            return Err(KeySetError::NoUsableKey);
        }
        Ok(set)
    }

    /// Duplicate kids: the first usable key in document order wins, the rest are skipped, so the
    /// outcome does not depend on anything but the document.
    fn insert(&mut self, key: VerificationKey) {
        let key = Arc::new(key);
        if let Some(kid) = &key.kid {
            if self.by_kid.contains_key(kid) {
                self.skipped.push(SkippedKey {
                    kid: Some(kid.clone()),
                    reason: "duplicate kid; the first key with it is used".to_owned(),
                });
                return;
            }
            self.by_kid.insert(kid.clone(), Arc::clone(&key));
        }
        self.all.push(key);
    }

    /// The key with this `kid`, if the set has it.
    pub fn by_kid(&self, kid: &str) -> Option<&Arc<VerificationKey>> {
        self.by_kid.get(kid)
    }

    /// The only key usable for `alg`, if there is exactly one; serves tokens without a `kid`.
    pub fn sole_key_for(&self, alg: Algorithm) -> Option<&Arc<VerificationKey>> {
        let mut usable = self.all.iter().filter(|key| key.allows(alg));
        match (usable.next(), usable.next()) {
            (Some(key), None) => Some(key),
            _ => None,
        }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether the set has no usable key (never true for a parsed set).
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The kids of the usable keys, in document order.
    pub fn kids(&self) -> Vec<String> {
        self.all.iter().filter_map(|key| key.kid.clone()).collect()
    }

    /// Keys that were present but refused.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }
}

fn verification_key(entry: Value, allowed: &[Algorithm]) -> Result<VerificationKey, String> {
    let jwk: Jwk = serde_json::from_value(entry).map_err(|_| "malformed JWK".to_owned())?;
    if matches!(jwk.common.public_key_use, Some(ref usage) if *usage != PublicKeyUse::Signature) {
        return Err("`use` is not `sig`".to_owned());
    }
    if matches!(&jwk.common.key_operations, Some(ops) if !ops.contains(&KeyOperations::Verify)) {
        return Err("`key_ops` does not include `verify`".to_owned());
    }
    let by_type = algorithms_for_key_type(&jwk.algorithm)?;
    let algorithms: Vec<Algorithm> = match jwk.common.key_algorithm {
        None => by_type.to_vec(),
        Some(declared) => {
            let alg = key_algorithm(declared)
                .filter(|alg| by_type.contains(alg))
                .ok_or("its `alg` does not fit its key type")?;
            vec![alg]
        }
    };
    let algorithms: Vec<Algorithm> = algorithms
        .into_iter()
        .filter(|alg| allowed.contains(alg))
        .collect();
    if algorithms.is_empty() {
        return Err("no allowed algorithm fits this key".to_owned());
    }
    let decoding_key =
        DecodingKey::from_jwk(&jwk).map_err(|_| "invalid key material".to_owned())?;
    Ok(VerificationKey {
        kid: jwk.common.key_id,
        algorithms,
        decoding_key,
    })
}

const RSA_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// What `kty` and `crv` permit (RFC 7518 §3, RFC 8037 §3.1).
fn algorithms_for_key_type(params: &AlgorithmParameters) -> Result<&'static [Algorithm], String> {
    match params {
        AlgorithmParameters::RSA(rsa) => {
            let bits = modulus_bits(&rsa.n).ok_or("invalid RSA modulus")?;
            if bits < MIN_RSA_BITS {
                return Err(format!("RSA key of {bits} bits is below {MIN_RSA_BITS}"));
            }
            Ok(&RSA_ALGORITHMS)
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Ok(&[Algorithm::ES256]),
            EllipticCurve::P384 => Ok(&[Algorithm::ES384]),
            _ => Err("unsupported elliptic curve".to_owned()),
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Ok(&[Algorithm::EdDSA])
        }
        AlgorithmParameters::OctetKeyPair(_) => Err("unsupported OKP curve".to_owned()),
        AlgorithmParameters::OctetKey(_) => Err("symmetric keys are never trusted".to_owned()),
        _ => Err("unsupported key type".to_owned()),
    }
}

fn key_algorithm(declared: KeyAlgorithm) -> Option<Algorithm> {
    let alg = match declared {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    };
    Some(alg)
}

/// Bit length of a base64url big-endian modulus, ignoring leading zero bytes.
fn modulus_bits(n: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')).ok()?;
    let first = bytes.iter().position(|b| *b != 0)?;
    let significant = &bytes[first..];
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_ignores_leading_zero_bytes() {
        let mut n = vec![0u8, 0x80];
        n.extend([0u8; 255]);
        assert_eq!(modulus_bits(&URL_SAFE_NO_PAD.encode(&n)), Some(2048));
        assert_eq!(
            modulus_bits(&URL_SAFE_NO_PAD.encode([0x01, 0, 0])),
            Some(17)
        );
        assert_eq!(modulus_bits("!!"), None);
    }

    #[test]
    fn hmac_key_in_a_jwks_is_skipped_and_alone_gives_no_set() {
        let body = br#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}"#;
        assert_eq!(
            KeySet::parse(body, &[Algorithm::RS256], 10).err(),
            Some(KeySetError::NoUsableKey)
        );
    }

    #[test]
    fn documents_without_keys_are_refused() {
        assert_eq!(
            KeySet::parse(b"[]", &[], 10).err(),
            Some(KeySetError::NotJson)
        );
        assert_eq!(
            KeySet::parse(b"{}", &[], 10).err(),
            Some(KeySetError::NoKeysMember)
        );
        assert_eq!(
            KeySet::parse(b"<html>", &[], 10).err(),
            Some(KeySetError::NotJson)
        );
    }
}
