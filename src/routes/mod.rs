//! The routing table, in one place for both the server and the tests.

mod api;
mod health;
mod well_known;

use actix_web::web;
use actix_web_httpauth::middleware::HttpAuthentication;

use crate::auth::validate;
use crate::startup::AppState;

pub use well_known::ResourceMetadata;

/// Wires every route and the shared state they read.
///
/// Public: `/health`, `/ready`, `/.well-known/*`. Protected (bearer token): `/api/v1/*`.
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.app_data(state.verifier.clone())
        .app_data(state.challenge.clone())
        .app_data(state.metadata.clone())
        .route("/health", web::get().to(health::health))
        .route("/ready", web::get().to(health::ready))
        .route(
            "/.well-known/oauth-protected-resource",
            web::get().to(well_known::protected_resource),
        );
    if let Some(dev_issuer) = &state.dev_issuer {
        cfg.app_data(dev_issuer.clone())
            .route(
                "/.well-known/openid-configuration",
                web::get().to(well_known::dev_discovery),
            )
            .route(
                "/.well-known/jwks.json",
                web::get().to(well_known::dev_jwks),
            );
    }
    cfg.service(
        web::scope("/api/v1")
            .wrap(HttpAuthentication::with_fn(validate))
            .route("/me", web::get().to(api::me)),
    );
}
