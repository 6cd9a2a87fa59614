//! The protected API. Handlers receive verified claims and never see a token.

use actix_web::HttpResponse;
use serde_json::json;

use crate::auth::VerifiedClaims;

/// `GET /api/v1/me`: who the token says the caller is.
pub async fn me(claims: VerifiedClaims) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "message": "Access granted", "user": claims }))
}
