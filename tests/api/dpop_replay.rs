//! The DPoP replay store never forgets a proof inside its window: proofs refused for any reason
//! do not fill it, and when it is full a new proof is refused with 503 and `Retry-After` while
//! every remembered one stays refused, until the windows close and room returns.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::json;

use crate::common::{TestIssuer, metric, send, settings, standard_jwks, state};
use crate::dpop::{ClientKey, ME, bound_token, dpop_request};
use crate::service;

#[actix_web::test]
async fn a_full_store_refuses_new_proofs_and_still_refuses_every_replay() {
    let issuer = TestIssuer::start(standard_jwks());
    // A 20 s window (max age, no skew) and room for exactly one proof a second of it.
    let small = [
        ("APP__AUTH__DPOP_PROOF_MAX_AGE_SECONDS", "20"),
        ("APP__AUTH__DPOP_PROOF_MAX_SKEW_SECONDS", "0"),
        ("APP__AUTH__DPOP_REPLAY_CACHE_SIZE", "20"),
    ];
    let state = state(&settings(&issuer.url, &small)).await;
    let app = service!(state);
    let victim = ClientKey::new();
    let token = bound_token(&issuer.url, &victim);
    let captured = victim.proof("GET", ME, &token, json!({}));
    let accepted = send(&app, dpop_request(&token, &[&captured])).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);

    // A thief's proofs for the victim's token are refused for their key and use up nothing.
    let thief = ClientKey::new();
    for _ in 0..40 {
        let stolen = thief.proof("GET", ME, &token, json!({}));
        let reply = send(&app, dpop_request(&token, &[&stolen])).await;
        assert_eq!(reply.error_description(), "token is bound to another key");
    }
    // The attacker's own bound token and key fill the store's other 19 places.
    let attacker = ClientKey::new();
    let own = bound_token(&issuer.url, &attacker);
    for n in 0..19 {
        let proof = attacker.proof("GET", ME, &own, json!({}));
        let reply = send(&app, dpop_request(&own, &[&proof])).await;
        assert_eq!(reply.status, StatusCode::OK, "proof {n}: {}", reply.body);
    }

    for _ in 0..3 {
        let flood = attacker.proof("GET", ME, &own, json!({}));
        let full = send(&app, dpop_request(&own, &[&flood])).await;
        assert_eq!(
            full.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            full.body
        );
        assert_eq!(
            full.header("content-type"),
            Some("application/problem+json")
        );
        let retry_after: u64 = full.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=21).contains(&retry_after), "{retry_after}");
        assert_eq!(full.body["status"], 503);

        let replayed = send(&app, dpop_request(&token, &[&captured])).await;
        assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
        assert_eq!(replayed.error_description(), "DPoP proof already used");
    }
    assert_eq!(metric(&app, "dpop_replay_store_full_total").await, 3.0);
}

#[actix_web::test]
async fn room_returns_as_windows_close_and_a_closed_proof_is_stale() {
    let issuer = TestIssuer::start(standard_jwks());
    let tiny = [
        ("APP__AUTH__DPOP_PROOF_MAX_AGE_SECONDS", "1"),
        ("APP__AUTH__DPOP_PROOF_MAX_SKEW_SECONDS", "0"),
        ("APP__AUTH__DPOP_REPLAY_CACHE_SIZE", "1"),
    ];
    let state = state(&settings(&issuer.url, &tiny)).await;
    let app = service!(state);
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let first = key.proof("GET", ME, &token, json!({}));
    assert_eq!(
        send(&app, dpop_request(&token, &[&first])).await.status,
        StatusCode::OK
    );
    let second = key.proof("GET", ME, &token, json!({}));
    let full = send(&app, dpop_request(&token, &[&second])).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);

    // Past the one-second window (whole seconds, so up to three), the store has room again.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let later = key.proof("GET", ME, &token, json!({}));
    assert_eq!(
        send(&app, dpop_request(&token, &[&later])).await.status,
        StatusCode::OK
    );
    let replayed = send(&app, dpop_request(&token, &[&first])).await;
    assert_eq!(
        replayed.error_description(),
        "DPoP proof iat is outside the accepted window"
    );
}
