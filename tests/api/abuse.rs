//! What attackers and broken issuers throw at the key store: floods of unknown kids, bad keys in
//! a good set, oversized or garbage documents, and an issuer that hangs.

use std::time::Duration;

use actix_web::http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::common::{
    SHORT_LIFETIMES, TestIssuer, b64, claims, eventually, get, keys, me, settings, sign, sign_as,
    standard_jwks, state,
};
use crate::service;

fn token_with_kid(issuer: &TestIssuer, kid: &str) -> String {
    sign_as(&keys().ed, keys().ed.alg, Some(kid), &claims(&issuer.url))
}

#[actix_web::test]
async fn a_storm_of_random_kids_shares_one_refetch_whatever_the_cooldown() {
    for cooldown in ["0", "60"] {
        let issuer = TestIssuer::start(standard_jwks());
        let settings = settings(
            &issuer.url,
            &[("APP__AUTH__REFETCH_COOLDOWN_SECONDS", cooldown)],
        );
        let state = state(&settings).await;
        let app = service!(state);
        let tokens = (0..1000)
            .map(|n| token_with_kid(&issuer, &format!("random-{n}")))
            .collect();

        let statuses = crate::common::concurrently(&app, tokens).await;

        assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
        assert_eq!(
            issuer.jwks_hits(),
            2,
            "cooldown {cooldown}: initial fetch + one shared refetch"
        );
    }
}

#[actix_web::test]
async fn within_the_cooldown_repeated_and_new_bogus_kids_cost_no_fetch() {
    let issuer = TestIssuer::start(standard_jwks());
    let cooldown = [("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "60")];
    let state = state(&settings(&issuer.url, &cooldown)).await;
    let app = service!(state);

    for kid in ["bogus", "bogus", "bogus", "bogus-2", "bogus-3"] {
        let reply = me(&app, &token_with_kid(&issuer, kid)).await;
        assert_eq!(reply.error_description(), "unknown signing key");
    }

    assert_eq!(issuer.jwks_hits(), 2, "only the first sighting refetches");
}

#[actix_web::test]
async fn without_a_cooldown_each_sighting_may_refetch() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    for _ in 0..3 {
        me(&app, &token_with_kid(&issuer, "bogus")).await;
    }

    assert_eq!(issuer.jwks_hits(), 4);
}

#[actix_web::test]
async fn bad_keys_are_skipped_and_named_while_the_rest_of_the_set_loads() {
    let mut jwks = standard_jwks();
    let bad = [
        json!({"kty": "RSA", "kid": "broken-rsa", "e": "AQAB"}),
        json!({"kty": "OKP", "crv": "Ed448", "kid": "ed448", "x": "AAAA"}),
        json!({"kty": "AKP", "alg": "ML-DSA-44", "kid": "post-quantum", "pub": "AAAA"}),
        json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"}),
        json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
        json!("not a key"),
    ];
    jwks["keys"].as_array_mut().unwrap().extend(bad);
    let issuer = TestIssuer::start(jwks);
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    assert_eq!(
        me(&app, &sign(&keys().rsa, &claims(&issuer.url)))
            .await
            .status,
        StatusCode::OK
    );
    let ready = get(&app, "/ready", None).await;
    let report = &ready.body["issuers"][0];
    assert_eq!(report["kids"], json!(["rsa-1", "ec-1", "ed-1"]));
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kid"].as_str().unwrap_or("(none)"))
        .collect();
    assert_eq!(
        skipped,
        [
            "broken-rsa",
            "ed448",
            "post-quantum",
            "p521",
            "hmac",
            "(none)"
        ]
    );
    assert!(
        report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["reason"].is_string())
    );
}

#[actix_web::test]
async fn duplicate_kids_serving_the_same_algorithms_resolve_to_the_first_key() {
    let mut first = keys().rsa.jwk.clone();
    first["kid"] = json!("dup");
    let mut second = keys().rogue_rsa.jwk.clone();
    second["kid"] = json!("dup");
    let issuer = TestIssuer::start(json!({ "keys": [first, second] }));
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    let by_first = sign_as(
        &keys().rsa,
        keys().rsa.alg,
        Some("dup"),
        &claims(&issuer.url),
    );
    assert_eq!(me(&app, &by_first).await.status, StatusCode::OK);
    let by_second = sign_as(
        &keys().rogue_rsa,
        keys().rogue_rsa.alg,
        Some("dup"),
        &claims(&issuer.url),
    );
    assert_eq!(me(&app, &by_second).await.status, StatusCode::UNAUTHORIZED);
    let ready = get(&app, "/ready", None).await;
    assert_eq!(ready.body["issuers"][0]["skipped"][0]["kid"], "dup");
}

#[actix_web::test]
async fn an_oversized_jwks_is_refused() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__MAX_JWKS_BYTES", "100")],
    ))
    .await;
    let app = service!(state);

    let ready = get(&app, "/ready", None).await;

    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.body["issuers"][0]["last_error"],
        "the response exceeds 100 bytes"
    );
}

#[actix_web::test]
async fn a_jwks_that_is_not_a_key_set_is_refused() {
    for (document, error) in [
        (json!("<html>"), "the JWKS is not a JSON object"),
        (json!({"issuer": "x"}), "the JWKS has no `keys` array"),
        (
            json!({"keys": []}),
            "the JWKS has no key usable for the allowed algorithms",
        ),
    ] {
        let issuer = TestIssuer::start(document);
        let state = state(&settings(&issuer.url, &[])).await;
        let app = service!(state);
        let ready = get(&app, "/ready", None).await;
        assert_eq!(ready.body["issuers"][0]["last_error"], error);
    }
}

#[actix_web::test]
async fn a_hanging_issuer_does_not_stall_requests_with_known_kids() {
    let issuer = TestIssuer::start(standard_jwks());
    let mut overrides = SHORT_LIFETIMES.to_vec();
    overrides.push(("APP__AUTH__HTTP_TIMEOUT_SECONDS", "1"));
    let state = state(&settings(&issuer.url, &overrides)).await;
    let app = service!(state);
    issuer.set_delay(Duration::from_secs(5));
    eventually("a background refresh starts", || issuer.jwks_hits() >= 2).await;
    assert_eq!(issuer.jwks_hits(), 2, "a background refresh is hanging");

    let reply = me(&app, &sign(&keys().ed, &claims(&issuer.url))).await;

    assert_eq!(reply.status, StatusCode::OK);
}

#[actix_web::test]
async fn redirects_are_followed_on_loopback_but_at_most_three_times() {
    let issuer = TestIssuer::start(standard_jwks());
    let moved = format!("{}/moved", issuer.url);
    let state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__JWKS_URI", moved.as_str())],
    ))
    .await;
    let app = service!(state);
    assert_eq!(
        me(&app, &sign(&keys().ed, &claims(&issuer.url)))
            .await
            .status,
        StatusCode::OK
    );

    let looping = format!("{}/loop", issuer.url);
    let state = crate::common::state(&settings(
        &issuer.url,
        &[("APP__AUTH__JWKS_URI", looping.as_str())],
    ))
    .await;
    let app = service!(state);
    let ready = get(&app, "/ready", None).await;
    assert_eq!(
        ready.body["issuers"][0]["last_error"],
        "the issuer redirected too often or away from https"
    );
    assert_eq!(
        issuer.other_hits(),
        4,
        "the first request and three redirects"
    );
}

#[actix_web::test]
async fn a_jwks_of_exactly_the_size_limit_loads_and_one_byte_over_is_refused() {
    let jwks = standard_jwks();
    let size = serde_json::to_vec(&jwks).unwrap().len();
    for (limit, loads, chunked) in [
        (size, true, false),
        (size - 1, false, false),
        (size, true, true),
        (size - 1, false, true),
    ] {
        let issuer = TestIssuer::start(jwks.clone());
        if chunked {
            issuer.set_chunked();
        }
        let limit = limit.to_string();
        let state = state(&settings(
            &issuer.url,
            &[("APP__AUTH__MAX_JWKS_BYTES", &limit)],
        ))
        .await;
        let app = service!(state);

        let ready = get(&app, "/ready", None).await;

        let expected = if loads {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        assert_eq!(ready.status, expected, "limit {limit}: {}", ready.body);
    }
}

#[actix_web::test]
async fn rsa_keys_with_an_exponent_no_rsa_key_has_are_skipped_with_the_reason_in_ready() {
    let mut jwks = standard_jwks();
    let n = keys().rsa.jwk["n"].clone();
    for (kid, e) in [
        ("even", b64([1u8, 0, 0])),
        ("one", b64([1u8])),
        ("above-2-pow-32", b64([1u8, 0, 0, 0, 1])),
    ] {
        jwks["keys"]
            .as_array_mut()
            .unwrap()
            .push(json!({"kty": "RSA", "kid": kid, "n": n, "e": e}));
    }
    let issuer = TestIssuer::start(jwks);
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    let ready = get(&app, "/ready", None).await;
    let report = &ready.body["issuers"][0];
    assert_eq!(report["kids"], json!(["rsa-1", "ec-1", "ed-1"]));
    for (index, kid) in ["even", "one", "above-2-pow-32"].iter().enumerate() {
        assert_eq!(report["skipped"][index]["kid"], *kid);
        assert_eq!(
            report["skipped"][index]["reason"],
            "RSA exponent is not an odd number from 3 to 2^32"
        );
    }
    let named = sign_as(
        &keys().rsa,
        Algorithm::RS256,
        Some("even"),
        &claims(&issuer.url),
    );
    assert_eq!(me(&app, &named).await.status, StatusCode::UNAUTHORIZED);
}
