//! The API's own routes. Handlers receive verified claims and never see a token.

use actix_web::HttpResponse;
use serde::Serialize;

use crate::auth::{Caller, VerifiedClaims};

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
pub async fn me(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        message: "Access granted",
        user: caller.claims(),
    })
}

/// A greeting, personal when the caller is known.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Greeting {
    /// `Hello, <sub>` for an authenticated caller, `Hello, anonymous caller` otherwise.
    message: String,
    /// Whether a valid token came with the request.
    authenticated: bool,
}

/// `GET /api/v1/greeting`: anyone may call; a valid token makes the answer personal, an
/// invalid one is refused rather than ignored.
#[utoipa::path(get, path = "/api/v1/greeting", tag = "api",
    description = "Authentication is optional: without a token the caller is anonymous; a \
        token present must be valid.",
    responses((status = 200, description = "A greeting, naming the caller a token identifies",
        body = Greeting)))]
pub async fn greeting(caller: Option<Caller>) -> HttpResponse {
    let message = match caller.as_ref().and_then(Caller::subject) {
        Some(subject) => format!("Hello, {subject}"),
        None => "Hello, anonymous caller".to_owned(),
    };
    HttpResponse::Ok().json(Greeting {
        message,
        authenticated: caller.is_some(),
    })
}
