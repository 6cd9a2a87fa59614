//! Bearer-token authentication against an issuer's published keys.
//!
//! `setup` builds, from the settings, one `jwks` store per issuer (`fetch` for its HTTP, `keys`
//! for its parsed set) and the `verifier` over them (`header` first, then `jsonwebtoken`, then
//! the issuer's `policy`, remembered in `token_cache`); `validator`, the bearer middleware,
//! puts the resulting `caller` on the request for handlers and `require`; `error` maps every
//! failure to RFC 6750 challenges and RFC 9457 problems, naming the `metadata` document.

pub mod caller;
mod charset;
pub mod claims;
pub mod error;
pub mod fetch;
pub mod header;
pub mod jwks;
pub mod keys;
pub mod metadata;
pub mod policy;
pub mod require;
pub mod setup;
pub mod token_cache;
pub mod validator;
pub mod verifier;

pub use caller::{Caller, RolesClaim};
pub use claims::VerifiedClaims;
pub use error::{AuthError, Challenge, TokenError};
pub use jwks::JwksStore;
pub use metadata::ResourceMetadata;
pub use require::Requirement;
pub use validator::{BearerToken, validate};
pub use verifier::Verifier;
