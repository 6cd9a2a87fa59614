//! Starting the real server while the issuer is down: serve and answer 503 by default, or, when
//! configured to wait for keys, give up after the deadline.

use std::time::Duration;

use app::startup::{Application, StartupError};

use serde_json::json;

use crate::common::{
    TestIssuer, claims, dead_url, eventually, keys, service_binary, settings, sign_as,
    standard_jwks, wait_until_ready,
};

#[actix_web::test]
async fn with_the_issuer_down_the_server_starts_and_reports_health_but_not_readiness() {
    let application = Application::build(settings(&dead_url(), &[]))
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}", application.port());
    actix_web::rt::spawn(application.run_until_stopped());

    let health = reqwest::get(format!("{url}/health")).await.unwrap();
    let ready = reqwest::get(format!("{url}/ready")).await.unwrap();

    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 503);
}

#[actix_web::test]
async fn waiting_for_keys_gives_up_after_the_deadline() {
    let settings = settings(&dead_url(), &[("APP__AUTH__WAIT_FOR_KEYS_SECONDS", "1")]);
    let application = Application::build(settings).await.unwrap();

    let outcome = application.run_until_stopped().await;

    assert!(
        matches!(outcome, Err(StartupError::NoKeys(_))),
        "{outcome:?}"
    );
}

#[actix_web::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let issuer = TestIssuer::start(standard_jwks());
    let settings = settings(&issuer.url, &[("APP__SERVER__DRAIN_SECONDS", "5")]);
    let application = Application::build(settings).await.unwrap();
    let url = format!("http://127.0.0.1:{}/api/v1/me", application.port());
    let shutdown = application.shutdown();
    let draining = application.state().draining.clone();
    let store = application.state().stores().next().unwrap().clone();
    let serving = actix_web::rt::spawn(application.run_until_stopped());
    eventually("the keys load", || store.is_ready()).await;
    issuer.set_delay(Duration::from_millis(800));
    // An unknown kid makes the request wait on a slow refetch: it is in flight at shutdown.
    let token = sign_as(
        &keys().ed,
        keys().ed.alg,
        Some("rotated-in"),
        &claims(&issuer.url),
    );
    let in_flight = actix_web::rt::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
    });
    eventually("the request is in flight", || issuer.jwks_hits() >= 2).await;

    let stopping = actix_web::rt::spawn(async move { shutdown.begin().await });
    eventually("readiness turns off", || draining.is_set()).await;

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(
        response.status(),
        401,
        "it got the answer it would have had"
    );
    stopping.await.unwrap();
    assert!(serving.await.unwrap().is_ok(), "the server stops cleanly");
}

#[actix_web::test]
async fn readiness_answers_503_while_draining() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = crate::common::state(&settings(&issuer.url, &[])).await;
    let app = crate::service!(state);
    state.draining.set();

    let ready = crate::common::get(&app, "/ready", None).await;

    assert_eq!(
        ready.status,
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(ready.body["status"], "draining");
}

#[actix_web::test]
async fn a_12_kb_token_with_many_groups_passes_the_real_server() {
    let issuer = TestIssuer::start(standard_jwks());
    let base = crate::common::serve_until_ready(settings(&issuer.url, &[])).await;
    let mut entra = claims(&issuer.url);
    // Entra ID caps `groups` at 200 object ids in a JWT.
    entra["groups"] = (0..200)
        .map(|n| format!("{n:08x}-1c2d-4e5f-8a9b-0c1d2e3f4a5b"))
        .collect();
    let token = sign_as(&keys().rsa, keys().rsa.alg, Some(&keys().rsa.kid), &entra);
    assert!((10_000..16_384).contains(&token.len()), "{}", token.len());

    let response = reqwest::Client::new()
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

#[actix_web::test]
async fn a_request_refused_for_want_of_keys_is_logged_at_warn_and_a_bad_token_is_not() {
    let issuer = dead_url();
    let (mut server, base) = service_binary(&issuer, &[("RUST_LOG", "warn")]);
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let token = sign_as(
        &keys().ed,
        keys().ed.alg,
        Some(&keys().ed.kid),
        &claims(&issuer),
    );
    let unavailable = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let malformed = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    let log = server.stop();

    assert_eq!(
        (unavailable.status().as_u16(), malformed.status().as_u16()),
        (503, 401)
    );
    assert!(
        log.contains("rejected: signing keys are not available"),
        "{log}"
    );
    assert!(!log.contains("rejected: malformed token"), "{log}");
}

#[actix_web::test]
async fn a_kid_from_the_issuer_is_escaped_in_the_log_and_starts_no_line() {
    let mut jwks = standard_jwks();
    jwks["keys"].as_array_mut().unwrap().push(json!({
        "kty": "oct", "kid": "bad\n[ERROR] forged line\r\u{1b}[31m", "k": "c2VjcmV0"
    }));
    let issuer = TestIssuer::start(jwks);
    let (mut server, base) = service_binary(&issuer.url, &[("RUST_LOG", "warn")]);
    wait_until_ready(&base).await;
    let log = server.stop();

    assert!(
        log.contains(r#"skipped JWKS key "bad\n[ERROR] forged line\r\u{1b}[31m""#),
        "{log}"
    );
    assert!(
        log.lines().all(|line| !line.starts_with("[ERROR] forged")),
        "{log}"
    );
    assert!(!log.contains('\r') && !log.contains('\u{1b}'), "{log}");
}
