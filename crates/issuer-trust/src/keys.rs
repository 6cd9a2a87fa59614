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

use super::crypto::ParsedKey;

/// RSA moduli below this many bits are skipped (RFC 8725 §3.5, NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;

/// A key ready to verify signatures, with the algorithms it may verify.
pub struct VerificationKey {
    /// The key's `kid`, if the JWK has one.
    pub kid: Option<String>,
    /// The certificate thumbprints the JWK publishes (`x5t`, `x5t#S256`): AD FS tokens name
    /// their key by `x5t` alone.
    pub x5t: Option<String>,
    /// The SHA-256 certificate thumbprint the JWK publishes (`x5t#S256`).
    pub x5t_s256: Option<String>,
    /// The algorithms this key may verify: what its type allows, narrowed by its `alg`.
    pub algorithms: Vec<Algorithm>,
    /// The key as `jsonwebtoken` verifies with it.
    pub decoding_key: DecodingKey,
    /// The JWK as published: a refresh that finds it unchanged keeps this parsed key, and with
    /// it every token verified by it.
    pub(super) published: Value,
    /// Keeps the key, parsed once for its algorithms, registered for signature checks while
    /// this key lives (see `crypto`).
    _parsed: Option<ParsedKey>,
}

impl VerificationKey {
    /// Whether this key may verify a token signed with `alg`.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    /// Whether a token naming its key `name` may mean this key. A certificate thumbprint also
    /// matches a kid equal to it (AD FS publishes kid = x5t).
    fn answers_to(&self, name: &KeyName) -> bool {
        let kid_is = |value: &str| self.kid.as_deref() == Some(value);
        match name {
            KeyName::Kid(kid) => kid_is(kid),
            KeyName::X5t(thumbprint) => {
                self.x5t.as_deref() == Some(thumbprint.as_str()) || kid_is(thumbprint)
            }
            KeyName::X5tS256(thumbprint) => {
                self.x5t_s256.as_deref() == Some(thumbprint.as_str()) || kid_is(thumbprint)
            }
            KeyName::Unnamed => false,
        }
    }
}

/// How a token names its signing key, from its JOSE header: `kid` first (RFC 7515 §4.1.4),
/// else a certificate thumbprint (§4.1.7, §4.1.8). A selection hint only: the key itself always
/// comes from the issuer's JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyName {
    /// The header's `kid`.
    Kid(String),
    /// The header's `x5t`, the certificate's SHA-1 thumbprint (AD FS names its key so).
    X5t(String),
    /// The header's `x5t#S256`, the certificate's SHA-256 thumbprint.
    X5tS256(String),
    /// No hint: only a set with exactly one key for the token's algorithm can verify it.
    Unnamed,
}

impl KeyName {
    /// The name as a diagnostic shows it.
    pub fn describe(&self) -> String {
        match self {
            Self::Kid(kid) => format!("kid {}", kid.escape_debug()),
            Self::X5t(thumbprint) => format!("x5t {}", thumbprint.escape_debug()),
            Self::X5tS256(thumbprint) => format!("x5t#S256 {}", thumbprint.escape_debug()),
            Self::Unnamed => "no kid".to_owned(),
        }
    }
}

/// Why no key could be found for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookupError {
    /// No key set has ever been loaded: the issuer is unavailable.
    Unavailable,
    /// The set has no key by this name, even after any allowed refetch.
    UnknownKid,
    /// No name, and the set has no single key for the token's algorithm.
    AmbiguousKey,
    /// Keys by this name exist, but none verifies the token's algorithm.
    AlgorithmMismatch,
}

/// A key the set contained but that will never verify, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SkippedKey {
    /// The entry's `kid`, if it has one.
    pub kid: Option<String>,
    /// Why it cannot be used, in a fixed phrase.
    pub reason: String,
}

/// The usable keys of one JWKS document. One kid may name several entries (the same RSA key
/// once per `alg`, or keys of different types, RFC 7517 §4.5); a token's key is chosen by its
/// name and its algorithm together.
#[derive(Default)]
pub struct KeySet {
    by_kid: HashMap<String, Vec<Arc<VerificationKey>>>,
    all: Vec<Arc<VerificationKey>>,
    skipped: Vec<SkippedKey>,
}

/// Why a JWKS document yielded no set at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySetError {
    NotJson,
    NoKeysMember,
    NoUsableKey,
    TooManyKeys {
        limit: usize,
    },
    /// Keys handed over as PEM that cannot be read, and why.
    Pem(String),
}

impl std::fmt::Display for KeySetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotJson => "the JWKS is not a JSON object",
            Self::NoKeysMember => "the JWKS has no `keys` array",
            Self::NoUsableKey => "the JWKS has no key usable for the allowed algorithms",
            Self::TooManyKeys { limit } => return write!(f, "the JWKS has more than {limit} keys"),
            Self::Pem(why) => return write!(f, "the PEM keys cannot be read: {why}"),
        })
    }
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Option<Vec<Value>>,
}

/// A JWK that passed every check, before its key material is parsed.
struct Candidate {
    jwk: Jwk,
    published: Value,
    algorithms: Vec<Algorithm>,
}

impl KeySet {
    /// Parses a JWKS, keeping only keys that can verify one of `allowed` algorithms; a set of
    /// more than `max_keys` keys is refused whole. Keys published exactly as in `previous` are
    /// taken over from it unparsed, so tokens they verified stay verified.
    pub fn parse(
        body: &[u8],
        allowed: &[Algorithm],
        max_keys: usize,
        previous: Option<&KeySet>,
    ) -> Result<Self, KeySetError> {
        let document: JwksDocument =
            serde_json::from_slice(body).map_err(|_| KeySetError::NotJson)?;
        let entries = document.keys.ok_or(KeySetError::NoKeysMember)?;
        if entries.len() > max_keys {
            return Err(KeySetError::TooManyKeys { limit: max_keys });
        }
        let mut set = KeySet::default();
        for entry in entries {
            let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
            if let Err(reason) =
                candidate(entry, allowed).and_then(|found| set.insert(found, previous))
            {
                set.skipped.push(SkippedKey { kid, reason });
            }
        }
        if set.is_empty() {
            return Err(KeySetError::NoUsableKey);
        }
        Ok(set)
    }

    /// Adds a key. An entry identical to one already held is the same key; a kid seen before
    /// keeps, for each algorithm, the first entry in document order that fits it, so the
    /// outcome depends on nothing but the document.
    fn insert(&mut self, found: Candidate, previous: Option<&KeySet>) -> Result<(), String> {
        if self.all.iter().any(|key| key.published == found.published) {
            return Ok(());
        }
        let mut algorithms = found.algorithms;
        let kid = found.jwk.common.key_id.clone();
        if let Some(earlier) = kid.as_ref().and_then(|kid| self.by_kid.get(kid)) {
            algorithms.retain(|alg| !earlier.iter().any(|key| key.allows(*alg)));
            if algorithms.is_empty() {
                return Err(
                    "duplicate kid; an earlier key with it serves the same algorithms".to_owned(),
                );
            }
        }
        let key = match previous.and_then(|set| set.unchanged(&found.published, &algorithms)) {
            Some(key) => key,
            None => {
                let decoding_key = DecodingKey::from_jwk(&found.jwk)
                    .map_err(|_| "invalid key material".to_owned())?;
                Arc::new(VerificationKey {
                    _parsed: ParsedKey::register(&decoding_key, &algorithms),
                    decoding_key,
                    kid: kid.clone(),
                    x5t: found.jwk.common.x509_sha1_fingerprint,
                    x5t_s256: found.jwk.common.x509_sha256_fingerprint,
                    algorithms,
                    published: found.published,
                })
            }
        };
        if let Some(kid) = kid {
            self.by_kid.entry(kid).or_default().push(Arc::clone(&key));
        }
        self.all.push(key);
        Ok(())
    }

    /// The key held for this exact JWK and these algorithms, if any.
    fn unchanged(
        &self,
        published: &Value,
        algorithms: &[Algorithm],
    ) -> Option<Arc<VerificationKey>> {
        self.all
            .iter()
            .find(|key| key.published == *published && key.algorithms == algorithms)
            .cloned()
    }

    /// The key that must verify a token naming `name` and signed with `alg`.
    pub fn find(
        &self,
        name: &KeyName,
        alg: Algorithm,
    ) -> Result<&Arc<VerificationKey>, KeyLookupError> {
        let named: Vec<&Arc<VerificationKey>> = match name {
            KeyName::Unnamed => return self.sole_key_for(alg).ok_or(KeyLookupError::AmbiguousKey),
            KeyName::Kid(kid) => self
                .by_kid
                .get(kid)
                .map(|keys| keys.iter().collect())
                .unwrap_or_default(),
            _ => self.all.iter().filter(|key| key.answers_to(name)).collect(),
        };
        if named.is_empty() {
            return Err(KeyLookupError::UnknownKid);
        }
        named
            .into_iter()
            .find(|key| key.allows(alg))
            .ok_or(KeyLookupError::AlgorithmMismatch)
    }

    /// The only key usable for `alg`, if there is exactly one; serves tokens that name no key.
    fn sole_key_for(&self, alg: Algorithm) -> Option<&Arc<VerificationKey>> {
        let mut usable = self.all.iter().filter(|key| key.allows(alg));
        match (usable.next(), usable.next()) {
            (Some(key), None) => Some(key),
            _ => None,
        }
    }

    /// Whether both sets hold the very same keys in the same order, so that every lookup in
    /// one finds what it finds in the other.
    pub fn same_keys(&self, other: &KeySet) -> bool {
        self.all.len() == other.all.len()
            && self
                .all
                .iter()
                .zip(&other.all)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether the set has no usable key (never true for a parsed set).
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The kids of the usable keys, each once, in document order.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = Vec::with_capacity(self.all.len());
        for kid in self.all.iter().filter_map(|key| key.kid.as_ref()) {
            if !kids.contains(kid) {
                kids.push(kid.clone());
            }
        }
        kids
    }

    /// Keys that were present but refused.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }
}

/// Checks one JWK: a signing key of a supported type, fitting at least one allowed algorithm.
fn candidate(entry: Value, allowed: &[Algorithm]) -> Result<Candidate, String> {
    let jwk: Jwk = serde_json::from_value(entry.clone()).map_err(|_| "malformed JWK".to_owned())?;
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
    Ok(Candidate {
        jwk,
        published: entry,
        algorithms,
    })
}

/// Every asymmetric JWS algorithm a key here can verify, the RSA family first: the default
/// allowlist of issuers and DPoP proofs.
pub const ASYMMETRIC_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// What an RSA key may verify: the RS and PS families, the first six of the list above.
const RSA_ALGORITHMS: &[Algorithm] = ASYMMETRIC_ALGORITHMS.split_at(6).0;

/// What `kty` and `crv` permit (RFC 7518 §3, RFC 8037 §3.1).
fn algorithms_for_key_type(params: &AlgorithmParameters) -> Result<&'static [Algorithm], String> {
    match params {
        AlgorithmParameters::RSA(rsa) => {
            let bits = modulus_bits(&rsa.n).ok_or("invalid RSA modulus")?;
            if bits < MIN_RSA_BITS {
                return Err(format!("RSA key of {bits} bits is below {MIN_RSA_BITS}"));
            }
            if !exponent_is_sound(&rsa.e) {
                return Err("RSA exponent is not an odd number from 3 to 2^32".to_owned());
            }
            Ok(RSA_ALGORITHMS)
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

/// Whether a base64url RSA public exponent is odd and within `3..=2^32` (NIST SP 800-56B
/// bounds it by 2^256 and every issuer uses 65537; 1 and even exponents are no RSA keys).
fn exponent_is_sound(e: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(e.trim_end_matches('=')) else {
        return false;
    };
    let significant = match bytes.iter().position(|b| *b != 0) {
        Some(first) => &bytes[first..],
        None => return false,
    };
    if significant.len() > 4 {
        return false;
    }
    let value = significant
        .iter()
        .fold(0u64, |value, byte| value << 8 | u64::from(*byte));
    value >= 3 && value % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rsa_exponent_must_be_odd_and_from_3_to_2_pow_32() {
        let e = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        for sound in [
            &[1u8, 0, 1][..],
            &[3],
            &[0, 0, 1, 0, 1],
            &[0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(exponent_is_sound(&e(sound)), "{sound:?}");
        }
        for unsound in [
            &[1u8][..],
            &[2],
            &[1, 0, 0],
            &[0],
            &[],
            &[1, 0, 0, 0, 1],
            &[0x80, 0, 0, 0, 1],
        ] {
            assert!(!exponent_is_sound(&e(unsound)), "{unsound:?}");
        }
        assert!(!exponent_is_sound("!!"));
    }

    #[test]
    fn only_a_set_that_took_over_every_key_and_added_none_has_the_same_keys() {
        let one = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let two = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty":"OKP","crv":"Ed25519","kid":"b","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let parse = |body: &[u8], previous| KeySet::parse(body, &[Algorithm::EdDSA], 10, previous);
        let first = parse(one, None).unwrap();
        assert!(first.same_keys(&parse(one, Some(&first)).unwrap()));
        assert!(
            !first.same_keys(&parse(one, None).unwrap()),
            "keys parsed anew are other keys"
        );
        assert!(!first.same_keys(&parse(two, Some(&first)).unwrap()));
        assert!(!parse(two, None).unwrap().same_keys(&first));
    }

    #[test]
    fn each_unusable_key_type_is_skipped_with_its_own_reason() {
        let body = br#"{"keys":[
            {"kty":"OKP","crv":"Ed25519","kid":"good","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty":"OKP","crv":"Ed448","kid":"ed448","x":"X9dEm1m0Yf0s54fsYWrUah2hNCSFpw4fig6nXYDpZ3jt8SR2m0bHBhvWeD3x5Q9s0foavq_oJWGA"},
            {"kty":"OKP","crv":"P-256","kid":"okp-p256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty":"oct","kid":"hmac","k":"c2VjcmV0"}
        ]}"#;
        let set = KeySet::parse(body, &[Algorithm::EdDSA], 10, None).unwrap();
        let reasons: Vec<(&str, &str)> = set
            .skipped()
            .iter()
            .map(|s| (s.kid.as_deref().unwrap(), s.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("ed448", "unsupported key type"),
                ("okp-p256", "unsupported OKP curve"),
                ("hmac", "symmetric keys are never trusted")
            ]
        );
        assert_eq!(set.kids(), ["good"]);
    }

    #[test]
    fn key_names_describe_themselves_for_diagnostics() {
        let names = [
            KeyName::Kid("k1".to_owned()),
            KeyName::X5t("t1".to_owned()),
            KeyName::X5tS256("s1".to_owned()),
            KeyName::Unnamed,
        ];
        let described: Vec<String> = names.iter().map(KeyName::describe).collect();
        assert_eq!(described, ["kid k1", "x5t t1", "x5t#S256 s1", "no kid"]);
    }

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
            KeySet::parse(body, &[Algorithm::RS256], 10, None).err(),
            Some(KeySetError::NoUsableKey)
        );
    }

    #[test]
    fn documents_without_keys_are_refused() {
        assert_eq!(
            KeySet::parse(b"[]", &[], 10, None).err(),
            Some(KeySetError::NotJson)
        );
        assert_eq!(
            KeySet::parse(b"{}", &[], 10, None).err(),
            Some(KeySetError::NoKeysMember)
        );
        assert_eq!(
            KeySet::parse(b"<html>", &[], 10, None).err(),
            Some(KeySetError::NotJson)
        );
    }
}
