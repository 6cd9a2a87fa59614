//! Verifies the JWTs a token issuer signs, against the keys it publishes as a JWKS (RFC 7517):
//! one key store per trusted issuer fetches, parses, caches and refreshes its keys; the
//! [`Verifier`] turns a token into a [`Caller`] or a typed [`AuthError`] by RFC 7519 and
//! RFC 8725, remembers verified tokens until they expire or their key leaves the set, and checks
//! DPoP proofs (RFC 9449) and step-up demands (RFC 9470). The core knows no web framework; the
//! `actix` feature adds `actix`, its actix-web adapter.
//!
//! Verifying a token with plain tokio, as an axum or hyper service would:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use issuer_trust::config::{KeySetLimits, RolesClaim};
//! use issuer_trust::{Algorithm, Fetcher, IssuerPolicy, JwksSource, JwksStore, Unobserved, Verifier};
//!
//! #[tokio::main]
//! async fn main() {
//!     let issuer = "https://issuer.example.com/";
//!     let source = JwksSource {
//!         issuer: issuer.to_owned(),
//!         jwks_uri: None, // discovery
//!         algorithms: vec![Algorithm::RS256, Algorithm::EdDSA],
//!         limits: KeySetLimits::default(),
//!         static_keys: None,
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
//!     // The refresher loads the keys at once and keeps them fresh; until they arrive,
//!     // verification answers `AuthError::KeysUnavailable` (a 503, not a 401).
//!     store.spawn_refresher();
//!     let verifier = Verifier::new(16_384, 10_000, 16 << 20, observer).trust(store, policy);
//!
//!     match verifier.verify("eyJhbGciOi…").await {
//!         Ok(caller) => println!("{:?} may read: {}", caller.subject(), caller.has_scope("read")),
//!         Err(refused) => println!("refused: {}", refused.reason()),
//!     }
//! }
//! ```

#![deny(missing_docs)]

#[cfg(feature = "actix")]
pub mod actix;
mod caller;
mod charset;
mod claim_set;
mod claims;
mod client_cert;
pub mod config;
mod crypto;
#[cfg(feature = "dev-issuer")]
pub mod dev;
pub mod dpop;
mod error;
mod explain;
mod fetch;
mod header;
mod issuer_alias;
mod issuer_report;
mod jwks;
mod keys;
mod metadata;
#[cfg(feature = "prometheus")]
pub mod metrics;
mod observer;
mod pem_keys;
mod policy;
mod provenance;
#[cfg(feature = "redis")]
mod shared_proofs;
mod step_up;
mod tenant;
mod token_cache;
mod token_digest;
mod token_type;
#[cfg(feature = "opentelemetry")]
pub mod trace;
mod used_proofs;
mod verifier;

pub use caller::Caller;
pub use claims::VerifiedClaims;
pub use crypto::install as install_crypto_provider;
pub use error::{AuthError, ProofError, TokenError};
pub use fetch::Fetcher;
pub use jsonwebtoken::Algorithm;
pub use jwks::{JwksSource, JwksStore, StoreStatus};
pub use keys::SkippedKey;
pub use metadata::ResourceMetadata;
pub use observer::{Observer, Unobserved};
pub use policy::IssuerPolicy;
pub use step_up::StepUp;
pub use verifier::Verifier;

/// Reading a token or a key set without trusting either, to explain a refusal (as a service's
/// diagnostics do): never to grant anything.
pub mod inspect {
    pub use crate::explain::{Check, Fix, IssuerView, explain};
    pub use crate::header::TokenHeader;
    pub use crate::issuer_alias::identifier as issuer_identifier;
    pub use crate::issuer_report::describe_issuer;
    pub use crate::keys::{KeyLookupError, KeyName, KeySet, VerificationKey};
    pub use crate::verifier::unverified_claims;
}
