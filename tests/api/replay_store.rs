//! The DPoP replay store shared by replicas (`APP__AUTH__DPOP_REPLAY_STORE=redis`) when it
//! does not answer: DPoP requests fail closed with 503 and `Retry-After`, never accepted
//! without the replay check and never a 500; bearer requests never ask the store; a store never
//! reached keeps the replica not ready. A store that answers is proven with a real Redis by
//! `make test-cluster`.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use serde_json::json;

use crate::common::{
    TestIssuer, claims, dead_url, get, keys, load_with_profile, me, metric, send, settings, sign,
    standard_jwks,
};
use crate::dpop::{ClientKey, ME, bound_token, dpop_request};
use crate::service;

/// A TCP server on 127.0.0.1 that accepts connections and never answers, as a hung store.
fn silent_store() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "redis://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    (listener, url)
}

#[actix_web::test]
async fn a_store_that_never_answers_fails_dpop_closed_and_leaves_bearer_alone() {
    let issuer = TestIssuer::start(standard_jwks());
    let (_held, silent) = silent_store();
    let down = dead_url().replace("http://", "redis://");
    for url in [silent, down] {
        let settings = settings(
            &issuer.url,
            &[
                ("APP__AUTH__DPOP_REPLAY_STORE", "redis"),
                ("APP__REDIS__URL", &url),
                ("APP__REDIS__TIMEOUT_MS", "200"),
            ],
        );
        let state = crate::common::state(&settings).await;
        let app = service!(state);

        let key = ClientKey::new();
        let token = bound_token(&issuer.url, &key);
        let requests = (0..4).map(|_| {
            let proof = key.proof("GET", ME, &token, json!({}));
            send(&app, dpop_request(&token, &[&proof]))
        });
        let started = Instant::now();
        for reply in futures_util::future::join_all(requests).await {
            assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{url}");
            assert_eq!(reply.header("retry-after"), Some("1"));
            assert_eq!(
                reply.header("content-type"),
                Some("application/problem+json")
            );
            assert_eq!(reply.body["status"], 503);
            assert!(
                !reply.body.to_string().contains("127.0.0.1"),
                "no internals: {}",
                reply.body
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "requests waited on the store beyond its timeout: {:?}",
            started.elapsed()
        );
        let bearer = sign(&keys().ed, &claims(&issuer.url));
        assert_eq!(me(&app, &bearer).await.status, StatusCode::OK, "{url}");
        assert!(metric(&app, "dpop_replay_store_errors_total").await >= 4.0);

        let ready = get(&app, "/ready", None).await;
        assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE, "{url}");
        assert_eq!(
            ready.body["reason"],
            "the DPoP replay store (redis) has not been reached"
        );
        assert_eq!(ready.body["dpop_replay_store"]["status"], "unreached");
    }
}

#[test]
fn a_shared_store_without_a_usable_url_stops_startup_naming_the_setting() {
    let base = [
        ("APP__AUTH__ISSUER", "https://issuer.example"),
        ("APP__AUTH__AUDIENCE", crate::common::AUDIENCE),
    ];
    for (vars, key) in [
        (
            vec![("APP__AUTH__DPOP_REPLAY_STORE", "redis")],
            "APP__REDIS__URL",
        ),
        (
            vec![
                ("APP__AUTH__DPOP_REPLAY_STORE", "redis"),
                ("APP__REDIS__URL", "http://admin:hunter2@cache.example"),
            ],
            "APP__REDIS__URL",
        ),
        (
            vec![
                ("APP__AUTH__DPOP_REPLAY_STORE", "redis"),
                ("APP__REDIS__URL", "redis://cache.example"),
                ("APP__REDIS__TIMEOUT_MS", "0"),
            ],
            "APP__REDIS__TIMEOUT_MS",
        ),
        (
            vec![("APP__AUTH__DPOP_REPLAY_STORE", "memcached")],
            "APP__AUTH__DPOP_REPLAY_STORE",
        ),
    ] {
        let mut all = base.to_vec();
        all.extend(vars);
        let error = load_with_profile("", &all).unwrap_err();
        assert_eq!(error.key(), key, "{error}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
    let mut shared = base.to_vec();
    shared.extend([
        ("APP__AUTH__DPOP_REPLAY_STORE", "redis"),
        (
            "APP__REDIS__URL",
            "rediss://user:secret@cache.example:6380/2",
        ),
    ]);
    assert!(load_with_profile("", &shared).is_ok());
}
