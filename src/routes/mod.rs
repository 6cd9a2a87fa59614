//! The routing table, in one place for both the server and the tests. Every permission a route
//! requires is declared once, on that route (see [`RouteTable`]); every GET route answers HEAD too.
//!
//! | Route | Requires |
//! |---|---|
//! | `GET /health`, `/ready`, `/metrics`, `/openapi.json`, `/.well-known/*` | nothing |
//! | `GET /api/v1/greeting` | nothing; a token, if sent, must be valid |
//! | `GET /api/v1/me` | a valid token |
//! | `GET /api/v1/items`, `GET /api/v1/items/{id}` | `items:read` |
//! | `POST /api/v1/items`, `PUT`/`PATCH`/`DELETE /api/v1/items/{id}` | `items:write` |
//! | `GET /api/v1/admin/stats` | role `admin`, then the configured step-up (`acr`, `auth_time`) |

mod admin;
mod api;
mod health;
mod items;
mod metrics;
pub mod openapi;
mod well_known;

use actix_web::web;

use std::sync::Arc;

use crate::auth::RouteTable;
use crate::auth::{Authenticator, Requirement};
use crate::errors;
use crate::state::AppState;

/// Wires every route and the shared state they read.
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    let routes = RouteTable::new(&state.authenticator);
    if let Some(store) = &state.replay_store {
        cfg.app_data(store.clone());
    }
    cfg.app_data(state.verifier.clone())
        .app_data(state.metadata.clone())
        .app_data(state.draining.clone())
        .app_data(state.metrics.clone())
        .app_data(web::Data::new(openapi::OpenApiJson::new(
            routes.clone(),
            state.authenticator.dpop().accepts_dpop(),
        )))
        .app_data(web::Data::new(routes.clone()))
        .app_data(errors::json_config(state.max_json_bytes))
        // actix-web tries routes in the order registered, each miss costing a match attempt:
        // the probe most called and the guarded API first, the rarely called routes after.
        .service(routes.public("/health", health::health))
        // Before the guarded scope, which would otherwise take every path under its prefix.
        .service(routes.optional_auth("/api/v1/greeting", api::greeting));
    let api = routes.protected("/api/v1");
    cfg.service(
        // One line per resource; the bearer middleware wraps the whole scope.
        api.scope()
            .service(api.at("/me").get(Requirement::Token, api::me))
            .configure(|cfg| items::configure(cfg, &api, &state.items))
            .configure(|cfg| admin::configure(cfg, &api, &state.step_up))
            .wrap(state.authenticator.bearer()),
    )
    .service(routes.public("/ready", health::ready))
    .service(routes.public("/openapi.json", openapi::serve))
    .service(routes.public(
        "/.well-known/oauth-protected-resource",
        well_known::protected_resource,
    ));
    if state.metrics_beside_api {
        cfg.service(routes.public("/metrics", metrics::exposition));
    }
    if let Some(dev_issuer) = &state.dev_issuer {
        cfg.app_data(dev_issuer.clone())
            .service(routes.public(
                "/.well-known/openid-configuration",
                well_known::dev_discovery,
            ))
            .service(routes.public("/.well-known/jwks.json", well_known::dev_jwks));
    }
    cfg.default_service(web::to(errors::not_found));
}

/// `GET /metrics` on its own port.
pub fn metrics_route(authenticator: &Arc<Authenticator>) -> crate::auth::Endpoint {
    RouteTable::new(authenticator).public("/metrics", metrics::exposition)
}
