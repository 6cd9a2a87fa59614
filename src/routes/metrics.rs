//! `GET /metrics`: the Prometheus exposition, beside the API or on its own port, with each
//! issuer's key-set gauges read from its store as it is scraped.

use actix_web::{HttpResponse, web};

use crate::auth::Verifier;
use crate::metrics::Metrics;

/// `GET /metrics`
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200,
    description = "Prometheus text exposition", body = String,
    content_type = "text/plain; version=0.0.4; charset=utf-8")))]
pub async fn exposition(
    metrics: web::Data<Metrics>,
    verifier: web::Data<Verifier>,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&verifier))
}
