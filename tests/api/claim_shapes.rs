//! Claims are taken only in shapes the service can read and enforce: an `aud` of any other
//! shape is malformed whatever the audience rules, a value that reads as no Rust value refuses
//! the token instead of vanishing, a confirmation other than one `jkt` refuses it instead of
//! passing as unbound, and scopes and roles given as one string split on SP alone.

use actix_web::http::StatusCode;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use crate::common::{
    AUDIENCE, TestIssuer, b64, claims, keys, me, settings, sign, standard_jwks, state,
};
use crate::probe::{self, PROBE_ROLE, PROBE_SCOPE, probe_app};
use crate::service;

/// A token signed by the standard Ed25519 key whose payload is exactly `payload`, for claims
/// no `serde_json::Value` can hold.
fn sign_text(payload: &str) -> String {
    let key = &keys().ed;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    let signing_input = format!(
        "{}.{}",
        b64(serde_json::to_vec(&header).unwrap()),
        b64(payload)
    );
    let signature =
        jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key.encoding, Algorithm::EdDSA)
            .unwrap();
    format!("{signing_input}.{signature}")
}

/// The claims of a valid token of `issuer` as JSON text, with `extra` members spliced in as
/// written.
fn claims_text(issuer: &str, extra: &str) -> String {
    let valid = claims(issuer).to_string();
    format!("{},{extra}}}", valid.trim_end_matches('}'))
}

#[actix_web::test]
async fn an_aud_of_no_readable_shape_is_malformed_with_or_without_an_audience_claim() {
    let issuer = TestIssuer::start(standard_jwks());
    for rules in [vec![], vec![("APP__AUTH__AUDIENCE_CLAIM", "client_id")]] {
        let state = state(&settings(&issuer.url, &rules)).await;
        let app = service!(state);
        let verdict = |aud: Value| {
            let mut claims = claims(&issuer.url);
            claims["aud"] = aud;
            // The stand-in names this API: only `aud` can refuse the token.
            claims["client_id"] = json!(AUDIENCE);
            let token = sign(&keys().ed, &claims);
            let app = &app;
            async move { me(app, &token).await }
        };

        for aud in [
            json!(null),
            json!(7),
            json!({"aud": AUDIENCE}),
            json!([AUDIENCE, 7]),
            json!([AUDIENCE, null]),
        ] {
            let reply = verdict(aud.clone()).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{aud} {rules:?}");
            assert_eq!(reply.body["error"], "invalid_token");
            assert_eq!(
                reply.error_description(),
                "malformed claims",
                "{aud} {rules:?}"
            );
        }
        for aud in [json!("another-api"), json!(["another-api"]), json!([])] {
            let reply = verdict(aud.clone()).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{aud} {rules:?}");
            assert_eq!(
                reply.error_description(),
                "audience mismatch",
                "{aud} {rules:?}"
            );
        }
        for aud in [json!(AUDIENCE), json!(["another-api", AUDIENCE])] {
            assert_eq!(verdict(aud.clone()).await.status, StatusCode::OK, "{aud}");
        }
    }
}

#[actix_web::test]
async fn a_claim_that_reads_as_no_value_refuses_the_token_instead_of_vanishing() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    for extra in [
        r#""name":"\ud83d""#,
        r#""cnf":{"jkt":"\ud83d"}"#,
        r#""scope":"items:read \udc00""#,
        r#""nested":{"deep":["ok","\ud83d"]}"#,
        r#""big":1e400"#,
    ] {
        let reply = me(&app, &sign_text(&claims_text(&issuer.url, extra))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{extra}");
        assert_eq!(reply.error_description(), "malformed claims", "{extra}");
    }
    let paired = me(
        &app,
        &sign_text(&claims_text(&issuer.url, r#""name":"\ud83d\ude00""#)),
    )
    .await;
    assert_eq!(paired.status, StatusCode::OK, "{}", paired.body);
    assert_eq!(paired.body["user"]["name"], "\u{1f600}");
}

#[actix_web::test]
async fn a_confirmation_other_than_one_jkt_refuses_the_token() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    for cnf in [
        json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        json!({"jwk": keys().ec.jwk}),
        json!({"jkt": 7}),
        json!({"jkt": ["a"]}),
        json!({"jkt": null}),
        json!({"jkt": "a", "x5t#S256": "b"}),
        json!({}),
        json!("jkt"),
        json!(null),
    ] {
        let mut claims = claims(&issuer.url);
        claims["cnf"] = cnf.clone();
        let reply = me(&app, &sign(&keys().ed, &claims)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{cnf}");
        assert_eq!(reply.body["error"], "invalid_token", "{cnf}");
        assert_eq!(
            reply.error_description(),
            "unsupported confirmation method",
            "{cnf}"
        );
    }
}

#[actix_web::test]
async fn scopes_and_roles_in_one_string_split_on_sp_alone() {
    let (issuer, app) = probe_app().await;
    let with = |name: &str, value: String| {
        let mut claims = claims(&issuer.url);
        claims[name] = json!(value);
        sign(&keys().ed, &claims)
    };

    for separator in ["\u{a0}", "\u{2003}", "\t", "\n", "\u{3000}"] {
        let scope = with("scope", format!("docs:x{separator}{PROBE_SCOPE}"));
        let reply = probe::scoped(&app, &scope).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{separator:?}");
        let scp = with("scp", format!("docs:x{separator}{PROBE_SCOPE}"));
        assert_eq!(
            probe::scoped(&app, &scp).await.status,
            StatusCode::FORBIDDEN,
            "{separator:?}"
        );
        let roles = with("roles", format!("viewer{separator}{PROBE_ROLE}"));
        assert_eq!(
            probe::role(&app, &roles).await.status,
            StatusCode::FORBIDDEN,
            "{separator:?}"
        );
    }
    let scope = with("scope", format!("docs:x  {PROBE_SCOPE} "));
    assert_eq!(probe::scoped(&app, &scope).await.status, StatusCode::OK);
    let roles = with("roles", format!("viewer {PROBE_ROLE}"));
    assert_eq!(probe::role(&app, &roles).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn scopes_and_roles_of_no_readable_shape_refuse_the_token() {
    let (issuer, app) = probe_app().await;
    for (name, value) in [
        ("scope", json!(7)),
        ("scp", json!({"probe:read": true})),
        ("permissions", json!([PROBE_SCOPE, 7])),
        ("roles", json!(null)),
        ("roles", json!([PROBE_ROLE, {"name": "x"}])),
    ] {
        let mut claims = claims(&issuer.url);
        claims[name] = value.clone();
        let reply = probe::scoped(&app, &sign(&keys().ed, &claims)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name} {value}");
        assert_eq!(
            reply.error_description(),
            "malformed claims",
            "{name} {value}"
        );
    }
}
