//! The verified-token cache never outlives what made a token valid: its expiry, its key's
//! presence in the issuer's set, and the configuration it was verified under.

use std::time::Duration;

use actix_web::http::StatusCode;
use futures_util::future::join_all;
use jsonwebtoken::get_current_timestamp;
use serde_json::json;

use crate::common::{
    SHORT_LIFETIMES, TestIssuer, claims, eventually, keys, me, metric, rsa_key, settings, sign,
    standard_jwks, state,
};
use crate::service;

#[actix_web::test]
async fn a_cached_token_is_still_rejected_once_it_expires() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__LEEWAY_SECONDS", "0")],
    ))
    .await;
    let app = service!(state);
    let mut short = claims(&issuer.url);
    short["exp"] = json!(get_current_timestamp() + 1);
    let token = sign(&keys().ed, &short);
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    // Again and again: from the shared cache, then from this worker's own handle.
    for _ in 0..3 {
        assert_eq!(
            me(&app, &token).await.status,
            StatusCode::OK,
            "served again, from the cache"
        );
    }

    tokio::time::sleep(Duration::from_millis(2100)).await;

    assert_eq!(me(&app, &token).await.error_description(), "token expired");
}

#[actix_web::test]
async fn a_cached_token_stays_cached_across_a_refresh_that_added_a_key() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &SHORT_LIFETIMES)).await;
    let app = service!(state);
    let token = sign(&keys().ed, &claims(&issuer.url));
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);

    let mut jwks = standard_jwks();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(rsa_key("added").jwk);
    issuer.set_jwks(jwks);
    let store = state.stores().next().unwrap();
    eventually("the refreshed set holds the added key", || {
        store.status().kids.contains(&"added".to_owned())
    })
    .await;

    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    let hits = r#"token_cache_lookups_total{result="hit"}"#;
    assert_eq!(
        metric(&app, hits).await,
        1.0,
        "the key is looked up in the new set and still serves"
    );
}

#[actix_web::test]
async fn a_cached_token_is_rejected_once_its_key_leaves_the_set() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &SHORT_LIFETIMES)).await;
    let app = service!(state);
    let token = sign(&keys().ed, &claims(&issuer.url));
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);

    issuer.set_jwks(json!({ "keys": [keys().rsa.jwk] }));
    let store = state.stores().next().unwrap();
    eventually("the refreshed set drops the key", || {
        store.status().kids == ["rsa-1"]
    })
    .await;

    assert_eq!(
        me(&app, &token).await.error_description(),
        "unknown signing key"
    );
}

#[actix_web::test]
async fn across_the_real_servers_workers_a_token_each_holds_is_refused_once_its_key_leaves() {
    let issuer = TestIssuer::start(standard_jwks());
    let overrides = [
        SHORT_LIFETIMES[0],
        SHORT_LIFETIMES[1],
        ("APP__SERVER__WORKERS", "2"),
    ];
    let base = crate::common::serve_until_ready(settings(&issuer.url, &overrides)).await;
    let client = reqwest::Client::new();
    let token = sign(&keys().ed, &claims(&issuer.url));
    let statuses = |count: usize| {
        let requests = (0..count).map(|_| {
            let request = client.get(format!("{base}/api/v1/me")).bearer_auth(&token);
            async move { request.send().await.unwrap().status().as_u16() }
        });
        join_all(requests)
    };
    // Many at once, over many connections, so that both workers meet the token again and
    // again, and each answers it from a handle of its own.
    for _ in 0..3 {
        let answered = statuses(40).await;
        assert!(answered.iter().all(|s| *s == 200), "{answered:?}");
    }

    issuer.set_jwks(json!({ "keys": [keys().rsa.jwk] }));
    let mut refused = false;
    for _ in 0..300 {
        if statuses(1).await == [401] {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "never refused after its key left the set");

    let answered = statuses(40).await;
    assert!(
        answered.iter().all(|s| *s == 401),
        "no worker serves it from its handle: {answered:?}"
    );
}

#[actix_web::test]
async fn an_altered_token_never_hits_the_cache() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);
    let token = sign(&keys().rsa, &claims(&issuer.url));
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);

    let (signed, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let altered = format!("{signed}.{flipped}{}", &signature[1..]);

    assert_eq!(
        me(&app, &altered).await.error_description(),
        "invalid signature"
    );
}

#[actix_web::test]
async fn a_new_configuration_does_not_inherit_verifications() {
    let issuer = TestIssuer::start(standard_jwks());
    let token = sign(&keys().ed, &claims(&issuer.url));
    let before = state(&settings(&issuer.url, &[])).await;
    assert_eq!(me(&service!(before), &token).await.status, StatusCode::OK);

    let after = state(&settings(
        &issuer.url,
        &[("APP__AUTH__AUDIENCE", "api://other")],
    ))
    .await;

    assert_eq!(
        me(&service!(after), &token).await.error_description(),
        "audience mismatch"
    );
}

#[actix_web::test]
async fn many_large_tokens_at_once_are_remembered_within_the_byte_bound() {
    let issuer = TestIssuer::start(standard_jwks());
    let bound = 256 * 1024;
    let state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__TOKEN_CACHE_MAX_BYTES", &bound.to_string())],
    ))
    .await;
    let app = service!(state);
    // Entra ID-sized tokens: about 12 KB of groups each.
    let tokens: Vec<String> = (0..120)
        .map(|n| {
            let mut large = claims(&issuer.url);
            large["groups"] = (0..300)
                .map(|g| format!("{n:04}{g:04}-1c2d-4e5f-8a9b-0c1d2e3f"))
                .collect();
            sign(&keys().ed, &large)
        })
        .collect();

    for round in 0..2 {
        let statuses = crate::common::concurrently(&app, tokens.clone()).await;
        assert!(
            statuses.iter().all(|status| *status == StatusCode::OK),
            "round {round}: {statuses:?}"
        );
        let held = metric(&app, "token_cache_bytes").await;
        assert!(
            held > 0.0 && held <= bound as f64,
            "round {round}: {held} bytes"
        );
    }
    // Fewer than all of them fit, so some were verified again in the second round.
    assert!(metric(&app, r#"token_cache_lookups_total{result="miss"}"#).await > 120.0);
}
