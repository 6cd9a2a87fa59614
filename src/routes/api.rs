//! The protected API. Handlers receive verified claims and never see a token.

use actix_web::HttpResponse;
use serde::Serialize;

use crate::auth::VerifiedClaims;

/// The seed's answer, serialized straight from the shared claims (no copy).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me<'a> {
    /// Always `Access granted`.
    message: &'static str,
    /// The verified claims of the caller's token, as the issuer set them.
    #[schema(value_type = Object)]
    user: &'a VerifiedClaims,
}

/// `GET /api/v1/me`: who the token says the caller is.
#[utoipa::path(get, path = "/api/v1/me", tag = "api",
    responses((status = 200, description = "The caller's verified claims", body = Me)))]
pub async fn me(claims: VerifiedClaims) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        message: "Access granted",
        user: &claims,
    })
}
