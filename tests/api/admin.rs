//! The example's operator route: guarded by the role `admin` and then the configured step-up
//! (RFC 9470: `acr` `mfa`, authenticated within 900 s), it reports the items' figures.

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{
    TestIssuer, claims, get, get_as, keys, settings, sign, standard_app, standard_jwks, state,
};
use crate::service;

const STATS: &str = "/api/v1/admin/stats";
const NAME: &str = env!("CARGO_PKG_NAME");
const METADATA: &str = "http://localhost:8080/.well-known/oauth-protected-resource";

/// Claims of `issuer` with `changes` applied (a `null` removes the claim).
fn token(issuer: &str, changes: Value) -> String {
    let mut claims = claims(issuer);
    claims["auth_time"] = claims["iat"].clone();
    for (name, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => drop(claims.as_object_mut().unwrap().remove(name)),
            value => claims[name] = value.clone(),
        }
    }
    sign(&keys().ed, &claims)
}

#[actix_web::test]
async fn the_admin_route_needs_the_admin_role() {
    let (issuer, app) = standard_app().await;

    assert_eq!(
        get(&app, STATS, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The role is checked first: without it, a strong authentication does not help.
    let operator = json!({"roles": ["operator"], "acr": "mfa"});
    let wrong_role = get_as(&app, STATS, &token(&issuer.url, operator)).await;
    assert_eq!(wrong_role.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong_role.body["error"], "insufficient_scope");
    assert_eq!(
        wrong_role.body["detail"],
        "this route requires the role admin"
    );
    let admin = json!({"roles": ["admin"], "acr": "mfa"});
    let allowed = get_as(&app, STATS, &token(&issuer.url, admin)).await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(allowed.body, json!({"items": 0, "creators": 0}));
}

#[actix_web::test]
async fn a_weaker_or_older_authentication_is_told_to_step_up() {
    let (issuer, app) = standard_app().await;
    let now = jsonwebtoken::get_current_timestamp();
    let challenge = format!(
        r#"Bearer realm="{NAME}", resource_metadata="{METADATA}", error="insufficient_user_authentication", error_description="a stronger or more recent authentication is required", acr_values="mfa", max_age="900""#
    );

    for short in [
        json!({"roles": ["admin"], "acr": null}),
        json!({"roles": ["admin"], "acr": "pwd"}),
        json!({"roles": ["admin"], "acr": "mfa", "auth_time": now - 901}),
        json!({"roles": ["admin"], "acr": "mfa", "auth_time": null}),
    ] {
        let reply = get_as(&app, STATS, &token(&issuer.url, short.clone())).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{short}");
        assert_eq!(reply.header("www-authenticate"), Some(challenge.as_str()));
        assert_eq!(reply.body["error"], "insufficient_user_authentication");
        assert_eq!(reply.body["status"], 401);
    }
    let just_in_time = json!({"roles": ["admin"], "acr": "mfa", "auth_time": now - 890});
    assert_eq!(
        get_as(&app, STATS, &token(&issuer.url, just_in_time))
            .await
            .status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn the_step_up_is_configurable() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(
        &issuer.url,
        &[
            ("APP__AUTH__STEP_UP__ACR_VALUES", "phr,phrh"),
            ("APP__AUTH__STEP_UP__MAX_AGE_SECONDS", ""),
        ],
    ))
    .await;
    let app = service!(state);
    let long_ago = json!({"roles": ["admin"], "acr": "phrh", "auth_time": 1_000_000});

    assert_eq!(
        get_as(&app, STATS, &token(&issuer.url, long_ago))
            .await
            .status,
        StatusCode::OK
    );
    let mfa = get_as(
        &app,
        STATS,
        &token(&issuer.url, json!({"roles": ["admin"], "acr": "mfa"})),
    )
    .await;
    assert_eq!(mfa.status, StatusCode::UNAUTHORIZED);
    let challenge = mfa.header("www-authenticate").unwrap();
    assert!(
        challenge.ends_with(r#"acr_values="phr phrh""#),
        "{challenge}"
    );
}

#[actix_web::test]
async fn the_document_states_the_step_up() {
    let (_issuer, app) = standard_app().await;
    let document = get(&app, "/openapi.json", None).await.body;
    let operation = &document["paths"][STATS]["get"];
    assert_eq!(
        operation["x-step-up"],
        json!({"acr_values": ["mfa"], "max_age": 900})
    );
    let unauthorized = operation["responses"]["401"]["description"]
        .as_str()
        .unwrap();
    assert!(unauthorized.contains("insufficient_user_authentication"));
}
