//! DPoP proofs (RFC 9449 §4.3): a client that holds a key signs, for each request, a short JWT
//! naming the method, the URI and a hash of the access token, with the public key in its
//! header. A token bound to that key (`cnf.jkt`, its RFC 7638 thumbprint) is then useless to
//! anyone who copies it without the key. The proof's signature is checked by jsonwebtoken with
//! the key the proof carries; everything else a proof must say is checked here.

use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value};

#[cfg(feature = "redis")]
pub use super::shared_proofs::{SharedProofs, SharedStatus, StoreState};
pub use super::used_proofs::Use;
use super::used_proofs::UsedProofs;

/// The largest proof read: a proof carries one public key, well under this.
const MAX_PROOF_BYTES: usize = 8 * 1024;

/// JWK members that only a private (or symmetric) key has: a proof carrying one is refused.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What is wrong with a DPoP proof: always 401 `invalid_dpop_proof`, with this fixed reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    /// The `DPoP` scheme without a `DPoP` header.
    Missing,
    /// Not a compact JWS with the claims a proof must carry, or too large.
    Malformed,
    /// A `typ` other than `dpop+jwt`.
    WrongType,
    /// An `alg` outside the proof algorithms.
    AlgorithmNotAllowed,
    /// No public JWK in the header, a private one, or one that cannot verify.
    BadKey,
    /// The signature does not verify with the header's key.
    InvalidSignature,
    /// `htm` is not the request's method.
    MethodMismatch,
    /// `htu` is not the request's URI.
    UriMismatch,
    /// `iat` outside the accepted window.
    Stale,
    /// `ath` is not the hash of the access token sent.
    TokenHashMismatch,
    /// A proof used before, within its window.
    Replayed,
    /// No nonce, or not one this replica issued and still accepts: answered with
    /// `use_dpop_nonce` and a fresh `DPoP-Nonce` (§8).
    NonceRequired,
}

impl ProofError {
    /// The `error_description` sent to the client.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "missing DPoP proof",
            Self::Malformed => "malformed DPoP proof",
            Self::WrongType => "DPoP proof typ is not dpop+jwt",
            Self::AlgorithmNotAllowed => "DPoP proof algorithm not allowed",
            Self::BadKey => "DPoP proof key is missing, private or unusable",
            Self::InvalidSignature => "invalid DPoP proof signature",
            Self::MethodMismatch => "DPoP proof htm does not match the request method",
            Self::UriMismatch => "DPoP proof htu does not match the request URI",
            Self::Stale => "DPoP proof iat is outside the accepted window",
            Self::TokenHashMismatch => "DPoP proof ath does not match the access token",
            Self::Replayed => "DPoP proof already used",
            Self::NonceRequired => "a DPoP proof with a fresh server nonce is required",
        }
    }
}

/// Whether an issuer's tokens may, or must, be bound to the client's key with DPoP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpopMode {
    /// The default: a token presented with the `DPoP` scheme is checked with its proof, and a
    /// bound one must be; bearer tokens without `cnf.jkt` are accepted too.
    Allowed,
    /// Only bound tokens, each with its proof: a token without `cnf.jkt` is refused.
    Required,
    /// The `DPoP` scheme is not accepted. A bound token is still refused as a bearer token.
    Off,
}

/// How proofs are judged: the algorithms allowed, how old (and how far ahead) their `iat` may
/// be, and how many used proofs may be remembered at once.
#[derive(Debug, Clone)]
pub struct ProofRules {
    /// The algorithms a proof may be signed with.
    pub algorithms: Vec<Algorithm>,
    /// How old a proof's `iat` may be.
    pub max_age: Duration,
    /// How far ahead of this clock a proof's `iat` may be.
    pub max_skew: Duration,
    /// Proofs whose windows are open at once; beyond it, new proofs are refused.
    pub replay_cache_size: usize,
    /// How long a server nonce stays valid; `None`: proofs need no nonce.
    pub nonce_lifetime: Option<Duration>,
    /// The keys nonces are signed with, shared by every replica; empty: a key this replica
    /// makes at startup, so each accepts only its own nonces.
    pub nonce_keys: NonceKeys,
}

/// Keys for server nonces shared by the replicas (read from a mounted Secret): the first signs,
/// every one verifies, so a key can be rotated in while nonces signed with the previous one are
/// still accepted. Its debug output never shows the keys.
#[derive(Clone, Default)]
pub struct NonceKeys(Vec<Vec<u8>>);

impl NonceKeys {
    /// The shortest key accepted, as NIST SP 800-107 asks of an HMAC-SHA-256 key.
    pub const MIN_BYTES: usize = 32;

    /// `current` signs and verifies, each of `previous` verifies; `None` when a key is shorter
    /// than [`MIN_BYTES`](Self::MIN_BYTES).
    pub fn new(current: Vec<u8>, previous: impl IntoIterator<Item = Vec<u8>>) -> Option<Self> {
        let keys: Vec<Vec<u8>> = std::iter::once(current).chain(previous).collect();
        keys.iter()
            .all(|key| key.len() >= Self::MIN_BYTES)
            .then_some(Self(keys))
    }
}

impl std::fmt::Debug for NonceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NonceKeys({} keys, hidden)", self.0.len())
    }
}

/// A proof that passed every check of its own, not yet recorded as used.
#[derive(Debug)]
pub struct CheckedProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key.
    pub thumbprint: String,
    /// A digest of the thumbprint and the `jti`: the proof's entry in the used proofs.
    used: [u8; 32],
    /// The last second the proof could be accepted in.
    valid_until: u64,
}

/// The request a proof must match.
pub struct ProofRequest<'a> {
    /// The request method, as sent.
    pub method: &'a str,
    /// The URI the request was sent to, built from the configured public URL and the path
    /// (never from `Host`); its query, if any, is ignored.
    pub uri: &'a str,
    /// The access token the request presents.
    pub access_token: &'a str,
}

/// Checks proofs, each `jti` accepted once while its proof could still be fresh. The memory is
/// bounded and per replica: across replicas, the short window bounds a replay.
///
/// [`check`](Self::check) judges a proof without using it up; [`record`](Self::record) then
/// uses it, once every other check of the request (the token's binding included) has passed,
/// so that a proof refused for any reason can never fill the store.
pub struct ProofChecker {
    rules: ProofRules,
    /// Proofs already used, by a digest of their key's thumbprint and `jti`.
    used: UsedProofs,
    /// The store shared by every replica, where one is configured: then it alone is asked.
    #[cfg(feature = "redis")]
    shared: Option<std::sync::Arc<crate::shared_proofs::SharedProofs>>,
    nonces: Option<Nonces>,
}

/// Server nonces (RFC 9449 §8), stateless: when a nonce was issued, and an HMAC of that. With
/// shared keys every replica accepts every replica's nonces; with a key made at startup each
/// accepts only its own, and a client sent to another is answered with that one's and retries.
struct Nonces {
    /// The first signs, each verifies; empty if no key could be made: then no nonce is ever
    /// accepted (fails closed).
    keys: Vec<hmac::Key>,
    lifetime: u64,
}

impl Nonces {
    fn new(lifetime: Duration, shared: &NonceKeys) -> Self {
        let keys = if shared.0.is_empty() {
            let made = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new());
            if made.is_err() {
                log::error!("no key for DPoP nonces: every DPoP proof will be refused");
            }
            made.into_iter().collect()
        } else {
            shared
                .0
                .iter()
                .map(|key| hmac::Key::new(hmac::HMAC_SHA256, key))
                .collect()
        };
        Self {
            keys,
            lifetime: lifetime.as_secs(),
        }
    }

    fn issue(&self, now: u64) -> Option<String> {
        let issued = now.to_be_bytes();
        let tag = hmac::sign(self.keys.first()?, &issued);
        Some(URL_SAFE_NO_PAD.encode([&issued[..], tag.as_ref()].concat()))
    }

    fn accepts(&self, nonce: &str, now: u64) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Some((issued, tag)) = bytes.split_first_chunk::<8>() else {
            return false;
        };
        let issued_at = u64::from_be_bytes(*issued);
        issued_at <= now
            && now - issued_at <= self.lifetime
            && self
                .keys
                .iter()
                .any(|key| hmac::verify(key, issued, tag).is_ok())
    }
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    ath: Option<String>,
    nonce: Option<String>,
}

impl ProofChecker {
    /// A checker judging proofs by `rules`, remembering used ones in memory.
    pub fn new(rules: ProofRules) -> Self {
        let used = UsedProofs::new(rules.replay_cache_size);
        let nonces = rules
            .nonce_lifetime
            .map(|lifetime| Nonces::new(lifetime, &rules.nonce_keys));
        Self {
            rules,
            used,
            #[cfg(feature = "redis")]
            shared: None,
            nonces,
        }
    }

    /// This checker, remembering used proofs in `store`, shared by every replica, rather
    /// than in this replica's memory.
    #[cfg(feature = "redis")]
    pub fn sharing(self, store: std::sync::Arc<crate::shared_proofs::SharedProofs>) -> Self {
        Self {
            shared: Some(store),
            ..self
        }
    }

    /// The shared store, where used proofs are remembered there.
    #[cfg(feature = "redis")]
    pub fn shared_store(&self) -> Option<&std::sync::Arc<crate::shared_proofs::SharedProofs>> {
        self.shared.as_ref()
    }

    /// A fresh server nonce, where nonces are required.
    pub fn nonce(&self, now: u64) -> Option<String> {
        self.nonces.as_ref()?.issue(now)
    }

    /// The algorithms a proof may be signed with, for the challenge and the metadata.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.rules.algorithms
    }

    /// The proof with its key's thumbprint, when `proof` is a valid proof for `request` at
    /// `now` (seconds since the Unix epoch); whether it was used before is left to
    /// [`record`](Self::record).
    pub fn check(
        &self,
        proof: &str,
        request: &ProofRequest,
        now: u64,
    ) -> Result<CheckedProof, ProofError> {
        if proof.len() > MAX_PROOF_BYTES {
            return Err(ProofError::Malformed);
        }
        let (algorithm, jwk) = self.header(proof)?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| ProofError::BadKey)?;
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims::<&str>(&[]);
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation)
            .map_err(|error| match error.kind() {
                ErrorKind::InvalidSignature => ProofError::InvalidSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat => ProofError::BadKey,
                _ => ProofError::Malformed,
            })?
            .claims;
        if claims.jti.is_empty() || claims.jti.len() > 256 {
            return Err(ProofError::Malformed);
        }
        if claims.htm != request.method {
            return Err(ProofError::MethodMismatch);
        }
        if !same_uri(&claims.htu, request.uri) {
            return Err(ProofError::UriMismatch);
        }
        let oldest = now.saturating_sub(self.rules.max_age.as_secs());
        let newest = now.saturating_add(self.rules.max_skew.as_secs());
        if !(oldest..=newest).contains(&claims.iat) {
            return Err(ProofError::Stale);
        }
        if claims.ath.as_deref() != Some(token_hash(request.access_token).as_str()) {
            return Err(ProofError::TokenHashMismatch);
        }
        if let Some(nonces) = &self.nonces
            && !claims
                .nonce
                .as_deref()
                .is_some_and(|nonce| nonces.accepts(nonce, now))
        {
            return Err(ProofError::NonceRequired);
        }
        let thumbprint = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| ProofError::BadKey)?;
        let used = digest(
            &SHA256,
            [thumbprint.as_bytes(), b"\0", claims.jti.as_bytes()]
                .concat()
                .as_slice(),
        );
        let used: [u8; 32] = used
            .as_ref()
            .try_into()
            .map_err(|_| ProofError::Malformed)?;
        Ok(CheckedProof {
            thumbprint,
            used,
            // Acceptable until `max_age` past its `iat`; after that it is stale anyway.
            valid_until: claims.iat.saturating_add(self.rules.max_age.as_secs()),
        })
    }

    /// Uses up a checked proof of a token of `issuer` at `now`: [`Use::First`] only the first
    /// time, at this replica or, with a shared store, at any.
    pub async fn record(&self, proof: &CheckedProof, issuer: &str, now: u64) -> Use {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            use crate::shared_proofs::SharedUse;
            let key = digest(&SHA256, &[issuer.as_bytes(), b"\0", &proof.used].concat());
            let window =
                Duration::from_secs(proof.valid_until.saturating_sub(now).saturating_add(1));
            return match shared.record(key.as_ref(), window).await {
                SharedUse::First => Use::First,
                SharedUse::Again => Use::Again,
                SharedUse::Unavailable => Use::Unavailable,
            };
        }
        let _ = issuer;
        self.used.record(proof.used, proof.valid_until, now)
    }

    /// Checks and at once records a proof, for a request that needs nothing else of it.
    #[cfg(test)]
    fn check_once(
        &self,
        proof: &str,
        request: &ProofRequest,
        now: u64,
    ) -> Result<String, ProofError> {
        let checked = self.check(proof, request, now)?;
        match self.used.record(checked.used, checked.valid_until, now) {
            Use::First => Ok(checked.thumbprint),
            Use::Again | Use::Full { .. } | Use::Unavailable => Err(ProofError::Replayed),
        }
    }

    /// The proof's algorithm and public key, from a header that must say `typ` `dpop+jwt`,
    /// name an allowed asymmetric algorithm, and carry a public JWK and no `crit`.
    fn header(&self, proof: &str) -> Result<(Algorithm, Jwk), ProofError> {
        let encoded = proof.split('.').next().ok_or(ProofError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| ProofError::Malformed)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| ProofError::Malformed)?;
        let typ = header.get("typ").and_then(Value::as_str);
        if !typ.is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt")) {
            return Err(ProofError::WrongType);
        }
        if header.contains_key("crit") {
            return Err(ProofError::Malformed);
        }
        let algorithm = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(|alg| alg.parse::<Algorithm>().ok())
            .filter(|alg| self.rules.algorithms.contains(alg))
            .ok_or(ProofError::AlgorithmNotAllowed)?;
        let jwk = header
            .get("jwk")
            .and_then(Value::as_object)
            .ok_or(ProofError::BadKey)?;
        if PRIVATE_MEMBERS
            .iter()
            .any(|member| jwk.contains_key(*member))
        {
            return Err(ProofError::BadKey);
        }
        let jwk: Jwk =
            serde_json::from_value(Value::Object(jwk.clone())).map_err(|_| ProofError::BadKey)?;
        Ok((algorithm, jwk))
    }
}

/// `ath`: the base64url SHA-256 of the access token (RFC 9449 §4.2).
pub fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, access_token.as_bytes()))
}

/// Whether `htu` names `expected`, both parsed and normalised (RFC 3986 §6: scheme and host
/// case, default port, dot segments), query and fragment ignored (RFC 9449 §4.3).
fn same_uri(htu: &str, expected: &str) -> bool {
    let without_query = |uri: &str| {
        Url::parse(uri).ok().map(|mut url| {
            url.set_query(None);
            url.set_fragment(None);
            url
        })
    };
    match (without_query(htu), without_query(expected)) {
        (Some(htu), Some(expected)) => htu == expected,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;
    const URI: &str = "https://api.example.com/api/v1/me";
    const TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";

    fn rules() -> ProofRules {
        ProofRules {
            algorithms: vec![Algorithm::ES256, Algorithm::EdDSA],
            max_age: Duration::from_secs(300),
            max_skew: Duration::from_secs(30),
            replay_cache_size: 1000,
            nonce_lifetime: None,
            nonce_keys: NonceKeys::default(),
        }
    }

    fn checker() -> ProofChecker {
        crate::crypto::install();
        ProofChecker::new(rules())
    }

    fn key() -> EncodingKey {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        EncodingKey::from_ec_der(pkcs8.as_ref())
    }

    fn public_jwk(key: &EncodingKey) -> Value {
        serde_json::to_value(Jwk::from_encoding_key(key, Algorithm::ES256).unwrap()).unwrap()
    }

    /// A proof signed by `key`, with `header` and `claims` changes over a valid one.
    fn proof(key: &EncodingKey, header: Value, claims: Value) -> String {
        let mut full_header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(key)});
        let mut full_claims = json!({
            "jti": format!("{:?}", std::time::Instant::now()), "htm": "GET", "htu": URI,
            "iat": NOW, "ath": token_hash(TOKEN),
        });
        for (target, changes) in [(&mut full_header, header), (&mut full_claims, claims)] {
            for (name, value) in changes.as_object().unwrap() {
                match value {
                    Value::Null => drop(target.as_object_mut().unwrap().remove(name)),
                    value => target[name] = value.clone(),
                }
            }
        }
        let header: Header = serde_json::from_value(full_header.clone()).unwrap();
        let signed = jsonwebtoken::encode(&header, &full_claims, key).unwrap();
        // The header exactly as given (jsonwebtoken would drop members it does not know).
        let rest = signed.split_once('.').unwrap().1;
        let body = rest.split_once('.').unwrap().0;
        let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&full_header).unwrap());
        let signing_input = format!("{encoded}.{body}");
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), key, header.alg).unwrap();
        format!("{signing_input}.{signature}")
    }

    fn request(method: &'static str) -> ProofRequest<'static> {
        ProofRequest {
            method,
            uri: URI,
            access_token: TOKEN,
        }
    }

    #[test]
    fn a_valid_proof_gives_its_keys_thumbprint_once() {
        let checker = checker();
        let key = key();
        let proof = proof(&key, json!({}), json!({}));
        let thumbprint = checker.check_once(&proof, &request("GET"), NOW).unwrap();
        let jwk: Jwk = serde_json::from_value(public_jwk(&key)).unwrap();
        assert_eq!(thumbprint, jwk.thumbprint(ThumbprintHash::SHA256).unwrap());
        assert_eq!(
            checker.check_once(&proof, &request("GET"), NOW),
            Err(ProofError::Replayed)
        );
    }

    #[test]
    fn the_request_must_match_the_proof() {
        let checker = checker();
        let key = key();
        let check = |claims: Value, method| {
            checker.check_once(&proof(&key, json!({}), claims), &request(method), NOW)
        };
        assert_eq!(check(json!({}), "POST"), Err(ProofError::MethodMismatch));
        assert_eq!(
            check(
                json!({"htu": "https://api.example.com/api/v1/elsewhere"}),
                "GET"
            ),
            Err(ProofError::UriMismatch)
        );
        assert_eq!(
            check(json!({"htu": "https://evil.example.com/api/v1/me"}), "GET"),
            Err(ProofError::UriMismatch)
        );
        assert!(
            check(
                json!({"htu": "HTTPS://API.example.com:443/api/v1/./me?x=1#f"}),
                "GET"
            )
            .is_ok(),
            "normalised, query and fragment ignored"
        );
        assert_eq!(
            check(json!({"iat": NOW - 301}), "GET"),
            Err(ProofError::Stale)
        );
        assert_eq!(
            check(json!({"iat": NOW + 31}), "GET"),
            Err(ProofError::Stale)
        );
        assert!(check(json!({"iat": NOW - 300}), "GET").is_ok());
        assert_eq!(
            check(json!({"ath": token_hash("another token")}), "GET"),
            Err(ProofError::TokenHashMismatch)
        );
        assert_eq!(
            check(json!({"ath": null}), "GET"),
            Err(ProofError::TokenHashMismatch)
        );
        assert_eq!(
            check(json!({"jti": null}), "GET"),
            Err(ProofError::Malformed)
        );
    }

    #[test]
    fn the_header_must_say_what_a_proof_is_and_carry_a_public_key() {
        let checker = checker();
        let key = key();
        let check = |header: Value| {
            checker.check_once(&proof(&key, header, json!({})), &request("GET"), NOW)
        };
        assert_eq!(check(json!({"typ": "JWT"})), Err(ProofError::WrongType));
        assert_eq!(check(json!({"typ": null})), Err(ProofError::WrongType));
        assert_eq!(check(json!({"jwk": null})), Err(ProofError::BadKey));
        let mut private = public_jwk(&key);
        private["d"] = json!("c2VjcmV0");
        assert_eq!(check(json!({"jwk": private})), Err(ProofError::BadKey));
        assert_eq!(check(json!({"crit": ["exp"]})), Err(ProofError::Malformed));
        // Another key's public JWK: the signature does not verify with it.
        assert_eq!(
            check(json!({"jwk": public_jwk(&self::key())})),
            Err(ProofError::InvalidSignature)
        );
        for alg in ["none", "HS256", "ES384"] {
            let mut forged = proof(&key, json!({}), json!({}));
            let header = URL_SAFE_NO_PAD.encode(
                json!({"typ": "dpop+jwt", "alg": alg, "jwk": public_jwk(&key)}).to_string(),
            );
            forged.replace_range(..forged.find('.').unwrap(), &header);
            assert_eq!(
                checker.check_once(&forged, &request("GET"), NOW),
                Err(ProofError::AlgorithmNotAllowed),
                "{alg}"
            );
        }
        assert_eq!(
            checker.check_once("not a proof", &request("GET"), NOW),
            Err(ProofError::Malformed)
        );
    }

    #[test]
    fn with_nonces_a_proof_must_carry_one_this_replica_issued_and_still_accepts() {
        crate::crypto::install();
        let with_nonces = ProofChecker::new(ProofRules {
            nonce_lifetime: Some(Duration::from_secs(60)),
            ..rules()
        });
        let key = key();
        let check = |nonce: Value| {
            with_nonces.check_once(
                &proof(&key, json!({}), json!({"nonce": nonce})),
                &request("GET"),
                NOW,
            )
        };
        let fresh = with_nonces.nonce(NOW - 60).unwrap();
        assert!(check(json!(fresh)).is_ok());
        assert_eq!(
            check(json!(with_nonces.nonce(NOW - 61).unwrap())),
            Err(ProofError::NonceRequired),
            "expired"
        );
        assert_eq!(check(json!(null)), Err(ProofError::NonceRequired));
        let other_replica = ProofChecker::new(ProofRules {
            nonce_lifetime: Some(Duration::from_secs(60)),
            ..rules()
        });
        assert_eq!(
            check(json!(other_replica.nonce(NOW).unwrap())),
            Err(ProofError::NonceRequired)
        );
        let mut forged = URL_SAFE_NO_PAD
            .decode(with_nonces.nonce(NOW).unwrap())
            .unwrap();
        forged[7] ^= 1;
        assert_eq!(
            check(json!(URL_SAFE_NO_PAD.encode(forged))),
            Err(ProofError::NonceRequired),
            "another issue time under the same tag"
        );
        assert_eq!(checker().nonce(NOW), None, "no nonces unless configured");
    }

    #[test]
    fn replicas_sharing_nonce_keys_accept_each_others_nonces_across_a_rotation() {
        crate::crypto::install();
        let replica = |keys: NonceKeys| {
            ProofChecker::new(ProofRules {
                nonce_lifetime: Some(Duration::from_secs(60)),
                nonce_keys: keys,
                ..rules()
            })
        };
        let (old, new) = (vec![1u8; 32], vec![2u8; 48]);
        let before = replica(NonceKeys::new(old.clone(), []).unwrap());
        let after = replica(NonceKeys::new(new.clone(), [old]).unwrap());
        let elsewhere = replica(NonceKeys::new(new, []).unwrap());
        let key = key();
        let accepts = |checker: &ProofChecker, nonce: String| {
            checker
                .check_once(
                    &proof(&key, json!({}), json!({"nonce": nonce})),
                    &request("GET"),
                    NOW,
                )
                .is_ok()
        };
        assert!(
            accepts(&after, before.nonce(NOW).unwrap()),
            "the previous key verifies"
        );
        assert!(accepts(&before, before.nonce(NOW).unwrap()));
        assert!(
            accepts(&elsewhere, after.nonce(NOW).unwrap()),
            "the new key signs"
        );
        assert!(
            !accepts(&elsewhere, before.nonce(NOW).unwrap()),
            "a key dropped is refused"
        );
        assert!(NonceKeys::new(vec![0; 31], []).is_none());
        assert!(NonceKeys::new(vec![0; 32], [vec![0; 31]]).is_none());
        assert_eq!(
            format!("{:?}", NonceKeys::new(vec![7; 32], []).unwrap()),
            "NonceKeys(1 keys, hidden)"
        );
    }
}
