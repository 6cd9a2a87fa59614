//! Several issuers side by side, as during a migration from one gateway to another: each has its
//! own keys and audiences, and none can vouch for another's tokens.

use actix_web::http::StatusCode;
use app::settings::Settings;
use serde_json::json;

use crate::common::{
    TestIssuer, claims, get, keys, load_with_profile as load, me, rsa_key, sign, sign_as, state,
};
use crate::service;

fn two_issuers(a: &TestIssuer, b: &TestIssuer) -> Settings {
    load(
        &format!(
            r#"
[[auth.issuers]]
issuer = "{}"
audience = ["api://a"]

[[auth.issuers]]
issuer = "{}"
audience = "api://b"
algorithms = ["ES256", "RS256"]
"#,
            a.url, b.url
        ),
        &[],
    )
    .unwrap()
}

fn claims_for(issuer: &TestIssuer, audience: &str) -> serde_json::Value {
    let mut claims = claims(&issuer.url);
    claims["aud"] = json!(audience);
    claims
}

#[actix_web::test]
async fn each_issuer_verifies_its_own_tokens_with_its_own_audience() {
    let a = TestIssuer::start(json!({ "keys": [keys().ed.jwk] }));
    let b = TestIssuer::start(json!({ "keys": [keys().ec.jwk] }));
    let state = state(&two_issuers(&a, &b)).await;
    let app = service!(state);

    assert_eq!(
        me(&app, &sign(&keys().ed, &claims_for(&a, "api://a")))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        me(&app, &sign(&keys().ec, &claims_for(&b, "api://b")))
            .await
            .status,
        StatusCode::OK
    );

    let reply = me(&app, &sign(&keys().ed, &claims_for(&a, "api://b"))).await;
    assert_eq!(reply.error_description(), "audience mismatch");
}

#[actix_web::test]
async fn a_key_of_one_issuer_never_verifies_another_issuers_token() {
    let key_of_a = rsa_key("shared");
    let key_of_b = rsa_key("shared");
    let a = TestIssuer::start(json!({ "keys": [key_of_a.jwk] }));
    let b = TestIssuer::start(json!({ "keys": [key_of_b.jwk] }));
    let state = state(&two_issuers(&a, &b)).await;
    let app = service!(state);

    let forged = sign(&key_of_a, &claims_for(&b, "api://b"));
    assert_eq!(
        me(&app, &forged).await.error_description(),
        "invalid signature"
    );
    let genuine = sign(&key_of_b, &claims_for(&b, "api://b"));
    assert_eq!(me(&app, &genuine).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn each_issuer_allows_only_its_own_algorithms() {
    let a = TestIssuer::start(json!({ "keys": [keys().ed.jwk] }));
    let b = TestIssuer::start(json!({ "keys": [keys().ed.jwk] }));
    let state = state(&two_issuers(&a, &b)).await;
    let app = service!(state);

    let eddsa_for_b = sign(&keys().ed, &claims_for(&b, "api://b"));

    assert_eq!(
        me(&app, &eddsa_for_b).await.error_description(),
        "algorithm not allowed"
    );
}

#[actix_web::test]
async fn an_unknown_issuer_is_rejected_without_any_fetch() {
    let a = TestIssuer::start(json!({ "keys": [keys().ed.jwk] }));
    let b = TestIssuer::start(json!({ "keys": [keys().ec.jwk] }));
    let state = state(&two_issuers(&a, &b)).await;
    let app = service!(state);
    let stranger = TestIssuer::start(json!({ "keys": [keys().ed.jwk] }));
    let before = (a.jwks_hits(), b.jwks_hits());

    let reply = me(
        &app,
        &sign_as(
            &keys().ed,
            keys().ed.alg,
            Some("new"),
            &claims(&stranger.url),
        ),
    )
    .await;

    assert_eq!(reply.error_description(), "issuer mismatch");
    assert_eq!(
        (a.jwks_hits(), b.jwks_hits(), stranger.jwks_hits()),
        (before.0, before.1, 0)
    );
}

#[actix_web::test]
async fn readiness_and_metadata_name_every_issuer() {
    let a = TestIssuer::start(json!({ "keys": [keys().ed.jwk] }));
    let b = TestIssuer::start(json!({ "keys": [keys().ec.jwk] }));
    let state = state(&two_issuers(&a, &b)).await;
    let app = service!(state);

    let ready = get(&app, "/ready", None).await;
    let metadata = get(&app, "/.well-known/oauth-protected-resource", None).await;

    let reported: Vec<&str> = ready.body["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|issuer| issuer["issuer"].as_str().unwrap())
        .collect();
    assert_eq!(reported, [a.url.as_str(), b.url.as_str()]);
    assert_eq!(
        metadata.body["authorization_servers"],
        json!([a.url, b.url])
    );
}

#[test]
fn the_shorthand_and_the_list_combine_and_duplicates_are_refused() {
    let listed = r#"
[[auth.issuers]]
issuer = "https://auth0.example.com/"
audience = "api://x"
leeway_seconds = 10
"#;
    let settings = load(
        listed,
        &[
            (
                "APP__AUTH__ISSUER",
                "https://gateway.example.com/__zuplo/issuer",
            ),
            ("APP__AUTH__AUDIENCE", "api://zuplo"),
        ],
    )
    .unwrap();
    let trusted = crate::common::trusted(&settings);
    let issuers: Vec<_> = trusted.iter().map(|i| i.source.issuer.clone()).collect();
    assert_eq!(
        issuers,
        [
            "https://gateway.example.com/__zuplo/issuer",
            "https://auth0.example.com/"
        ]
    );
    assert_eq!(trusted[1].policy.leeway_seconds, 10);

    let duplicate = load(
        listed,
        &[
            ("APP__AUTH__ISSUER", "https://auth0.example.com/"),
            ("APP__AUTH__AUDIENCE", "api://x"),
        ],
    );
    assert_eq!(duplicate.unwrap_err().key(), "auth.issuers[0].issuer");

    let no_audience = load(
        "[[auth.issuers]]\nissuer = \"https://a.example.com\"\n",
        &[],
    );
    assert_eq!(no_audience.unwrap_err().key(), "auth.issuers[0].audience");
}
