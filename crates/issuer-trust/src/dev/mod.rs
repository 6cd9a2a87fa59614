//! A development issuer and a development DPoP client, for trying a service offline and for
//! tests: the issuer signs tokens with keys it publishes as a JWKS and an OpenID discovery
//! document, so the verifier reads them through the same fetch-and-cache path as a real
//! issuer's; the client holds a key and signs DPoP proofs (RFC 9449) with it. Never for
//! production: the keys sit in a file beside the service.
//!
//! A token signed and verified with plain tokio, no network: the development issuer's key set
//! handed to the verifier inline.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use issuer_trust::config::{KeySetLimits, RolesClaim, StaticKeys};
//! use issuer_trust::dev::{DevIssuer, TokenRequest};
//! use issuer_trust::{Algorithm, Fetcher, IssuerPolicy, JwksSource, JwksStore, Unobserved, Verifier};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     let issuer = DevIssuer::load_or_create("https://issuer.example".to_owned(), None).unwrap();
//!     let source = JwksSource {
//!         issuer: issuer.issuer().to_owned(),
//!         jwks_uri: None,
//!         algorithms: vec![Algorithm::EdDSA],
//!         limits: KeySetLimits::default(),
//!         static_keys: Some(StaticKeys::Inline(issuer.jwks().to_string())),
//!         fetch_headers: Default::default(),
//!     };
//!     let policy = IssuerPolicy {
//!         audience: vec!["https://api.example.com".to_owned()],
//!         algorithms: source.algorithms.clone(),
//!         leeway_seconds: 30,
//!         audience_claim: None,
//!         required_claims: Vec::new(),
//!         roles_claim: RolesClaim("roles".to_owned()),
//!         require_typ: None,
//!         max_token_lifetime_seconds: None,
//!         allowed_tenants: None,
//!     };
//!     let observer = Arc::new(Unobserved);
//!     let fetcher = Fetcher::new(Duration::from_secs(5), 512 * 1024);
//!     let store = Arc::new(JwksStore::new(source, fetcher, observer.clone()));
//!     store.refresh().await.unwrap(); // reads the inline set; a service spawns its refresher
//!     let verifier = Verifier::new(16_384, 10_000, 16 << 20, observer).trust(store, policy);
//!
//!     let token = issuer
//!         .sign(&TokenRequest {
//!             subject: "alice".to_owned(),
//!             audience: vec!["https://api.example.com".to_owned()],
//!             scope: Some("items:read".to_owned()),
//!             roles: Vec::new(),
//!             roles_claim: "roles".to_owned(),
//!             ttl: Duration::from_secs(300),
//!             algorithm: Algorithm::EdDSA,
//!             acr: None,
//!             auth_time: None,
//!             cnf_jkt: None,
//!             cnf_x5t_s256: None,
//!         })
//!         .unwrap();
//!     let caller = verifier.verify(&token).await.unwrap();
//!     assert_eq!(caller.subject(), Some("alice"));
//!     assert!(caller.has_scope("items:read"));
//!     assert!(verifier.verify(&format!("{token}x")).await.is_err());
//! }
//! ```

mod certificate;
mod client;
mod issuer;

pub use certificate::DevClientCertificate;
pub use client::DevClientKey;
pub use issuer::{DevIssuer, TokenRequest};

/// Why the development issuer could not start or sign.
#[derive(Debug)]
pub enum DevIssuerError {
    /// A key file could not be read, written or understood; says which and why.
    KeyFile(String),
    /// The crypto backend failed to generate a key or sign.
    Crypto,
    /// The issuer holds no key of this algorithm.
    UnsupportedAlgorithm(String),
    /// The roles claim path runs through a claim that is not an object.
    RolesClaim(String),
}

impl std::fmt::Display for DevIssuerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KeyFile(why) => write!(f, "development issuer key file: {why}"),
            Self::Crypto => f.write_str("development issuer: key generation or signing failed"),
            Self::RolesClaim(path) => write!(
                f,
                "roles cannot be placed at `{path}`: it runs through a claim that is not an object"
            ),
            Self::UnsupportedAlgorithm(alg) => {
                write!(
                    f,
                    "the development issuer signs EdDSA, RS256 or ES256, not `{alg}`"
                )
            }
        }
    }
}

impl std::error::Error for DevIssuerError {}

/// 128 random bits as hex: a token's or a proof's `jti`.
fn random_id() -> Result<String, DevIssuerError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| DevIssuerError::Crypto)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
