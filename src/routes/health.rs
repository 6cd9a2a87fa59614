//! Liveness and readiness, for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::json;

use crate::auth::Verifier;
use crate::auth::jwks::StoreStatus;
use crate::auth::keys::SkippedKey;
use crate::state::Draining;

/// `GET /health`: the process is up. Depends on nothing else.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

#[derive(Serialize)]
struct IssuerReport {
    issuer: String,
    jwks_uri: Option<String>,
    keys: usize,
    kids: Vec<String>,
    age_seconds: Option<u64>,
    stale: bool,
    skipped: Vec<SkippedKey>,
    last_error: Option<String>,
}

impl From<StoreStatus> for IssuerReport {
    fn from(status: StoreStatus) -> Self {
        Self {
            issuer: status.issuer,
            jwks_uri: status.jwks_uri,
            keys: status.key_count,
            kids: status.kids,
            age_seconds: status.age.map(|age| age.as_secs()),
            stale: status.stale,
            skipped: status.skipped,
            last_error: status.last_error,
        }
    }
}

/// `GET /ready`: 200 while some issuer has a key set within bounds, 503 with the reason when
/// none has. One issuer down during a migration leaves the others' tokens verifiable, so it
/// degrades the report, not readiness.
pub async fn ready(verifier: web::Data<Verifier>, draining: web::Data<Draining>) -> HttpResponse {
    if draining.is_set() {
        return HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "draining", "reason": "the service is shutting down" }));
    }
    let issuers: Vec<IssuerReport> = verifier
        .stores()
        .map(|store| IssuerReport::from(store.status()))
        .collect();
    if issuers.iter().any(|issuer| issuer.keys > 0) {
        HttpResponse::Ok().json(json!({ "status": "ready", "issuers": issuers }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "status": "not_ready",
            "reason": "signing keys have not been loaded from any issuer",
            "issuers": issuers,
        }))
    }
}
