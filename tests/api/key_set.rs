//! Where keys come from: one fetch serves many requests, unknown kids refetch within a
//! cooldown, unusable keys never verify, and an unreachable issuer is a 503, not a 401.

use actix_web::http::StatusCode;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{
    SHORT_LIFETIMES, TestIssuer, claims, dead_url, eventually, get, keys, me, metric, rsa_key,
    settings, sign, standard_app, standard_jwks, state,
};
use crate::service;

#[actix_web::test]
async fn one_fetch_serves_every_request() {
    let (issuer, app) = standard_app().await;
    let token = sign(&keys().ed, &claims(&issuer.url));
    for _ in 0..20 {
        assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    }
    assert_eq!(issuer.jwks_hits(), 1);
}

#[actix_web::test]
async fn an_unknown_kid_causes_exactly_one_refetch() {
    let (issuer, app) = standard_app().await;
    let token = crate::common::sign_as(
        &keys().ed,
        keys().ed.alg,
        Some("unknown"),
        &claims(&issuer.url),
    );

    let reply = me(&app, &token).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_description(), "unknown signing key");
    assert_eq!(issuer.jwks_hits(), 2, "the initial fetch and one refetch");
}

#[actix_web::test]
async fn a_rotated_in_key_verifies_on_the_request_that_first_uses_it() {
    let (issuer, app) = standard_app().await;
    let new_key = rsa_key("rsa-next");
    let mut jwks = standard_jwks();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(new_key.jwk.clone());
    issuer.set_jwks(jwks);

    let reply = me(&app, &sign(&new_key, &claims(&issuer.url))).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(issuer.jwks_hits(), 2);
}

#[actix_web::test]
async fn unknown_kids_refetch_at_most_once_per_cooldown() {
    let issuer = TestIssuer::start(standard_jwks());
    let settings = settings(
        &issuer.url,
        &[("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "60")],
    );
    let state = state(&settings).await;
    let app = service!(state);
    for kid in ["bogus-1", "bogus-2", "bogus-3"] {
        let token =
            crate::common::sign_as(&keys().ed, keys().ed.alg, Some(kid), &claims(&issuer.url));
        assert_eq!(
            me(&app, &token).await.error_description(),
            "unknown signing key"
        );
    }
    assert_eq!(
        issuer.jwks_hits(),
        2,
        "the initial fetch and a single refetch"
    );
}

#[actix_web::test]
async fn an_encryption_key_never_verifies() {
    let enc_key = rsa_key("enc-1");
    let mut enc_jwk = enc_key.jwk.clone();
    enc_jwk["use"] = json!("enc");
    let mut ops_jwk = rsa_key("ops-1").jwk;
    ops_jwk["key_ops"] = json!(["encrypt"]);
    let issuer = TestIssuer::start(json!({ "keys": [keys().ed.jwk, enc_jwk] }));
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    let reply = me(&app, &sign(&enc_key, &claims(&issuer.url))).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_description(), "unknown signing key");
    let ready = get(&app, "/ready", None).await;
    assert_eq!(ready.body["issuers"][0]["kids"], json!([keys().ed.kid]));
}

#[actix_web::test]
async fn a_1024_bit_rsa_key_is_skipped_even_for_a_validly_signed_token() {
    let fixture: Value = serde_json::from_str(include_str!("../fixtures/rsa1024.json")).unwrap();
    let issuer = TestIssuer::start(json!({ "keys": [fixture["jwk"], keys().ed.jwk] }));
    let jwks_uri = format!("{}/keys", issuer.url);
    let settings = settings(
        "https://issuer.test",
        &[("APP__AUTH__JWKS_URI", jwks_uri.as_str())],
    );
    let state = state(&settings).await;
    let app = service!(state);

    let reply = me(&app, fixture["token"].as_str().unwrap()).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_description(), "unknown signing key");
}

#[actix_web::test]
async fn an_unreachable_issuer_gives_503_with_retry_after_while_health_stays_up() {
    let issuer_url = dead_url();
    let state = state(&settings(&issuer_url, &[])).await;
    let app = service!(state);

    let reply = me(&app, &sign(&keys().ed, &claims(&issuer_url))).await;

    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header("retry-after"), Some("5"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.body["status"], 503);
    assert_eq!(get(&app, "/health", None).await.status, StatusCode::OK);
    let ready = get(&app, "/ready", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["status"], "not_ready");
    assert_eq!(
        ready.body["issuers"][0]["last_error"],
        "the issuer could not be reached"
    );
}

#[actix_web::test]
async fn without_discovery_the_zuplo_jwks_path_is_used() {
    let issuer = TestIssuer::start(standard_jwks());
    issuer.disable_discovery();
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    assert_eq!(
        me(&app, &sign(&keys().ed, &claims(&issuer.url)))
            .await
            .status,
        StatusCode::OK
    );
    let ready = get(&app, "/ready", None).await;
    assert_eq!(
        ready.body["issuers"][0]["jwks_uri"],
        json!(format!("{}/.well-known/jwks.json", issuer.url))
    );
}

#[actix_web::test]
async fn discovery_naming_another_issuer_is_not_trusted() {
    let issuer = TestIssuer::start(standard_jwks());
    let configured = format!("{}/", issuer.url);
    let state = state(&settings(&configured, &[])).await;
    let app = service!(state);

    let reply = me(&app, &sign(&keys().ed, &claims(&configured))).await;

    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(issuer.jwks_hits(), 0);
}

#[actix_web::test]
async fn readiness_reports_the_loaded_keys() {
    let (issuer, app) = standard_app().await;

    let ready = get(&app, "/ready", None).await;

    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["status"], "ready");
    let report = &ready.body["issuers"][0];
    assert_eq!(report["issuer"], json!(issuer.url));
    assert_eq!(report["keys"], 3);
    assert_eq!(report["kids"], json!(["rsa-1", "ec-1", "ed-1"]));
    assert_eq!(report["jwks_uri"], json!(format!("{}/keys", issuer.url)));
}

#[actix_web::test]
async fn public_routes_need_no_token_and_describe_the_resource() {
    let (issuer, app) = standard_app().await;

    let health = get(&app, "/health", None).await;
    assert_eq!(
        (health.status, health.body.clone()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let mut metadata = get(&app, "/.well-known/oauth-protected-resource", None)
        .await
        .body;
    // Which scopes are listed is `authorization::the_metadata_lists_exactly_the_scopes…`.
    let scopes = metadata["scopes_supported"].take();
    assert!(
        scopes.is_null() || scopes.as_array().is_some_and(|scopes| !scopes.is_empty()),
        "a non-empty list, or absent: {scopes}"
    );
    assert_eq!(
        metadata,
        json!({
            "resource": "http://localhost:8080",
            "authorization_servers": [issuer.url],
            "bearer_methods_supported": ["header"],
            "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
            "dpop_bound_access_tokens_required": false,
            "scopes_supported": null,
        })
    );
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
    ] {
        assert_eq!(
            get(&app, path, None).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

/// Polls (briefly) until the issuer has served `hits` JWKS requests.
async fn until_hits(issuer: &TestIssuer, hits: usize) {
    eventually(&format!("{hits} JWKS fetches"), || {
        issuer.jwks_hits() >= hits
    })
    .await;
}

#[actix_web::test]
async fn the_set_is_refreshed_ahead_of_its_max_age_without_any_request() {
    let issuer = TestIssuer::start(standard_jwks());
    issuer.set_cache_control("public, max-age=1");
    let _state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__JWKS_MIN_TTL_SECONDS", "1")],
    ))
    .await;

    until_hits(&issuer, 2).await;
}

#[actix_web::test]
async fn max_age_is_clamped_to_the_configured_maximum() {
    let issuer = TestIssuer::start(standard_jwks());
    issuer.set_cache_control("max-age=86400");
    let _state = state(&settings(&issuer.url, &SHORT_LIFETIMES)).await;

    until_hits(&issuer, 2).await;
}

#[actix_web::test]
async fn max_age_is_clamped_to_the_configured_minimum() {
    let issuer = TestIssuer::start(standard_jwks());
    issuer.set_cache_control("no-store");
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(
        get(&app, "/ready", None).await.body["issuers"][0]["stale"],
        false
    );
    assert_eq!(
        issuer.jwks_hits(),
        1,
        "no-store is held for the 60 s minimum"
    );
}

#[actix_web::test]
async fn keys_removed_at_the_issuer_stop_verifying_after_the_next_refresh() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &SHORT_LIFETIMES)).await;
    let app = service!(state);
    let token = sign(&keys().ed, &claims(&issuer.url));
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);

    issuer.set_jwks(json!({ "keys": [keys().rsa.jwk] }));
    until_hits(&issuer, 2).await;
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
async fn during_an_outage_the_last_good_set_serves_until_its_staleness_bound() {
    let issuer = TestIssuer::start(standard_jwks());
    let mut overrides = SHORT_LIFETIMES.to_vec();
    overrides.push(("APP__AUTH__MAX_STALE_SECONDS", "1"));
    let state = state(&settings(&issuer.url, &overrides)).await;
    let app = service!(state);
    let token = sign(&keys().ed, &claims(&issuer.url));
    issuer.set_failing(true);

    until_hits(&issuer, 2).await;
    let store = state.stores().next().unwrap();
    eventually("the set is past its lifetime", || store.status().stale).await;
    assert_eq!(
        me(&app, &token).await.status,
        StatusCode::OK,
        "stale but within bounds"
    );
    assert_eq!(
        get(&app, "/ready", None).await.body["issuers"][0]["stale"],
        true
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = me(&app, &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let ready = get(&app, "/ready", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.body["issuers"][0]["last_error"],
        "the issuer answered HTTP 503"
    );
}

#[actix_web::test]
async fn the_service_recovers_when_an_issuer_that_was_down_comes_up() {
    let issuer = TestIssuer::start(standard_jwks());
    issuer.set_failing(true);
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);
    let token = sign(&keys().ed, &claims(&issuer.url));
    assert_eq!(
        me(&app, &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    issuer.set_failing(false);
    let store = state.stores().next().unwrap();
    eventually("the keys arrive", || store.is_ready()).await;

    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn a_set_with_too_many_keys_is_refused_whole() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[("APP__AUTH__MAX_JWKS_KEYS", "2")])).await;
    let app = service!(state);

    let ready = get(&app, "/ready", None).await;

    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.body["issuers"][0]["last_error"],
        "the JWKS has more than 2 keys"
    );
}

#[actix_web::test]
async fn a_token_of_another_issuer_with_an_unknown_kid_causes_no_fetch() {
    let (issuer, app) = crate::common::standard_app().await;
    let hits = issuer.jwks_hits();
    let stranger = claims("https://stranger.example.com");

    let reply = me(
        &app,
        &crate::common::sign_as(&keys().ed, keys().ed.alg, Some("new-kid"), &stranger),
    )
    .await;

    assert_eq!(reply.error_description(), "issuer mismatch");
    assert_eq!(issuer.jwks_hits(), hits);
}

#[actix_web::test]
async fn documents_led_by_a_byte_order_mark_are_read() {
    let issuer = TestIssuer::start(standard_jwks());
    issuer.set_byte_order_mark();
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    let reply = me(&app, &sign(&keys().ed, &claims(&issuer.url))).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(issuer.jwks_hits(), 1, "through discovery and the JWKS");
}

#[actix_web::test]
async fn a_stopped_refresher_fetches_no_more() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &SHORT_LIFETIMES)).await;
    until_hits(&issuer, 2).await;
    let store = state.stores().next().unwrap();

    store.stop_refreshing();
    let hits = issuer.jwks_hits();
    // Longer than a set's 1 s lifetime: a running refresher would have fetched again.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    assert_eq!(issuer.jwks_hits(), hits);
}

#[actix_web::test]
async fn while_no_keys_are_loaded_every_token_gets_a_503_to_retry() {
    let issuer_url = dead_url();
    let state = state(&settings(&issuer_url, &[])).await;
    let app = service!(state);

    for iss in [issuer_url.as_str(), "https://stranger.example.com"] {
        let reply = me(&app, &sign(&keys().ed, &claims(iss))).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{iss}");
    }
}

#[actix_web::test]
async fn a_set_served_without_cache_control_lives_the_configured_ttl() {
    let issuer = TestIssuer::start(standard_jwks());
    // A 1 s floor under the default 600 s: were the missing header read as max-age 0, the set
    // would live 1 s and be refreshed within this test.
    let _state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__JWKS_MIN_TTL_SECONDS", "1")],
    ))
    .await;

    tokio::time::sleep(Duration::from_millis(1200)).await;

    assert_eq!(issuer.jwks_hits(), 1);
}

#[actix_web::test]
async fn no_store_counts_as_a_lifetime_of_zero_held_for_the_minimum() {
    let issuer = TestIssuer::start(standard_jwks());
    issuer.set_cache_control("no-store");
    let _state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__JWKS_MIN_TTL_SECONDS", "1")],
    ))
    .await;

    until_hits(&issuer, 2).await;
}

#[actix_web::test]
async fn an_unchanged_key_set_is_asked_for_conditionally_and_a_304_keeps_it_fresh() {
    let last_modified = "Mon, 07 Dec 2026 10:00:00 GMT";
    for (condition, value) in [
        ("if-none-match", "\"v1\""),
        ("if-modified-since", last_modified),
    ] {
        let issuer = TestIssuer::start(standard_jwks());
        match condition {
            "if-none-match" => issuer.set_etag(value),
            _ => issuer.set_last_modified(value),
        }
        let state = state(&settings(&issuer.url, &SHORT_LIFETIMES)).await;
        let app = service!(state);
        let ed_token = sign(&keys().ed, &claims(&issuer.url));
        assert_eq!(me(&app, &ed_token).await.status, StatusCode::OK);

        // The refresher asks with the validator; each 304 keeps the set and renews it.
        eventually("two conditional refreshes answered 304", || {
            issuer.not_modified_hits() >= 2
        })
        .await;
        assert!(
            issuer.received(condition).contains(&Some(value.to_owned())),
            "{condition}"
        );
        let store = state.stores().next().unwrap();
        let status = store.status();
        assert_eq!(status.key_count, 3);
        assert!(!status.stale, "a 304 renews the set's freshness");
        assert!(status.age.unwrap() < Duration::from_secs(2));
        assert_eq!(me(&app, &ed_token).await.status, StatusCode::OK);
        let counted = metric(
            &app,
            &format!(
                "jwks_fetches_total{{issuer=\"{}\",outcome=\"not_modified\"}}",
                issuer.url
            ),
        )
        .await;
        // The second 304 was asked for only once the first was taken, which is then counted.
        assert!(counted >= 1.0, "{condition}: {counted}");

        // A changed set under a new validator is fetched whole and taken.
        issuer.set_jwks(json!({ "keys": [keys().rsa.jwk] }));
        match condition {
            "if-none-match" => issuer.set_etag("\"v2\""),
            _ => issuer.set_last_modified("Mon, 07 Dec 2026 11:00:00 GMT"),
        }
        eventually("the changed set is taken", || store.status().key_count == 1).await;
        assert_eq!(me(&app, &ed_token).await.status, StatusCode::UNAUTHORIZED);
    }
}
