//! Signatures checked with public keys parsed once, when their key set is loaded.
//!
//! jsonwebtoken's aws-lc-rs backend builds the public key from its JWK material on every
//! verification (an RSA modulus and its Montgomery setup, an EC or Ed25519 point's decoding).
//! This [`CryptoProvider`] replaces only that step: every other check (header, algorithm,
//! times, issuer, audience) stays in jsonwebtoken. Each verification key of a loaded set
//! registers the key it parsed, under its material, for as long as it lives; a signature is
//! then checked with the registered key. A key no one registered (the doctor's, a test's) goes
//! to jsonwebtoken's own backend, exactly as before, and so does signing.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Once, PoisonError, RwLock};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, aws_lc};
use jsonwebtoken::errors::Result;
use jsonwebtoken::signature::{Error as SignatureError, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

/// jsonwebtoken's own aws-lc-rs provider with the verifier factory replaced.
static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    verifier_factory: parsed_or_default_verifier,
    ..aws_lc::DEFAULT_PROVIDER.clone()
});

/// Parsed keys by their material: an RSA modulus, an EC point or an Ed25519 key.
static REGISTRY: LazyLock<RwLock<HashMap<Vec<u8>, Registered>>> = LazyLock::new(Default::default);

struct Registered {
    /// The RSA exponent; empty for other keys.
    exponent: Vec<u8>,
    keys: Arc<[(Algorithm, ParsedPublicKey)]>,
    /// How many live registrations share this material (two issuers may publish one key).
    holders: usize,
}

/// Makes this module's provider jsonwebtoken's for the process. Idempotent; must run before
/// jsonwebtoken's first use, which would otherwise pick its default for good (and then keys
/// are verified as before, only slower).
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        if LazyLock::force(&PROVIDER).install_default().is_err() {
            log::debug!("another jsonwebtoken crypto provider was installed first");
        }
    });
}

/// A key's registration: while it lives, signatures by its material for `algorithms` are
/// checked with the key parsed here.
pub struct ParsedKey {
    material: Vec<u8>,
}

impl ParsedKey {
    /// Parses `key` for each algorithm in `algorithms` it can serve, and registers it. `None`
    /// when it serves none of them (the key then verifies through jsonwebtoken's backend).
    pub fn register(key: &DecodingKey, algorithms: &[Algorithm]) -> Option<Self> {
        install();
        let (material, exponent) = material(key);
        let keys: Vec<(Algorithm, ParsedPublicKey)> = algorithms
            .iter()
            .filter_map(|alg| parse(key, *alg).map(|parsed| (*alg, parsed)))
            .collect();
        if keys.is_empty() {
            return None;
        }
        let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
        let entry = registry
            .entry(material.to_vec())
            .or_insert_with(|| Registered {
                exponent: exponent.to_vec(),
                keys: Arc::from(keys.as_slice()),
                holders: 0,
            });
        if entry.exponent != exponent || entry.keys.len() < keys.len() {
            // The same modulus under another exponent, or more algorithms than registered
            // before: the newest registration's keys serve, for everyone sharing the material.
            entry.exponent = exponent.to_vec();
            entry.keys = Arc::from(keys);
        }
        entry.holders += 1;
        Some(Self {
            material: material.to_vec(),
        })
    }
}

impl Drop for ParsedKey {
    fn drop(&mut self) {
        let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = registry.get_mut(&self.material) {
            entry.holders -= 1;
            if entry.holders == 0 {
                registry.remove(&self.material);
            }
        }
    }
}

/// The bytes a key is known by, and (for RSA) its exponent.
fn material(key: &DecodingKey) -> (&[u8], &[u8]) {
    match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => (n, e),
        DecodingKeyKind::SecretOrDer(bytes) => (bytes, &[]),
    }
}

/// `key` parsed for `alg`, with the parameters jsonwebtoken's backend uses for it; `None` for
/// an algorithm of another family, or a key aws-lc-rs refuses (jsonwebtoken then refuses it at
/// verification, as it always did).
fn parse(key: &DecodingKey, alg: Algorithm) -> Option<ParsedPublicKey> {
    let rsa = |params: &'static RsaParameters| match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(params)
            .ok(),
        DecodingKeyKind::SecretOrDer(_) => None,
    };
    let point = |algorithm: &'static dyn signature::VerificationAlgorithm| match key.kind() {
        DecodingKeyKind::SecretOrDer(bytes) => ParsedPublicKey::new(algorithm, bytes).ok(),
        DecodingKeyKind::RsaModulusExponent { .. } => None,
    };
    if key.family() != alg.family() {
        return None;
    }
    match alg {
        Algorithm::RS256 => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => rsa(&signature::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => rsa(&signature::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => rsa(&signature::RSA_PSS_2048_8192_SHA512),
        Algorithm::ES256 => point(&signature::ECDSA_P256_SHA256_FIXED),
        Algorithm::ES384 => point(&signature::ECDSA_P384_SHA384_FIXED),
        Algorithm::EdDSA => point(&signature::ED25519),
        // HMAC, and any algorithm a later jsonwebtoken adds: its own backend's business.
        _ => None,
    }
}

/// The registered key for `key`'s material and `alg`, else jsonwebtoken's own verifier.
fn parsed_or_default_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if key.family() == alg.family() {
        let (material, exponent) = material(key);
        let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
        let found = registry
            .get(material)
            .filter(|entry| entry.exponent == exponent)
            .and_then(|entry| {
                let index = entry
                    .keys
                    .iter()
                    .position(|(parsed_for, _)| parsed_for == alg)?;
                Some(Box::new(Parsed {
                    alg: *alg,
                    keys: Arc::clone(&entry.keys),
                    index,
                }) as Box<dyn JwtVerifier>)
            });
        if let Some(verifier) = found {
            return Ok(verifier);
        }
    }
    (aws_lc::DEFAULT_PROVIDER.verifier_factory)(alg, key)
}

/// One registered key, held for one verification.
struct Parsed {
    alg: Algorithm,
    keys: Arc<[(Algorithm, ParsedPublicKey)]>,
    index: usize,
}

impl Verifier<Vec<u8>> for Parsed {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), SignatureError> {
        self.keys[self.index]
            .1
            .verify_sig(message, signature)
            .map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for Parsed {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use jsonwebtoken::{EncodingKey, Header, Validation};
    use serde_json::{Map, Value, json};

    /// A fresh Ed25519 key: its signing key, and its public key as a JWK's `x` decodes it.
    fn ed25519() -> (EncodingKey, DecodingKey) {
        let pair = Ed25519KeyPair::generate().unwrap();
        let encoding = EncodingKey::from_ed_der(pair.to_pkcs8v1().unwrap().as_ref());
        let decoding = DecodingKey::from_ed_der(pair.public_key().as_ref());
        (encoding, decoding)
    }

    fn token(key: &EncodingKey) -> String {
        let claims = json!({"sub": "alice", "exp": jsonwebtoken::get_current_timestamp() + 60});
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, key).unwrap()
    }

    fn verifies(token: &str, key: &DecodingKey) -> bool {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).is_ok()
    }

    #[test]
    fn a_registered_key_is_the_one_signatures_are_checked_with() {
        install();
        let (signing, public) = ed25519();
        let (_, other_public) = ed25519();
        let token = token(&signing);
        assert!(
            verifies(&token, &public),
            "unregistered: jsonwebtoken's own backend"
        );

        // Register the other key's parsed form under this key's material: verification must
        // now use it, and fail.
        let (material, _) = material(&public);
        let substitute = parse(&other_public, Algorithm::EdDSA).unwrap();
        REGISTRY.write().unwrap().insert(
            material.to_vec(),
            Registered {
                exponent: Vec::new(),
                keys: Arc::from([(Algorithm::EdDSA, substitute)].as_slice()),
                holders: 1,
            },
        );
        let _registration = ParsedKey {
            material: material.to_vec(),
        };
        assert!(!verifies(&token, &public), "the registered key was used");
    }

    #[test]
    fn registered_keys_verify_their_own_signatures_and_refuse_others() {
        install();
        let (signing, public) = ed25519();
        let (other_signing, _) = ed25519();
        let _registration = ParsedKey::register(&public, &[Algorithm::EdDSA]).unwrap();
        assert!(verifies(&token(&signing), &public));
        assert!(!verifies(&token(&other_signing), &public));
    }

    #[test]
    fn a_key_stays_registered_until_its_last_holder_drops() {
        install();
        let (_, public) = ed25519();
        let (material, _) = material(&public);
        let registered = || REGISTRY.read().unwrap().contains_key(material);
        let first = ParsedKey::register(&public, &[Algorithm::EdDSA]).unwrap();
        let second = ParsedKey::register(&public, &[Algorithm::EdDSA]).unwrap();
        drop(first);
        assert!(registered());
        drop(second);
        assert!(!registered());
    }

    #[test]
    fn every_asymmetric_algorithm_gets_a_key_parsed_for_it() {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        };
        use jsonwebtoken::jwk::Jwk;

        install();
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let rsa = pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            rsa.as_der().unwrap().as_ref(),
        ));
        let rsa = EncodingKey::from_rsa_pem(rsa.as_bytes()).unwrap();
        let ec = |signing| {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &SystemRandom::new()).unwrap();
            EncodingKey::from_ec_der(pkcs8.as_ref())
        };
        let (p256, p384) = (
            ec(&ECDSA_P256_SHA256_FIXED_SIGNING),
            ec(&ECDSA_P384_SHA384_FIXED_SIGNING),
        );
        let ed = EncodingKey::from_ed_der(
            Ed25519KeyPair::generate()
                .unwrap()
                .to_pkcs8v1()
                .unwrap()
                .as_ref(),
        );
        let cases = [
            (&rsa, Algorithm::RS256),
            (&rsa, Algorithm::RS384),
            (&rsa, Algorithm::RS512),
            (&rsa, Algorithm::PS256),
            (&rsa, Algorithm::PS384),
            (&rsa, Algorithm::PS512),
            (&p256, Algorithm::ES256),
            (&p384, Algorithm::ES384),
            (&ed, Algorithm::EdDSA),
        ];
        for (signing, alg) in cases {
            let jwk = Jwk::from_encoding_key(signing, alg).unwrap();
            let public = DecodingKey::from_jwk(&jwk).unwrap();
            assert!(parse(&public, alg).is_some(), "{alg:?}");
        }
    }

    #[test]
    fn a_key_of_another_family_than_its_algorithms_registers_nothing() {
        let (_, public) = ed25519();
        assert!(ParsedKey::register(&public, &[Algorithm::RS256, Algorithm::ES256]).is_none());
    }
}
