//! Bearer-token authentication against an issuer's published keys: a core with no actix type
//! in or out, and its actix adapter in `http`.
//!
//! The core: `setup` builds, from the settings, one `jwks` store per issuer (`fetch` for its
//! HTTP, `keys` for its parsed set) and the `verifier` over them (`header` first, then
//! `jsonwebtoken`, its claims read once as a `claim_set`, then the issuer's `policy`,
//! remembered in `token_cache`), which turns a token into a `caller` or a typed `error`;
//! `metadata` is the RFC 9728 document naming the issuers; `step_up` is what a route demands of
//! the caller's authentication (RFC 9470).
//! The adapter: `http::bearer`, the bearer middleware, puts the caller on the request for the
//! extractors and `http::require`; `http::rejection` maps every failure to RFC 6750 challenges
//! and RFC 9457 problems.

mod caller;
mod charset;
mod claim_set;
mod claims;
mod crypto;
mod dpop;
mod error;
mod fetch;
mod header;
mod http;
mod issuer_alias;
mod jwks;
mod keys;
mod metadata;
mod observer;
mod policy;
mod provenance;
mod step_up;
mod thread_handles;
mod token_cache;
mod token_digest;
mod token_type;
mod used_proofs;
mod verifier;

pub use caller::{Caller, RolesClaim};
pub use claims::VerifiedClaims;
pub use crypto::install as install_crypto_provider;
pub use dpop::{DpopMode, ProofRules, token_hash as dpop_token_hash};
pub use error::{AuthError, TokenError};
pub use fetch::Fetcher;
pub use fetch::is_loopback;
pub use header::TokenHeader;
pub use http::{
    BearerToken, Challenge, DPOP_NONCE, Dpop, ProblemBody, Rejection, Requirement, Scheme,
    TokenLocation, TokenSources, optional_bearer, validate,
};
pub(crate) use issuer_alias::identifier as issuer_identifier;
pub use jwks::{JwksSource, JwksStore, StoreStatus};
pub use keys::{KeyLookupError, KeySet, SkippedKey, VerificationKey};
pub use metadata::ResourceMetadata;
pub use observer::{Observer, Unobserved};
pub use policy::{IssuerPolicy, RequiredClaim};
pub use step_up::StepUp;
pub(crate) use token_type::{ACCEPTED_TYPES, media_type};
pub use verifier::Verifier;
pub(crate) use verifier::unverified_claims;
