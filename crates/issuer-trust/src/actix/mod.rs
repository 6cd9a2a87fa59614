//! The actix adapter of the auth core: the bearer middleware that verifies the credential and
//! puts the caller on the request, the extractors handlers read it with, routes declared with
//! their requirements, and the one mapping of auth failures to responses.
//!
//! Guarding a scope with a verifier built as in the crate's example:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use actix_web::http::header::AUTHORIZATION;
//! use actix_web::{HttpResponse, web};
//! use issuer_trust::actix::{
//!     Authenticator, CertificateBinding, Challenge, Claims, Dpop, Requirement, RouteTable,
//!     TokenLocation, TokenSources,
//! };
//! use issuer_trust::dpop::{DpopMode, ProofRules};
//! use issuer_trust::{Algorithm, Caller, Verifier};
//!
//! #[derive(serde::Deserialize)]
//! struct OrderClaims {
//!     tenant: String,
//! }
//!
//! async fn me(caller: Caller) -> HttpResponse {
//!     HttpResponse::Ok().json(caller.claims())
//! }
//!
//! async fn orders(claims: Claims<OrderClaims>) -> String {
//!     format!("orders of {}", claims.tenant)
//! }
//!
//! fn guarded(verifier: Arc<Verifier>) -> Arc<Authenticator> {
//!     let issuer = "https://issuer.example.com/".to_owned();
//!     let bearer = TokenLocation { header: AUTHORIZATION, prefix: "Bearer".to_owned() };
//!     let rules = ProofRules {
//!         algorithms: vec![Algorithm::ES256, Algorithm::EdDSA],
//!         max_age: Duration::from_secs(300),
//!         max_skew: Duration::from_secs(30),
//!         replay_cache_size: 100_000,
//!         nonce_lifetime: None,
//!         nonce_keys: Default::default(),
//!     };
//!     let api = "https://api.example.com";
//!     Authenticator::new(
//!         verifier,
//!         TokenSources::new([(bearer, issuer.clone())]),
//!         Dpop::new(rules, vec![(issuer, DpopMode::Allowed)], api),
//!         CertificateBinding::none(),
//!         Challenge {
//!             realm: "orders".to_owned(),
//!             resource_metadata: format!("{api}/.well-known/oauth-protected-resource"),
//!             bearer: true,
//!             dpop_algs: Some("ES256 EdDSA".to_owned()),
//!             problem_types: "tag:orders.example.com,2026:problems/".to_owned(),
//!         },
//!     )
//! }
//!
//! fn configure(cfg: &mut web::ServiceConfig, authenticator: &Arc<Authenticator>) {
//!     let api = RouteTable::new(authenticator).protected("/api");
//!     cfg.service(
//!         api.scope()
//!             .service(api.at("/me").get(Requirement::Token, me))
//!             .service(api.at("/orders").get(Requirement::Scope("orders:read"), orders))
//!             .wrap(authenticator.bearer()),
//!     );
//! }
//! ```

mod bearer;
mod certificate;
mod dpop;
mod extract;
#[cfg(feature = "utoipa")]
pub mod openapi;
mod optional;
mod problem;
mod rejection;
mod require;
mod routes;
mod source;
#[cfg(feature = "opentelemetry")]
mod trace;

pub use bearer::Authenticator;
pub use certificate::CertificateBinding;
pub use dpop::{Dpop, Scheme};
pub use extract::Claims;
pub use problem::{FieldError, PROBLEM_JSON, Problem};
pub use rejection::{Challenge, DPOP_NONCE, Rejection};
pub use require::Requirement;
pub use routes::{DeclaredRoute, Endpoint, ProtectedEndpoint, ProtectedRoutes, RouteTable};
pub use source::{TokenLocation, TokenSources};
#[cfg(feature = "opentelemetry")]
pub use trace::trace_requests;
