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

/// A key file of its own for one test.
fn key_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("nonce-key-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[actix_web::test]
async fn replicas_sharing_a_nonce_key_accept_each_others_nonces() {
    let issuer = TestIssuer::start(standard_jwks());
    let shared = key_file("shared", b"0123456789abcdef0123456789abcdef\n");
    let shared_path = shared.to_str().unwrap();
    let replica = |key_file: Option<&str>| {
        let mut vars = vec![
            ("APP__AUTH__DPOP_NONCE_LIFETIME_SECONDS", "60"),
            ("APP__AUTH__DPOP_NONCE_SECRET_WITHOUT_SHARED_STORE", "true"),
        ];
        vars.extend(key_file.map(|path| ("APP__AUTH__DPOP_NONCE_SECRET_FILE", path)));
        settings(&issuer.url, &vars)
    };
    let first = crate::common::state(&replica(Some(shared_path))).await;
    let second = crate::common::state(&replica(Some(shared_path))).await;
    let apart = crate::common::state(&replica(None)).await;
    let (first, second, apart) = (service!(first), service!(second), service!(apart));

    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let asked = send(
        &first,
        dpop_request(&token, &[&key.proof("GET", ME, &token, json!({}))]),
    )
    .await;
    assert_eq!(asked.status, StatusCode::UNAUTHORIZED);
    let nonce = asked.header("dpop-nonce").unwrap().to_owned();
    let with_nonce = || key.proof("GET", ME, &token, json!({ "nonce": nonce }));
    assert_eq!(
        send(&second, dpop_request(&token, &[&with_nonce()]))
            .await
            .status,
        StatusCode::OK,
        "a nonce of one replica is accepted at the other"
    );
    let refused = send(&apart, dpop_request(&token, &[&with_nonce()])).await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "a replica with its own key"
    );
    let _ = std::fs::remove_file(&shared);
}

#[test]
fn a_nonce_key_is_refused_short_alone_or_without_a_shared_replay_store() {
    let files = [key_file("short", &[7u8; 31]), key_file("long", &[7u8; 32])];
    let [short, long] = files.each_ref().map(|path| path.to_str().unwrap());
    let base = [
        ("APP__AUTH__ISSUER", "https://issuer.example"),
        ("APP__AUTH__AUDIENCE", crate::common::AUDIENCE),
        ("APP__AUTH__DPOP_NONCE_LIFETIME_SECONDS", "60"),
    ];
    let opted_in = ("APP__AUTH__DPOP_NONCE_SECRET_WITHOUT_SHARED_STORE", "true");
    for (vars, key, problem) in [
        (
            vec![("APP__AUTH__DPOP_NONCE_SECRET_FILE", long)],
            "APP__AUTH__DPOP_NONCE_SECRET_FILE",
            "replayed",
        ),
        (
            vec![("APP__AUTH__DPOP_NONCE_SECRET_FILE", short), opted_in],
            "APP__AUTH__DPOP_NONCE_SECRET_FILE",
            "shorter than 32 bytes",
        ),
        (
            vec![
                ("APP__AUTH__DPOP_NONCE_SECRET_FILE", long),
                ("APP__AUTH__DPOP_NONCE_SECRET_PREVIOUS_FILE", short),
                opted_in,
            ],
            "APP__AUTH__DPOP_NONCE_SECRET_FILE",
            "shorter than 32 bytes",
        ),
        (
            vec![("APP__AUTH__DPOP_NONCE_SECRET_PREVIOUS_FILE", long)],
            "APP__AUTH__DPOP_NONCE_SECRET_PREVIOUS_FILE",
            "without a current key",
        ),
        (
            vec![
                ("APP__AUTH__DPOP_NONCE_SECRET_FILE", "/nonexistent/key"),
                opted_in,
            ],
            "APP__AUTH__DPOP_NONCE_SECRET_FILE",
            "cannot be read",
        ),
    ] {
        let mut all = base.to_vec();
        all.extend(vars);
        let error = load_with_profile("", &all).unwrap_err();
        assert_eq!(error.key(), key, "{error}");
        assert!(error.to_string().contains(problem), "{error}");
    }
    let mut shared_store = base.to_vec();
    shared_store.extend([
        ("APP__AUTH__DPOP_NONCE_SECRET_FILE", long),
        ("APP__AUTH__DPOP_REPLAY_STORE", "redis"),
        ("APP__REDIS__URL", "redis://127.0.0.1:6379"),
    ]);
    assert!(load_with_profile("", &shared_store).is_ok());
    let mut nonces_off = shared_store.clone();
    nonces_off.retain(|(var, _)| *var != "APP__AUTH__DPOP_NONCE_LIFETIME_SECONDS");
    assert_eq!(
        load_with_profile("", &nonces_off).unwrap_err().key(),
        "APP__AUTH__DPOP_NONCE_SECRET_FILE"
    );
    for file in &files {
        let _ = std::fs::remove_file(file);
    }
}
