//! Bearer-token authentication: the verifier library and its actix-web adapter, re-exported
//! under one path for the routes, the state and the tests.

pub use issuer_trust::actix::{
    Authenticator, CertificateBinding, Challenge, Claims, DPOP_NONCE, DeclaredRoute, Dpop,
    Endpoint, FieldError, PROBLEM_JSON, Problem, ProtectedRoutes, Rejection, Requirement,
    RouteTable, Scheme, TokenLocation, TokenSources,
};
pub use issuer_trust::dpop::{DpopMode, ProofRules};
pub use issuer_trust::*;
