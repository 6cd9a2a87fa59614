//! `/api/v1/admin`: operator routes, guarded by a role rather than a scope.

use actix_web::{HttpResponse, web};

use crate::auth::ProtectedRoutes;
use crate::auth::{Requirement, StepUp};
use crate::errors::ApiError;
use crate::items::{ItemStore, Stats};

/// The role the admin routes require, read from the configured roles claim.
pub const ADMIN_ROLE: &str = "admin";

/// The admin route, behind the role and then the configured step-up (`auth.step_up`).
pub fn configure(cfg: &mut web::ServiceConfig, api: &ProtectedRoutes, step_up: &StepUp) {
    cfg.service(
        api.at("/admin/stats")
            .step_up(step_up)
            .get(Requirement::Role(ADMIN_ROLE), stats),
    );
}

/// The admin operations, nested under the API's prefix by the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(stats))]
pub struct AdminApi;

/// `GET /admin/stats`: how many items exist and how many callers created them.
#[utoipa::path(get, path = "/admin/stats", tag = "admin",
    description = "Requires the role `admin` in the configured roles claim, and then an \
        authentication recent and strong enough for the configured step-up (RFC 9470).",
    responses((status = 200, description = "Item counts", body = Stats)))]
pub async fn stats(store: web::Data<dyn ItemStore>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(store.stats().await?))
}
