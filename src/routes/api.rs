//! The protected API. Handlers receive verified claims and never see a token.

use actix_web::HttpResponse;
use serde::Serialize;

use crate::auth::VerifiedClaims;

/// The seed's answer, serialized straight from the shared claims (no copy).
#[derive(Serialize)]
struct Me<'a> {
    message: &'static str,
    user: &'a VerifiedClaims,
}

/// `GET /api/v1/me`: who the token says the caller is.
pub async fn me(claims: VerifiedClaims) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        message: "Access granted",
        user: &claims,
    })
}
