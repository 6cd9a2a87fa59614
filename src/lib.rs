//! An Actix-web API that trusts a token issuer: protected routes accept only JWTs signed by
//! keys from the configured issuer's JWKS.
//!
//! `main` ─▶ [`settings`] ─▶ [`startup`] ─▶ `routes` ─▶ handlers, with [`auth`] guarding the
//! protected scope and `problem` shaping every error.

pub mod auth;
pub mod dev_issuer;
pub mod doctor;
mod errors;
pub mod items;
pub mod logging;
mod metrics;
mod problem;
mod random;
mod request_id;
mod routes;
pub mod settings;
pub mod startup;
pub mod state;
mod token_type;
