//! The actix adapter of the auth core: the bearer middleware that verifies the credential and
//! puts the caller on the request, the extractors handlers read it with, routes declared with
//! their requirements, and the one mapping of auth failures to responses.

mod bearer;
mod dpop;
mod extract;
#[cfg(feature = "utoipa")]
pub mod openapi;
mod optional;
mod rejection;
mod require;
mod routes;
mod source;

pub use bearer::Authenticator;
pub use dpop::{Dpop, Scheme};
pub use extract::Claims;
pub use rejection::{Challenge, DPOP_NONCE, ProblemBody, Rejection};
pub use require::Requirement;
pub use routes::{DeclaredRoute, Endpoint, ProtectedEndpoint, ProtectedRoutes, RouteTable};
pub use source::{TokenLocation, TokenSources};
