//! Which published key verifies a token: chosen by the token's key name (`kid`, else a
//! certificate thumbprint) and its algorithm together, as issuers actually publish keys; and
//! what happens when the issuer renews a key or rotates one in while requests are arriving.

use std::time::Duration;

use actix_web::http::StatusCode;
use futures_util::future::join_all;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use crate::common::{
    SHORT_LIFETIMES, TestIssuer, b64, claims, eventually, get, keys, me, metric, rsa_key, settings,
    sign, sign_as, sign_with_header, standard_jwks, state,
};
use crate::service;

/// `jwk` published under another kid, with extra members.
fn published(jwk: &Value, kid: &str, extra: Value) -> Value {
    let mut jwk = jwk.clone();
    jwk["kid"] = json!(kid);
    for (name, value) in extra.as_object().unwrap() {
        jwk[name] = value.clone();
    }
    jwk
}

#[actix_web::test]
async fn one_rsa_key_published_once_per_algorithm_verifies_each_of_them() {
    let rsa = &keys().rsa;
    let entries: Vec<Value> = ["RS256", "RS384", "RS512"]
        .iter()
        .map(|alg| published(&rsa.jwk, "multi", json!({ "alg": alg, "use": "sig" })))
        .collect();
    let issuer = TestIssuer::start(json!({ "keys": entries }));
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    for alg in [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512] {
        let token = sign_as(rsa, alg, Some("multi"), &claims(&issuer.url));
        let reply = me(&app, &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{alg:?}: {}", reply.body);
    }
    let ps256 = sign_as(rsa, Algorithm::PS256, Some("multi"), &claims(&issuer.url));
    assert_eq!(
        me(&app, &ps256).await.error_description(),
        "algorithm does not match key",
        "each entry verifies only its own `alg`"
    );
    let report = &get(&app, "/ready", None).await.body["issuers"][0];
    assert_eq!(report["skipped"], json!([]), "no duplicate-kid warning");
    assert_eq!(report["kids"], json!(["multi"]));
    assert_eq!(report["keys"], 3);
}

#[actix_web::test]
async fn keys_of_different_types_under_one_kid_each_verify_their_own_algorithm() {
    let keys = keys();
    let issuer = TestIssuer::start(json!({ "keys": [
        published(&keys.rsa.jwk, "shared", json!({})),
        published(&keys.ec.jwk, "shared", json!({})),
        published(&keys.ed.jwk, "shared", json!({})),
    ] }));
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    for key in [&keys.rsa, &keys.ec, &keys.ed] {
        let token = sign_as(key, key.alg, Some("shared"), &claims(&issuer.url));
        let reply = me(&app, &token).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{:?}: {}",
            key.alg,
            reply.body
        );
    }
    let ready = get(&app, "/ready", None).await;
    assert_eq!(ready.body["issuers"][0]["skipped"], json!([]));
}

#[actix_web::test]
async fn identical_entries_are_one_key() {
    let issuer = TestIssuer::start(json!({ "keys": [keys().ed.jwk, keys().ed.jwk] }));
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    assert_eq!(
        me(&app, &sign(&keys().ed, &claims(&issuer.url)))
            .await
            .status,
        StatusCode::OK
    );
    let report = &get(&app, "/ready", None).await.body["issuers"][0];
    assert_eq!(
        (report["keys"].clone(), report["skipped"].clone()),
        (json!(1), json!([]))
    );
}

/// A certificate thumbprint as issuers publish it: base64url of a SHA-1 (20 bytes) or SHA-256.
fn thumbprint(seed: u8, len: usize) -> String {
    b64(vec![seed; len])
}

fn header_with(alg: Algorithm, x5t: Option<String>, x5t_s256: Option<String>) -> Header {
    let mut header = Header::new(alg);
    header.x5t = x5t;
    header.x5t_s256 = x5t_s256;
    header
}

#[actix_web::test]
async fn a_token_naming_its_key_only_by_thumbprint_verifies_with_that_key() {
    let keys = keys();
    let adfs_x5t = thumbprint(1, 20);
    let other_x5t = thumbprint(2, 20);
    let s256 = thumbprint(3, 32);
    // AD FS publishes kid = x5t; another issuer names its key by `x5t#S256` only.
    let issuer = TestIssuer::start(json!({ "keys": [
        published(&keys.rsa.jwk, &adfs_x5t, json!({ "x5t": adfs_x5t, "alg": "RS256", "use": "sig", "x5c": ["MIIC"] })),
        published(&keys.rogue_rsa.jwk, "other", json!({ "x5t": other_x5t, "x5t#S256": s256, "alg": "RS256" })),
    ] }));
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    let adfs = header_with(Algorithm::RS256, Some(adfs_x5t.clone()), None);
    let reply = me(
        &app,
        &sign_with_header(&adfs, &keys.rsa, &claims(&issuer.url)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let by_s256 = header_with(Algorithm::RS256, None, Some(s256));
    let reply = me(
        &app,
        &sign_with_header(&by_s256, &keys.rogue_rsa, &claims(&issuer.url)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let by_x5t = header_with(Algorithm::RS256, Some(other_x5t.clone()), None);
    let forged = sign_with_header(&by_x5t, &keys.rsa, &claims(&issuer.url));
    assert_eq!(
        me(&app, &forged).await.error_description(),
        "invalid signature"
    );

    let unknown = header_with(Algorithm::RS256, Some(thumbprint(9, 20)), None);
    let reply = me(
        &app,
        &sign_with_header(&unknown, &keys.rsa, &claims(&issuer.url)),
    )
    .await;
    assert_eq!(reply.error_description(), "unknown signing key");

    let mut with_chain = header_with(Algorithm::RS256, Some(adfs_x5t), None);
    with_chain.x5c = Some(vec!["MIIC".to_owned()]);
    let reply = me(
        &app,
        &sign_with_header(&with_chain, &keys.rsa, &claims(&issuer.url)),
    )
    .await;
    assert_eq!(reply.error_description(), "embedded keys are not accepted");
}

#[actix_web::test]
async fn a_key_renewed_under_the_same_kid_verifies_after_one_refetch() {
    let old = rsa_key("renewed");
    let new = rsa_key("renewed");
    let issuer = TestIssuer::start(json!({ "keys": [old.jwk] }));
    let cooldown = [("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "60")];
    let state = state(&settings(&issuer.url, &cooldown)).await;
    let app = service!(state);
    issuer.set_jwks(json!({ "keys": [new.jwk] }));

    let reply = me(&app, &sign(&new, &claims(&issuer.url))).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(issuer.jwks_hits(), 2, "the initial fetch and one refetch");
    assert_eq!(
        me(&app, &sign(&old, &claims(&issuer.url)))
            .await
            .error_description(),
        "invalid signature",
        "the old key is gone, and the cooldown allows no second refetch"
    );
    assert_eq!(issuer.jwks_hits(), 2);
}

#[actix_web::test]
async fn bad_signatures_on_a_known_kid_in_bulk_cost_at_most_one_fetch_per_cooldown() {
    let issuer = TestIssuer::start(standard_jwks());
    let cooldown = [("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "60")];
    let state = state(&settings(&issuer.url, &cooldown)).await;
    let app = service!(state);
    let forged: Vec<String> = (0..200)
        .map(|n| {
            let mut claims = claims(&issuer.url);
            claims["jti"] = json!(n);
            sign_as(
                &keys().rogue_rsa,
                Algorithm::RS256,
                Some(&keys().rsa.kid),
                &claims,
            )
        })
        .collect();

    let statuses = crate::common::concurrently(&app, forged).await;

    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    assert_eq!(issuer.jwks_hits(), 2, "the initial fetch and one refetch");
}

#[actix_web::test]
async fn requests_arriving_during_a_slow_refetch_wait_for_it_and_all_verify() {
    let issuer = TestIssuer::start(standard_jwks());
    let cooldown = [("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "30")];
    let state = state(&settings(&issuer.url, &cooldown)).await;
    let app = service!(state);
    let rotated = rsa_key("rotated-in");
    let mut jwks = standard_jwks();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(rotated.jwk.clone());
    issuer.set_jwks(jwks);
    issuer.set_delay(Duration::from_secs(1));
    let tokens: Vec<String> = (0..50)
        .map(|n| {
            let mut claims = claims(&issuer.url);
            claims["jti"] = json!(n);
            sign(&rotated, &claims)
        })
        .collect();

    let statuses = crate::common::concurrently(&app, tokens).await;

    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(
        issuer.jwks_hits(),
        2,
        "the initial fetch and one shared refetch"
    );
}

#[actix_web::test]
async fn a_kid_a_refetch_missed_verifies_once_the_cooldown_has_passed() {
    let issuer = TestIssuer::start(standard_jwks());
    let cooldown = [("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "1")];
    let state = state(&settings(&issuer.url, &cooldown)).await;
    let app = service!(state);
    let early = rsa_key("early");
    let token = sign(&early, &claims(&issuer.url));
    // A cache in front of the issuer still serves the old set when the new key is first used.
    assert_eq!(
        me(&app, &token).await.error_description(),
        "unknown signing key"
    );
    let mut jwks = standard_jwks();
    jwks["keys"].as_array_mut().unwrap().push(early.jwk.clone());
    issuer.set_jwks(jwks);
    assert_eq!(
        me(&app, &token).await.error_description(),
        "unknown signing key",
        "within the cooldown"
    );

    tokio::time::sleep(Duration::from_millis(1050)).await;

    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_hits(), 3);
}

#[actix_web::test]
async fn verified_tokens_stay_cached_across_a_refresh_that_changed_no_key() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &SHORT_LIFETIMES)).await;
    let app = service!(state);
    let token = sign(&keys().ed, &claims(&issuer.url));
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    let hits = r#"token_cache_lookups_total{result="hit"}"#;
    let misses = r#"token_cache_lookups_total{result="miss"}"#;

    eventually("two refreshes", || issuer.jwks_hits() >= 3).await;
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);

    assert_eq!(metric(&app, hits).await, 1.0);
    assert_eq!(metric(&app, misses).await, 1.0, "only the first use missed");
}

#[actix_web::test]
async fn a_miss_during_a_fetch_that_left_before_its_key_was_published_fetches_again() {
    let issuer = TestIssuer::start(standard_jwks());
    let cooldown = [("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "30")];
    let state = state(&settings(&issuer.url, &cooldown)).await;
    let app = service!(state);
    issuer.set_delay(Duration::from_millis(400));
    let store = std::sync::Arc::clone(state.stores().next().unwrap());
    let scheduled = actix_web::rt::spawn(async move { store.refresh().await });
    eventually("the scheduled fetch is under way", || {
        issuer.jwks_hits() == 2
    })
    .await;
    let late = rsa_key("published-during-the-fetch");
    let mut jwks = standard_jwks();
    jwks["keys"].as_array_mut().unwrap().push(late.jwk.clone());
    issuer.set_jwks(jwks);

    let reply = me(&app, &sign(&late, &claims(&issuer.url))).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        issuer.jwks_hits(),
        3,
        "the fetch under way, then one of its own"
    );
    scheduled.await.unwrap().unwrap();
}

#[actix_web::test]
async fn a_key_declaring_its_alg_verifies_that_algorithm_alone() {
    let keys = keys();
    let declared = [
        (&keys.rsa, Algorithm::RS256, "RS256"),
        (&keys.rsa, Algorithm::RS384, "RS384"),
        (&keys.rsa, Algorithm::RS512, "RS512"),
        (&keys.rsa, Algorithm::PS256, "PS256"),
        (&keys.rsa, Algorithm::PS384, "PS384"),
        (&keys.rsa, Algorithm::PS512, "PS512"),
        (&keys.ec, Algorithm::ES256, "ES256"),
        (&keys.ec384, Algorithm::ES384, "ES384"),
        (&keys.ed, Algorithm::EdDSA, "EdDSA"),
    ];
    let entries: Vec<Value> = declared
        .iter()
        .map(|(key, _, name)| published(&key.jwk, name, json!({ "alg": name })))
        .collect();
    let issuer = TestIssuer::start(json!({ "keys": entries }));
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    for (key, alg, name) in declared {
        let token = sign_as(key, alg, Some(name), &claims(&issuer.url));
        let reply = me(&app, &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.body);
    }
    let other = sign_as(
        &keys.rsa,
        Algorithm::RS256,
        Some("PS256"),
        &claims(&issuer.url),
    );
    assert_eq!(
        me(&app, &other).await.error_description(),
        "algorithm does not match key"
    );
    let ready = get(&app, "/ready", None).await;
    assert_eq!(ready.body["issuers"][0]["skipped"], json!([]));
}

#[actix_web::test]
async fn across_the_real_servers_workers_a_rotation_refuses_no_valid_request() {
    let issuer = TestIssuer::start(standard_jwks());
    let overrides = [
        ("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "30"),
        ("APP__SERVER__WORKERS", "2"),
    ];
    let base = crate::common::serve_until_ready(settings(&issuer.url, &overrides)).await;
    let client = reqwest::Client::new();
    let rotated = rsa_key("rotated-under-load");
    let mut jwks = standard_jwks();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(rotated.jwk.clone());
    issuer.set_jwks(jwks);
    issuer.set_delay(Duration::from_millis(300));

    let requests = (0..100).map(|n| {
        let mut claims = claims(&issuer.url);
        claims["jti"] = json!(n);
        let request = client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(sign(&rotated, &claims));
        async move { request.send().await.map(|r| r.status().as_u16()) }
    });
    let statuses: Vec<u16> = join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        issuer.jwks_hits(),
        2,
        "the initial fetch and one shared refetch"
    );
}

#[actix_web::test]
async fn refreshes_asked_for_during_a_fetch_share_the_next_one() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[])).await;
    issuer.set_delay(Duration::from_millis(300));
    let store = state.stores().next().unwrap();
    let spawn_refresh = || {
        let store = std::sync::Arc::clone(store);
        actix_web::rt::spawn(async move { store.refresh().await })
    };
    let under_way = spawn_refresh();
    eventually("the first fetch is under way", || issuer.jwks_hits() == 2).await;

    let waiting = [spawn_refresh(), spawn_refresh(), spawn_refresh()];
    under_way.await.unwrap().unwrap();
    for refresh in waiting {
        refresh.await.unwrap().unwrap();
    }

    assert_eq!(
        issuer.jwks_hits(),
        3,
        "the initial fetch, the one under way, and one shared by the three that waited"
    );
}
