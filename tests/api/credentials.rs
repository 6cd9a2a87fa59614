//! How the `Authorization` header is read, and the exact shape of every authentication error.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::common::{
    TestIssuer, claims, get, keys, send, settings, sign, standard_app, standard_jwks, state,
};
use crate::service;

/// The package name: realm and problem types are named after it.
const NAME: &str = env!("CARGO_PKG_NAME");
const METADATA: &str = "http://localhost:8080/.well-known/oauth-protected-resource";

#[actix_web::test]
async fn missing_credentials_get_a_challenge_without_error_and_a_problem_body() {
    let (_issuer, app) = standard_app().await;

    let reply = get(&app, "/api/v1/me", None).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(format!(r#"Bearer realm="{NAME}", resource_metadata="{METADATA}""#).as_str())
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        reply.body_without_request_id(),
        json!({
            "type": format!("tag:{NAME},2026:problems/missing-credentials"),
            "title": "Unauthorized",
            "status": 401,
            "detail": "a bearer token is required",
        })
    );
}

#[actix_web::test]
async fn another_scheme_is_treated_as_no_credentials() {
    let (_issuer, app) = standard_app().await;
    for value in ["Basic YWxpY2U6c2VjcmV0", "Token abc", "Bearerabc.def.ghi"] {
        let reply = get(&app, "/api/v1/me", Some(value)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{value}");
        assert!(
            !reply.header("www-authenticate").unwrap().contains("error="),
            "{value}"
        );
    }
}

#[actix_web::test]
async fn a_valid_token_outside_the_authorization_header_is_no_credential() {
    let (issuer, app) = standard_app().await;
    let token = sign(&keys().ed, &claims(&issuer.url));
    assert_eq!(
        get(&app, "/api/v1/me", Some(&format!("Bearer {token}")))
            .await
            .status,
        StatusCode::OK,
        "the token itself is valid"
    );

    // RFC 6750 §2.2 and §2.3: form and query tokens leak into logs and history; never read.
    let in_query = get(&app, &format!("/api/v1/me?access_token={token}"), None).await;
    let in_form = send(
        &app,
        actix_web::test::TestRequest::post()
            .uri("/api/v1/me")
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload(format!("access_token={token}")),
    )
    .await;
    for reply in [in_query, in_form] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(!reply.header("www-authenticate").unwrap().contains("error="));
        assert!(
            !reply.body.to_string().contains(&token),
            "the token is not echoed"
        );
    }
}

#[actix_web::test]
async fn a_malformed_bearer_credential_is_a_bad_request() {
    let (_issuer, app) = standard_app().await;
    for value in [
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Bearer a b",
        "Bearer a,b",
        "Bearer ä",
        "Bearer ===",
        "Bearer a=b",
    ] {
        let reply = get(&app, "/api/v1/me", Some(value)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{value:?}");
        assert_eq!(reply.body["error"], "invalid_request", "{value:?}");
        let reason = match value.trim() {
            "Bearer" => "empty bearer token",
            "Bearer ä" => "malformed Authorization header",
            _ => "malformed bearer token",
        };
        assert_eq!(reply.error_description(), reason, "{value:?}");
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .contains(r#"error="invalid_request""#),
            "{value:?}"
        );
    }
}

#[actix_web::test]
async fn the_scheme_name_is_case_insensitive() {
    let (issuer, app) = standard_app().await;
    let token = sign(&keys().ed, &claims(&issuer.url));
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let reply = get(&app, "/api/v1/me", Some(&format!("{scheme} {token}"))).await;
        assert_eq!(reply.status, StatusCode::OK, "{scheme}");
    }
}

#[actix_web::test]
async fn an_invalid_token_gets_the_exact_challenge_and_problem() {
    let (issuer, app) = standard_app().await;
    let mut expired = claims(&issuer.url);
    expired["exp"] = json!(1_000_000);

    let reply = get(
        &app,
        "/api/v1/me",
        Some(&format!("Bearer {}", sign(&keys().ed, &expired))),
    )
    .await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            format!(
                r#"Bearer realm="{NAME}", resource_metadata="{METADATA}", error="invalid_token", error_description="token expired""#
            )
            .as_str()
        )
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        reply.body_without_request_id(),
        json!({
            "type": format!("tag:{NAME},2026:problems/invalid-token"),
            "title": "Unauthorized",
            "status": 401,
            "detail": "token expired",
            "error": "invalid_token",
            "error_description": "token expired",
        })
    );
}

#[actix_web::test]
async fn error_bodies_never_echo_the_token() {
    let (issuer, app) = standard_app().await;
    let mut forged = claims(&issuer.url);
    forged["sub"] = json!("SECRET-MARKER");
    let token = sign(&keys().rogue_rsa, &forged);
    let reply = get(&app, "/api/v1/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let text = reply.body.to_string();
    assert!(!text.contains("SECRET-MARKER") && !text.contains(&token[..20]));
}

#[actix_web::test]
async fn the_realm_is_configurable() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[("APP__AUTH__REALM", "orders")])).await;
    let app = service!(state);
    let reply = get(&app, "/api/v1/me", None).await;
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with(r#"Bearer realm="orders""#)
    );
}

#[actix_web::test]
async fn two_authorization_headers_are_a_bad_request() {
    let (issuer, app) = standard_app().await;
    let token = sign(&keys().ed, &claims(&issuer.url));
    let request = actix_web::test::TestRequest::get()
        .uri("/api/v1/me")
        .append_header(("Authorization", format!("Bearer {token}")))
        .append_header(("Authorization", format!("Bearer {token}")));

    let reply = send(&app, request).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_description(), "multiple Authorization headers");
}
