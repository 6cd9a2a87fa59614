//! `/metrics` after a known sequence of requests: the counters say exactly what happened, and
//! no label carries a raw path, a kid or a subject.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::common::{
    TestIssuer, claims, get, keys, me, metric, sample, settings, sign, sign_as, standard_jwks,
    state, token_with_scope,
};
use crate::{probe_service, service};

#[actix_web::test]
async fn counters_follow_a_known_sequence_of_requests() {
    let issuer = TestIssuer::start(standard_jwks());
    // A cooldown, so the second sighting of a bogus kid is refused rather than refetched.
    let cooldown = [("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "60")];
    let state = state(&settings(&issuer.url, &cooldown)).await;
    let app = probe_service!(state);
    let good = sign(&keys().ed, &claims(&issuer.url));
    let mut expired = claims(&issuer.url);
    expired["exp"] = json!(1_000_000);
    let bogus_kid = sign_as(
        &keys().ed,
        keys().ed.alg,
        Some("bogus-kid-123"),
        &claims(&issuer.url),
    );

    assert_eq!(me(&app, &good).await.status, StatusCode::OK);
    assert_eq!(me(&app, &good).await.status, StatusCode::OK);
    me(&app, &sign(&keys().ed, &expired)).await;
    me(&app, &bogus_kid).await;
    me(&app, &bogus_kid).await;
    let other_scope = token_with_scope(&issuer.url, "other:read");
    for path in ["/probe/scoped/some-id", "/probe/scoped/raw-path-7"] {
        get(&app, path, Some(&format!("Bearer {other_scope}"))).await;
    }

    let scrape = actix_web::test::TestRequest::get()
        .uri("/metrics")
        .to_request();
    let response = actix_web::test::call_service(&app, scrape).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(actix_web::test::read_body(response).await.to_vec()).unwrap();

    let per_issuer =
        |name: &str, more: &str| [name, "{issuer=\"", &issuer.url, "\"", more, "}"].concat();
    assert_eq!(
        sample(&text, r#"auth_outcomes_total{outcome="accepted"}"#),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"auth_outcomes_total{outcome="token_expired"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"auth_outcomes_total{outcome="unknown_signing_key"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"auth_outcomes_total{outcome="insufficient_scope"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, &per_issuer("jwks_fetches_total", ",outcome=\"ok\"")),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, &per_issuer("jwks_unknown_kid_refetches_total", "")),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, &per_issuer("jwks_refetches_refused_total", "")),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, &per_issuer("jwks_keys_loaded", "")),
        Some(3.0)
    );
    // Hits: the second use of `good` and of `other_scope`.
    assert_eq!(
        sample(&text, r#"token_cache_lookups_total{result="hit"}"#),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{route="/api/v1/me",method="GET",status="200"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"http_request_duration_seconds_count{route="/api/v1/me",method="GET",status="200"}"#
        ),
        Some(2.0),
        "latency is recorded by route, method and status"
    );
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{route="/probe/scoped/{id}",method="GET",status="403"}"#
        ),
        Some(2.0)
    );
    for leaked in ["bogus-kid-123", "raw-path-7", "alice"] {
        assert!(!text.contains(leaked), "{leaked} leaked into a label");
    }
}

#[actix_web::test]
async fn metrics_can_move_to_their_own_port_and_leave_the_api_and_its_document() {
    let issuer = crate::common::TestIssuer::start(crate::common::standard_jwks());
    let settings = crate::common::settings(&issuer.url, &[("APP__SERVER__METRICS_PORT", "0")]);
    let application = app::startup::Application::build(settings).await.unwrap();
    let api = format!("http://127.0.0.1:{}", application.port());
    let metrics_port = application.metrics_port().expect("a metrics port");
    assert_ne!(metrics_port, application.port());
    let shutdown = application.shutdown();
    let serving = actix_web::rt::spawn(application.run_until_stopped());

    assert_eq!(
        reqwest::get(format!("{api}/health"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{api}/metrics"))
            .await
            .unwrap()
            .status(),
        404
    );
    let document = reqwest::get(format!("{api}/openapi.json")).await.unwrap();
    let document: serde_json::Value =
        serde_json::from_slice(&document.bytes().await.unwrap()).unwrap();
    assert!(document["paths"]["/health"].is_object());
    assert!(document["paths"].get("/metrics").is_none());

    let scrape = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    let text = scrape.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{route="/health",method="GET",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    let elsewhere = reqwest::get(format!("http://127.0.0.1:{metrics_port}/health"))
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        404,
        "the metrics port serves nothing else"
    );
    assert_eq!(
        elsewhere.headers()["content-type"],
        "application/problem+json"
    );
    let wrong_method = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        wrong_method.headers()["content-type"],
        "application/problem+json"
    );

    shutdown.begin().await;
    serving.await.unwrap().unwrap();
    assert!(
        reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .await
            .is_err(),
        "the metrics server stops with the API"
    );
}

#[actix_web::test]
async fn each_kind_of_refusal_is_counted_under_its_own_reason() {
    let issuer = TestIssuer::start(standard_jwks());
    let trusting = state(&settings(&issuer.url, &[])).await;
    let app = probe_service!(trusting);
    get(&app, "/api/v1/me", None).await;
    let no_role = sign(&keys().ed, &claims(&issuer.url));
    crate::probe::role(&app, &no_role).await;
    let down = crate::common::dead_url();
    let unavailable_state = state(&settings(&down, &[])).await;
    let unavailable = service!(unavailable_state);
    me(&unavailable, &sign(&keys().ed, &claims(&down))).await;

    let outcome = |reason: &str| format!(r#"auth_outcomes_total{{outcome="{reason}"}}"#);
    assert_eq!(metric(&app, &outcome("missing_bearer_token")).await, 1.0);
    assert_eq!(metric(&app, &outcome("insufficient_role")).await, 1.0);
    assert_eq!(
        metric(&unavailable, &outcome("signing_keys_are_not_available")).await,
        1.0
    );
}

#[actix_web::test]
async fn request_series_are_bounded_whatever_the_client_sends() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);
    for (method, path) in [
        ("BREW", "/health"),
        ("WHATEVER", "/health"),
        ("GET", "/no/such/path-91"),
        ("HEAD", "/health"),
    ] {
        let request = actix_web::test::TestRequest::default()
            .method(actix_web::http::Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path)
            .to_request();
        actix_web::test::call_service(&app, request).await;
    }

    let scrape = actix_web::test::TestRequest::get()
        .uri("/metrics")
        .to_request();
    let response = actix_web::test::call_service(&app, scrape).await;
    let text = String::from_utf8(actix_web::test::read_body(response).await.to_vec()).unwrap();
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{route="/health",method="other",status="405"}"#
        ),
        Some(2.0),
        "invented methods share one series"
    );
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{route="/health",method="HEAD",status="200"}"#
        ),
        Some(1.0)
    );
    for leaked in ["BREW", "WHATEVER", "path-91"] {
        assert!(!text.contains(leaked), "{leaked} leaked into a label");
    }
}
