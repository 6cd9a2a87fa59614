//! Per-issuer claim rules, for tokens shaped as real issuers send them: an audience claim where
//! a token has no `aud` (Cognito's `client_id`), required claim values, a required `typ`, a
//! longest lifetime, and each issuer's own roles claim.

use actix_web::http::StatusCode;
use jsonwebtoken::Header;
use serde_json::{Value, json};

use crate::common::{
    AUDIENCE, TestIssuer, claims, keys, load_with_profile, me, settings, sign, sign_with_header,
    standard_jwks, state,
};
use crate::{probe, probe_service, service};

/// A Cognito access token's claims: no `aud`, the app client in `client_id`.
fn cognito_access(issuer: &str, client_id: &str, token_use: &str) -> Value {
    let mut claims = claims(issuer);
    claims.as_object_mut().unwrap().remove("aud");
    claims["client_id"] = json!(client_id);
    claims["token_use"] = json!(token_use);
    claims
}

#[actix_web::test]
async fn an_audience_claim_stands_in_for_a_missing_aud_and_required_claims_hold() {
    let issuer = TestIssuer::start(standard_jwks());
    let rules = [
        ("APP__AUTH__AUDIENCE_CLAIM", "client_id"),
        ("APP__AUTH__REQUIRED_CLAIMS__TOKEN_USE", "access"),
    ];
    let state = state(&settings(&issuer.url, &rules)).await;
    let app = service!(state);
    let verdict = |claims: Value| {
        let token = sign(&keys().rsa, &claims);
        let app = &app;
        async move { me(app, &token).await }
    };

    let accepted = verdict(cognito_access(&issuer.url, AUDIENCE, "access")).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(
        verdict(cognito_access(&issuer.url, "other-client", "access"))
            .await
            .error_description(),
        "audience mismatch"
    );
    let id_token = verdict(cognito_access(&issuer.url, AUDIENCE, "id")).await;
    assert_eq!(id_token.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        id_token.error_description(),
        "claim token_use does not have a required value"
    );
    assert!(
        id_token
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""),
        "{:?}",
        id_token.headers
    );
    let mut wrong_aud = cognito_access(&issuer.url, AUDIENCE, "access");
    wrong_aud["aud"] = json!("someone-else");
    assert_eq!(
        verdict(wrong_aud).await.error_description(),
        "audience mismatch",
        "a present aud is the one compared"
    );
}

#[actix_web::test]
async fn without_an_audience_claim_a_token_without_aud_is_refused() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);

    let reply = me(
        &app,
        &sign(
            &keys().rsa,
            &cognito_access(&issuer.url, AUDIENCE, "access"),
        ),
    )
    .await;

    assert_eq!(reply.error_description(), "missing required claim");
}

#[actix_web::test]
async fn a_required_type_is_compared_as_a_media_type() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__REQUIRE_TYP", "at+jwt")],
    ))
    .await;
    let app = service!(state);
    let with_typ = |typ: Option<&str>| {
        let mut header = Header::new(keys().ed.alg);
        header.kid = Some(keys().ed.kid.clone());
        header.typ = typ.map(str::to_owned);
        sign_with_header(&header, &keys().ed, &claims(&issuer.url))
    };

    for typ in ["at+jwt", "application/AT+JWT"] {
        assert_eq!(
            me(&app, &with_typ(Some(typ))).await.status,
            StatusCode::OK,
            "{typ}"
        );
    }
    for typ in [Some("JWT"), None] {
        assert_eq!(
            me(&app, &with_typ(typ)).await.error_description(),
            "unsupported token type",
            "{typ:?}"
        );
    }
}

#[actix_web::test]
async fn a_longest_lifetime_refuses_long_lived_tokens_and_requires_iat() {
    let issuer = TestIssuer::start(standard_jwks());
    let limit = [("APP__AUTH__MAX_TOKEN_LIFETIME_SECONDS", "300")];
    let state = state(&settings(&issuer.url, &limit)).await;
    let app = service!(state);
    let short = claims(&issuer.url);
    let mut long = claims(&issuer.url);
    long["exp"] = json!(long["iat"].as_u64().unwrap() + 3600);
    let mut no_iat = claims(&issuer.url);
    no_iat.as_object_mut().unwrap().remove("iat");

    assert_eq!(
        me(&app, &sign(&keys().ed, &short)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        me(&app, &sign(&keys().ed, &long)).await.error_description(),
        "token lifetime too long"
    );
    assert_eq!(
        me(&app, &sign(&keys().ed, &no_iat))
            .await
            .error_description(),
        "missing required claim"
    );
}

#[actix_web::test]
async fn each_issuer_grants_roles_from_its_own_roles_claim() {
    let keycloak = TestIssuer::start(json!({ "keys": [keys().rsa.jwk] }));
    let auth0 = TestIssuer::start(json!({ "keys": [keys().ed.jwk] }));
    let settings = load_with_profile(
        &format!(
            r#"
[[auth.issuers]]
issuer = "{}"
audience = "{AUDIENCE}"
roles_claim = "realm_access.roles"

[[auth.issuers]]
issuer = "{}"
audience = "{AUDIENCE}"
required_claims = {{ azp = ["spa", "cli"] }}
"#,
            keycloak.url, auth0.url
        ),
        &[("APP__AUTH__ROLES_CLAIM", "https://example.com/roles")],
    )
    .unwrap();
    let state = state(&settings).await;
    let app = probe_service!(state);
    let stats = |token: String| {
        let app = &app;
        async move { probe::role(app, &token).await }
    };
    let mut keycloak_admin = claims(&keycloak.url);
    keycloak_admin["realm_access"] = json!({ "roles": ["admin"] });
    let mut auth0_admin = claims(&auth0.url);
    auth0_admin["https://example.com/roles"] = json!(["admin"]);
    auth0_admin["azp"] = json!("cli");
    let mut auth0_with_keycloak_shape = claims(&auth0.url);
    auth0_with_keycloak_shape["realm_access"] = json!({ "roles": ["admin"] });
    auth0_with_keycloak_shape["azp"] = json!("spa");
    let mut auth0_other_client = auth0_admin.clone();
    auth0_other_client["azp"] = json!("elsewhere");

    assert_eq!(
        stats(sign(&keys().rsa, &keycloak_admin)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        stats(sign(&keys().ed, &auth0_admin)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        stats(sign(&keys().ed, &auth0_with_keycloak_shape))
            .await
            .status,
        StatusCode::FORBIDDEN,
        "the second issuer's roles come from the default roles claim only"
    );
    assert_eq!(
        stats(sign(&keys().ed, &auth0_other_client))
            .await
            .error_description(),
        "claim azp does not have a required value"
    );
}

#[test]
fn claim_rules_are_validated_at_startup() {
    let refused = |vars: &[(&str, &str)]| {
        load_with_profile(
            "",
            &[
                &[
                    ("APP__AUTH__ISSUER", "https://issuer.example.com"),
                    ("APP__AUTH__AUDIENCE", AUDIENCE),
                ],
                vars,
            ]
            .concat(),
        )
        .unwrap_err()
        .key()
        .to_owned()
    };
    assert_eq!(
        refused(&[("APP__AUTH__REQUIRE_TYP", "dpop+jwt")]),
        "APP__AUTH__REQUIRE_TYP"
    );
    assert_eq!(
        refused(&[("APP__AUTH__MAX_TOKEN_LIFETIME_SECONDS", "0")]),
        "APP__AUTH__MAX_TOKEN_LIFETIME_SECONDS"
    );
    let listed = load_with_profile(
        r#"
[[auth.issuers]]
issuer = "https://issuer.example.com"
audience = "a"
require_typ = "logout+jwt"
"#,
        &[],
    );
    assert_eq!(listed.unwrap_err().key(), "auth.issuers[0].require_typ");
    let settings = load_with_profile(
        "",
        &[
            ("APP__AUTH__ISSUER", "https://issuer.example.com"),
            ("APP__AUTH__AUDIENCE", AUDIENCE),
            ("APP__AUTH__REQUIRE_TYP", "application/AT+JWT"),
            ("APP__AUTH__REQUIRED_CLAIMS__TOKEN_USE", "access,id"),
        ],
    )
    .unwrap();
    let issuer = &crate::common::trusted(&settings)[0].policy;
    assert_eq!(issuer.require_typ.as_deref(), Some("at+jwt"));
    let required: Vec<_> = issuer
        .required_claims
        .iter()
        .map(|rule| (rule.name.as_str(), rule.one_of.clone()))
        .collect();
    assert_eq!(
        required,
        [("token_use", vec!["access".to_owned(), "id".to_owned()])]
    );
    assert_eq!(issuer.roles_claim.0, "roles");
    assert_eq!(issuer.max_token_lifetime_seconds, None);
}
