//! An Actix-web API that trusts a token issuer: protected routes accept only JWTs signed by
//! keys from the configured issuer's JWKS.
//!
//! `main` ─▶ [`settings`] ─▶ [`startup`] ─▶ [`routes`] ─▶ handlers, with [`auth`] guarding the
//! protected scope and [`problem`] shaping every error.

pub mod auth;
pub mod dev_issuer;
pub mod doctor;
pub mod errors;
pub mod items;
pub mod logging;
pub mod metrics;
pub mod problem;
pub mod random;
pub mod request_id;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod token_type;
