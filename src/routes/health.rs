//! Liveness and readiness, for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::StoreStatus;
use crate::auth::Verifier;
use crate::auth::dpop::{SharedProofs, SharedStatus, StoreState};
use crate::state::Draining;

/// The liveness answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// `GET /health`: the process is up. Depends on nothing else.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The readiness answer: whether tokens can be verified now, and each issuer's key set.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    status: ReadyStatus,
    /// Why the service is not ready, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// Each configured issuer's key set (absent while draining).
    #[serde(skip_serializing_if = "Option::is_none")]
    issuers: Option<Vec<StoreStatus>>,
    /// The DPoP replay store the replicas share, where one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_replay_store: Option<SharedStatus>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    Ready,
    NotReady,
    Draining,
}

/// `GET /ready`: 200 while some issuer has a key set within bounds, 503 with the reason when
/// none has. One issuer down during a migration leaves the others' tokens verifiable, so it
/// degrades the report, not readiness.
#[utoipa::path(get, path = "/ready", tag = "operations", responses(
    (status = 200, description = "Some issuer's keys are loaded: tokens can be verified", body = Readiness),
    (status = 503, description = "No issuer's keys are loaded, or the service is draining", body = Readiness),
))]
pub async fn ready(
    verifier: web::Data<Verifier>,
    draining: web::Data<Draining>,
    replay_store: Option<web::Data<SharedProofs>>,
) -> HttpResponse {
    if draining.is_set() {
        return HttpResponse::ServiceUnavailable().json(Readiness {
            status: ReadyStatus::Draining,
            reason: Some("the service is shutting down"),
            issuers: None,
            dpop_replay_store: None,
        });
    }
    let issuers: Vec<StoreStatus> = verifier.stores().map(|store| store.status()).collect();
    let store = replay_store.map(|store| store.status());
    let not_ready = if !issuers.iter().any(|issuer| issuer.key_count > 0) {
        Some("signing keys have not been loaded from any issuer")
    } else if store
        .as_ref()
        .is_some_and(|store| store.status == StoreState::Unreached)
    {
        Some("the DPoP replay store (redis) has not been reached")
    } else {
        None
    };
    let readiness = Readiness {
        status: match not_ready {
            Some(_) => ReadyStatus::NotReady,
            None => ReadyStatus::Ready,
        },
        reason: not_ready,
        issuers: Some(issuers),
        dpop_replay_store: store,
    };
    match not_ready {
        Some(_) => HttpResponse::ServiceUnavailable().json(readiness),
        None => HttpResponse::Ok().json(readiness),
    }
}
