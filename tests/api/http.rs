//! HTTP behaviour on every path: each error as a problem, request ids, body limits and CORS.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{
    TestIssuer, claims, keys, send, settings, sign, standard_app, standard_jwks, state,
};
use crate::{probe_service, service};

fn bearer(request: TestRequest, token: &str) -> TestRequest {
    request.insert_header(("Authorization", format!("Bearer {token}")))
}

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let (issuer, app) = standard_app().await;

    let missing = send(&app, TestRequest::get().uri("/nowhere")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(missing.body["status"], 404);
    assert_eq!(missing.body["detail"], "no resource at this path");

    let wrong = send(&app, TestRequest::post().uri("/health")).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    assert_eq!(wrong.body["status"], 405);
    assert_eq!(
        wrong.body["detail"],
        "this resource does not support that method"
    );

    let token = sign(&keys().ed, &claims(&issuer.url));
    let wrong = send(
        &app,
        bearer(TestRequest::delete().uri("/api/v1/me"), &token),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
}

#[actix_web::test]
async fn head_answers_like_get_with_the_same_headers_and_no_body() {
    let issuer = TestIssuer::start(standard_jwks());
    let base = crate::common::serve_until_ready(settings(&issuer.url, &[])).await;
    let client = reqwest::Client::new();
    let token = sign(&keys().ed, &claims(&issuer.url));

    for (path, authorization) in [
        ("/health", None),
        ("/openapi.json", None),
        ("/api/v1/me", Some(format!("Bearer {token}"))),
        ("/api/v1/me", None),
    ] {
        let send = |method: reqwest::Method| {
            let request = client.request(method, format!("{base}{path}"));
            match &authorization {
                Some(value) => request.header("Authorization", value),
                None => request,
            }
            .send()
        };
        let get = send(reqwest::Method::GET).await.unwrap();
        let head = send(reqwest::Method::HEAD).await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        for name in ["content-type", "content-length", "www-authenticate"] {
            assert_eq!(
                head.headers().get(name),
                get.headers().get(name),
                "{path}: {name}"
            );
        }
        let get_body = get.bytes().await.unwrap();
        assert!(!get_body.is_empty(), "{path}: GET has a body");
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "{path}: HEAD has none"
        );
    }
}

#[actix_web::test]
async fn bad_json_bodies_get_413_415_and_400() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(
        &issuer.url,
        &[("APP__SERVER__MAX_JSON_BYTES", "64")],
    ))
    .await;
    let app = probe_service!(state);
    let token = sign(&keys().ed, &claims(&issuer.url));
    let post = || bearer(TestRequest::post().uri("/probe/echo"), &token);

    let small = send(&app, post().set_json(json!({"name": "x"}))).await;
    assert_eq!(
        (small.status, small.body),
        (StatusCode::OK, json!({"name": "x"}))
    );
    let large = send(&app, post().set_json(json!({"name": "x".repeat(100)}))).await;
    assert_eq!(large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(large.body["detail"], "the request body is too large");
    let wrong_type = send(
        &app,
        post()
            .insert_header(("content-type", "text/plain"))
            .set_payload("name=x"),
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        wrong_type.body["detail"],
        "the request body must be application/json"
    );
    let malformed = send(
        &app,
        post()
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"name\":"),
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        malformed.body["type"],
        format!(
            "tag:{},2026:problems/malformed-json",
            env!("CARGO_PKG_NAME")
        )
    );
    for reply in [large, wrong_type, malformed] {
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(reply.body["status"], reply.status.as_u16());
    }
}

#[actix_web::test]
async fn a_plain_text_error_leaves_as_the_problem_for_its_status_with_its_headers() {
    let issuer = TestIssuer::start(standard_jwks());
    let app = probe_service!(state(&settings(&issuer.url, &[])).await);
    let token = sign(&keys().ed, &claims(&issuer.url));

    let reply = send(
        &app,
        bearer(TestRequest::get().uri("/probe/plain"), &token)
            .insert_header(("x-request-id", "trace-7")),
    )
    .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.header("x-probe"), Some("kept"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        reply.body,
        json!({
            "type": format!("tag:{},2026:problems/bad-request", env!("CARGO_PKG_NAME")),
            "title": "Bad Request",
            "status": 400,
            "detail": "the request could not be understood",
            "request_id": "trace-7",
        })
    );
}

#[actix_web::test]
async fn the_request_id_is_taken_or_made_and_echoed_everywhere() {
    let (_issuer, app) = standard_app().await;

    let given = send(
        &app,
        TestRequest::get()
            .uri("/api/v1/me")
            .insert_header(("x-request-id", "trace-42")),
    )
    .await;
    assert_eq!(given.header("x-request-id"), Some("trace-42"));
    assert_eq!(given.body["request_id"], "trace-42");

    let made = send(&app, TestRequest::get().uri("/health")).await;
    let id = made.header("x-request-id").unwrap();
    assert_eq!(id.len(), 32);

    let forged = send(
        &app,
        TestRequest::get()
            .uri("/nowhere")
            .insert_header(("x-request-id", "a b\"c")),
    )
    .await;
    let replaced = forged.header("x-request-id").unwrap();
    assert_ne!(replaced, "a b\"c");
    assert_eq!(forged.body["request_id"], replaced);
}

/// A CORS preflight of `GET /api/v1/me` from `origin`.
fn preflight_from(origin: &str) -> TestRequest {
    TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/api/v1/me")
        .insert_header(("origin", origin))
        .insert_header(("access-control-request-method", "GET"))
}

#[actix_web::test]
async fn cors_preflight_on_a_protected_route_is_answered_without_a_challenge() {
    let issuer = TestIssuer::start(standard_jwks());
    let settings = settings(
        &issuer.url,
        &[("APP__CORS__ALLOWED_ORIGINS", "https://app.example.com")],
    );
    let state = state(&settings).await;
    let app = service!(state);

    let preflight = send(
        &app,
        preflight_from("https://app.example.com").insert_header((
            "access-control-request-headers",
            "authorization, content-type, dpop, traceparent, tracestate",
        )),
    )
    .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert!(preflight.header("www-authenticate").is_none());

    let foreign = send(&app, preflight_from("https://evil.example.net")).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        foreign.header("content-type"),
        Some("application/problem+json")
    );
    assert!(foreign.header("access-control-allow-origin").is_none());
    assert_eq!(foreign.body_without_request_id()["status"], 400);

    let rejected = send(
        &app,
        TestRequest::get()
            .uri("/api/v1/me")
            .insert_header(("origin", "https://app.example.com")),
    )
    .await;
    assert_eq!(rejected.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rejected.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert!(
        rejected
            .header("access-control-expose-headers")
            .unwrap()
            .contains("www-authenticate")
    );
    assert!(
        rejected
            .header("access-control-expose-headers")
            .unwrap()
            .contains("dpop-nonce")
    );
}

#[actix_web::test]
async fn cors_is_off_by_default() {
    let (_issuer, app) = standard_app().await;
    let reply = send(
        &app,
        TestRequest::get()
            .uri("/health")
            .insert_header(("origin", "https://app.example.com")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("access-control-allow-origin").is_none());
}
