//! An Actix-web API that trusts a token issuer: protected routes accept only JWTs signed by
//! keys from the configured issuer's JWKS.
//!
//! `main` ─▶ [`settings`] ─▶ [`startup`] ─▶ `routes` ─▶ handlers, with [`auth`] guarding the
//! protected scope and `problem` shaping every error.

pub mod auth;
pub mod doctor;
mod errors;
pub mod items;
pub mod logging;
mod metrics;
mod observe;
mod problem;
mod request_id;
mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod trust;

/// What a resource's handlers return: each error a problem (RFC 9457), a 422 naming its fields.
pub use errors::ApiError;
pub use problem::FieldError;
