//! The routing table, in one place for both the server and the tests. Every permission a route
//! requires is declared on that route.
//!
//! | Route | Requires |
//! |---|---|
//! | `GET /health`, `/ready`, `/metrics`, `/openapi.json`, `/.well-known/*` | nothing |
//! | `GET /api/v1/me` | a valid token |
//! | `GET /api/v1/items`, `GET /api/v1/items/{id}` | `items:read` |
//! | `POST /api/v1/items`, `PUT`/`PATCH`/`DELETE /api/v1/items/{id}` | `items:write` |
//! | `GET /api/v1/admin/stats` | role `admin` |

mod admin;
mod api;
mod health;
mod items;
mod metrics;
pub mod openapi;
mod well_known;

use actix_web::web;
use actix_web_httpauth::middleware::HttpAuthentication;

use crate::auth::validate;
use crate::errors::{self, method_not_allowed};
use crate::state::AppState;

/// Wires every route and the shared state they read.
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.app_data(state.verifier.clone())
        .app_data(state.challenge.clone())
        .app_data(state.metadata.clone())
        .app_data(state.items.clone())
        .app_data(state.draining.clone())
        .app_data(state.metrics.clone())
        .app_data(openapi::rendered(
            state.dev_issuer.is_some(),
            state.metrics_beside_api,
        ))
        .app_data(web::Data::new(state.requirements.clone()))
        .app_data(errors::json_config(state.max_json_bytes))
        .service(get_only("/health", health::health))
        .service(get_only("/ready", health::ready))
        .service(get_only("/openapi.json", openapi::serve))
        .service(get_only(
            "/.well-known/oauth-protected-resource",
            well_known::protected_resource,
        ));
    if state.metrics_beside_api {
        cfg.service(metrics_route());
    }
    if let Some(dev_issuer) = &state.dev_issuer {
        cfg.app_data(dev_issuer.clone())
            .service(get_only(
                "/.well-known/openid-configuration",
                well_known::dev_discovery,
            ))
            .service(get_only("/.well-known/jwks.json", well_known::dev_jwks));
    }
    cfg.service(
        web::scope("/api/v1")
            .wrap(HttpAuthentication::with_fn(validate))
            .service(get_only("/me", api::me))
            .configure(|cfg| items::configure(cfg, &state.requirements))
            .configure(|cfg| admin::configure(cfg, &state.requirements)),
    )
    .default_service(web::to(errors::not_found));
}

/// `GET /metrics`, beside the API or on its own port.
pub fn metrics_route() -> actix_web::Resource {
    get_only("/metrics", metrics::exposition)
}

/// A resource answering GET, and 405 with `Allow: GET` to anything else.
fn get_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler))
        .default_service(web::to(method_not_allowed("GET")))
}
