//! Tokens and key sets shaped as each provider sends them, verified with the settings the
//! docs/providers.md gives for that provider.

use actix_web::http::StatusCode;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use crate::common::{TestIssuer, b64, keys, me, settings, sign_with_header, state};
use crate::probe;
use crate::probe_service;

/// The RSA key as a provider publishes it: `kid`, `use`, the given members, in its own order.
fn provider_jwk(kid: &str, extra: Value) -> Value {
    let mut jwk = json!({ "kty": "RSA", "use": "sig", "kid": kid });
    for (name, value) in extra.as_object().unwrap() {
        jwk[name] = value.clone();
    }
    jwk["n"] = keys().rsa.jwk["n"].clone();
    jwk["e"] = keys().rsa.jwk["e"].clone();
    jwk
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[actix_web::test]
async fn entra_id_v2_access_tokens_verify_with_the_readme_settings() {
    let x5t = b64([7u8; 20]);
    let issuer = TestIssuer::start(json!({ "keys": [
        // An encryption key and a signing key of another tenant's rotation beside ours.
        { "kty": "RSA", "use": "enc", "kid": "enc-1", "n": keys().rogue_rsa.jwk["n"], "e": "AQAB" },
        provider_jwk(&x5t, json!({ "x5t": x5t, "x5c": ["MIIDBTCCAe2gAwIBAgIQ"], "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0" })),
    ] }));
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let client = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    let rules = [
        ("APP__AUTH__AUDIENCE", client),
        ("APP__AUTH__REQUIRED_CLAIMS__TID", tenant),
    ];
    let state = state(&settings(&issuer.url, &rules)).await;
    let app = probe_service!(state);
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.x5t = Some(x5t.clone());
    header.kid = Some(x5t);
    let claims = json!({
        "aud": client, "iss": issuer.url, "iat": now(), "nbf": now(), "exp": now() + 3600,
        "aio": "ASQA2/8TAAAA", "azp": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "azpacr": "0",
        "name": "Alice", "oid": "a2f9f7c4-0e1b-4f5e-9d7a-3c9e2f1b5d6a", "preferred_username": "alice@contoso.com",
        "rh": "0.AQ", "roles": ["admin"], "scp": "items.read items.write", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "tid": tenant, "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0",
    });

    let reply = me(&app, &sign_with_header(&header, &keys().rsa, &claims)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stats = probe::role(&app, &sign_with_header(&header, &keys().rsa, &claims)).await;
    assert_eq!(stats.status, StatusCode::OK, "app roles in `roles`");

    let mut other_tenant = claims.clone();
    other_tenant["tid"] = json!("00000000-0000-0000-0000-000000000000");
    let reply = me(&app, &sign_with_header(&header, &keys().rsa, &other_tenant)).await;
    assert_eq!(
        reply.error_description(),
        "claim tid does not have a required value"
    );
}

#[actix_web::test]
async fn cognito_access_and_id_tokens_verify_with_the_readme_settings() {
    let issuer = TestIssuer::start(json!({ "keys": [
        provider_jwk("1a2b3c4d5e6f7g8h9i0j=", json!({ "alg": "RS256" })),
    ] }));
    let client = "3n4b5urk1ft4fl3mg5e62d9ado";
    let access_rules = [
        ("APP__AUTH__AUDIENCE", client),
        ("APP__AUTH__AUDIENCE_CLAIM", "client_id"),
        ("APP__AUTH__REQUIRED_CLAIMS__TOKEN_USE", "access"),
        ("APP__AUTH__ROLES_CLAIM", "cognito:groups"),
    ];
    let state_access = state(&settings(&issuer.url, &access_rules)).await;
    let access_app = probe_service!(state_access);
    let id_rules = [
        ("APP__AUTH__AUDIENCE", client),
        ("APP__AUTH__REQUIRED_CLAIMS__TOKEN_USE", "id"),
    ];
    let state_id = state(&settings(&issuer.url, &id_rules)).await;
    let id_app = probe_service!(state_id);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("1a2b3c4d5e6f7g8h9i0j=".to_owned());
    header.typ = None;
    let access = json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["admin"],
        "iss": issuer.url, "version": 2, "client_id": client, "origin_jti": "bbbb",
        "event_id": "cccc", "token_use": "access", "scope": "aws.cognito.signin.user.admin",
        "auth_time": now(), "exp": now() + 3600, "iat": now(), "jti": "dddd", "username": "alice",
    });
    let id = json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["admin"],
        "email_verified": true, "iss": issuer.url, "cognito:username": "alice",
        "origin_jti": "bbbb", "aud": client, "event_id": "cccc", "token_use": "id",
        "auth_time": now(), "exp": now() + 3600, "iat": now(), "jti": "eeee", "email": "alice@example.com",
    });
    let access_token = sign_with_header(&header, &keys().rsa, &access);
    let id_token = sign_with_header(&header, &keys().rsa, &id);

    let reply = me(&access_app, &access_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stats = probe::role(&access_app, &access_token).await;
    assert_eq!(stats.status, StatusCode::OK, "groups in cognito:groups");
    assert_eq!(
        me(&access_app, &id_token).await.error_description(),
        "claim token_use does not have a required value",
        "an ID token is no access token"
    );
    assert_eq!(me(&id_app, &id_token).await.status, StatusCode::OK);
    assert_eq!(
        me(&id_app, &access_token).await.error_description(),
        "missing required claim",
        "an access token has no aud"
    );
}

#[actix_web::test]
async fn keycloak_access_tokens_verify_with_the_readme_settings() {
    let issuer = TestIssuer::start(json!({ "keys": [
        provider_jwk("FJ86GcF3jTbNLOco4NvZkUCIUmfYCqoqtOQeMfbhNlE", json!({ "alg": "RS256", "x5c": ["MIICmzCCAYMCBgF"], "x5t": b64([1u8; 20]), "x5t#S256": b64([2u8; 32]) })),
        { "kid": "enc-key", "kty": "RSA", "alg": "RSA-OAEP", "use": "enc", "n": keys().rogue_rsa.jwk["n"], "e": "AQAB" },
    ] }));
    let rules = [
        ("APP__AUTH__AUDIENCE", "items-api"),
        ("APP__AUTH__ROLES_CLAIM", "realm_access.roles"),
        ("APP__AUTH__REQUIRED_CLAIMS__AZP", "web-app"),
    ];
    let state = state(&settings(&issuer.url, &rules)).await;
    let app = probe_service!(state);
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some("FJ86GcF3jTbNLOco4NvZkUCIUmfYCqoqtOQeMfbhNlE".to_owned());
    let claims = json!({
        "exp": now() + 300, "iat": now(), "auth_time": now(), "jti": "onrtac:1b2c", "iss": issuer.url,
        "aud": ["items-api", "account"], "sub": "f1e2d3c4", "typ": "Bearer", "azp": "web-app",
        "sid": "5a6b", "acr": "1", "allowed-origins": ["https://app.example.com"],
        "realm_access": { "roles": ["offline_access", "admin", "uma_authorization"] },
        "resource_access": { "account": { "roles": ["manage-account"] } },
        "scope": "openid email profile", "email_verified": true, "preferred_username": "alice",
    });
    let token = sign_with_header(&header, &keys().rsa, &claims);

    let stats = probe::role(&app, &token).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
    let mut account_only = claims.clone();
    account_only["aud"] = json!("account");
    assert_eq!(
        me(&app, &sign_with_header(&header, &keys().rsa, &account_only))
            .await
            .error_description(),
        "audience mismatch",
        "without the audience mapper"
    );
}

#[actix_web::test]
async fn ad_fs_access_tokens_naming_their_key_by_x5t_verify_with_the_readme_settings() {
    let x5t = b64([5u8; 20]);
    let issuer = TestIssuer::start(json!({ "keys": [
        provider_jwk(&x5t, json!({ "alg": "RS256", "x5t": x5t, "x5c": ["MIIC3DCCAcSgAwIBAgIQ"] })),
    ] }));
    let adfs_issuer = format!("{}/adfs/services/trust", issuer.url);
    let jwks_uri = format!("{}/keys", issuer.url);
    let rules = [
        ("APP__AUTH__JWKS_URI", jwks_uri.as_str()),
        ("APP__AUTH__AUDIENCE", "urn:microsoft:userinfo"),
        ("APP__AUTH__ROLES_CLAIM", "role"),
    ];
    let state = state(&settings(&adfs_issuer, &rules)).await;
    let app = probe_service!(state);
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.x5t = Some(x5t);
    let claims = json!({
        "aud": "urn:microsoft:userinfo", "iss": adfs_issuer, "iat": now(), "nbf": now(),
        "exp": now() + 3600, "apptype": "Confidential", "appid": "c3d4", "authmethod": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
        "auth_time": "2026-12-01T08:00:00.000Z", "ver": "1.0", "scp": "openid", "role": "admin", "upn": "alice@contoso.com",
    });
    let token = sign_with_header(&header, &keys().rsa, &claims);

    let stats = probe::role(&app, &token).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
}

#[actix_web::test]
async fn zuplo_eddsa_tokens_verify_with_the_readme_settings() {
    let mut jwk = keys().ed.jwk.clone();
    jwk["kid"] = json!("zuplo-key-2026-11");
    jwk["alg"] = json!("EdDSA");
    jwk["use"] = json!("sig");
    let issuer = TestIssuer::start(json!({ "keys": [jwk] }));
    issuer.disable_discovery();
    let rules = [
        ("APP__AUTH__AUDIENCE", "https://api.example.com"),
        ("APP__AUTH__REQUIRED_CLAIMS__ACCOUNT", "my-account"),
        ("APP__AUTH__MAX_TOKEN_LIFETIME_SECONDS", "300"),
    ];
    let state = state(&settings(&issuer.url, &rules)).await;
    let app = probe_service!(state);
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("zuplo-key-2026-11".to_owned());
    let claims = json!({
        "sub": "consumer-alice", "aud": "https://api.example.com", "iss": issuer.url,
        "iat": now(), "exp": now() + 300, "account": "my-account", "project": "my-project",
        "deployment": "copper-bedbug-main-53c4947", "role": "admin", "custom": "value",
    });

    let reply = me(&app, &sign_with_header(&header, &keys().ed, &claims)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut long_lived = claims.clone();
    long_lived["exp"] = json!(now() + 3600);
    assert_eq!(
        me(&app, &sign_with_header(&header, &keys().ed, &long_lived))
            .await
            .error_description(),
        "token lifetime too long"
    );
    let mut other_account = claims.clone();
    other_account["account"] = json!("someone-else");
    assert_eq!(
        me(&app, &sign_with_header(&header, &keys().ed, &other_account))
            .await
            .error_description(),
        "claim account does not have a required value"
    );
}

#[actix_web::test]
async fn auth0_access_tokens_verify_with_the_readme_settings() {
    let issuer = TestIssuer::start(json!({ "keys": [
        provider_jwk("NjVBRjY5MDlCMUIwNzU4RTA2QzZFMDQ4QzQ2MDAyQjVDNjk1RTM2Qg", json!({ "x5t": b64([4u8; 20]), "x5c": ["MIIDDTCCAfWgAwIBAgIJ"], "alg": "RS256" })),
        provider_jwk("second-signing-key", json!({ "alg": "RS256" })),
    ] }));
    issuer.set_content_type("application/json; charset=utf-8");
    // Auth0's issuer, in tokens and in discovery alike, ends with a slash.
    let tenant = format!("{}/", issuer.url);
    issuer.set_discovery_issuer(&tenant);
    let rules = [
        ("APP__AUTH__AUDIENCE", "https://api.example.com"),
        ("APP__AUTH__ROLES_CLAIM", "https://api.example.com/roles"),
    ];
    let state = state(&settings(&tenant, &rules)).await;
    let app = probe_service!(state);
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some("NjVBRjY5MDlCMUIwNzU4RTA2QzZFMDQ4QzQ2MDAyQjVDNjk1RTM2Qg".to_owned());
    let claims = json!({
        "https://api.example.com/roles": ["admin"], "iss": tenant, "sub": "auth0|64f0c2a1",
        "aud": ["https://api.example.com", format!("{tenant}userinfo")], "iat": now(),
        "exp": now() + 86400, "scope": "openid profile email", "azp": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH",
        "permissions": ["probe:read", "probe:write"],
    });
    let token = sign_with_header(&header, &keys().rsa, &claims);

    let stats = probe::role(&app, &token).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
    let items = probe::scoped(&app, &token).await;
    assert_eq!(
        items.status,
        StatusCode::OK,
        "permissions grant scopes: {}",
        items.body
    );
}

#[actix_web::test]
async fn okta_access_tokens_verify_with_the_readme_settings() {
    let issuer = TestIssuer::start(json!({ "keys": [
        provider_jwk("Hg1mV8Jx4dQ2vXb0kPz3sT9yR6uWqE5nLcOaIfGhJk", json!({ "alg": "RS256" })),
    ] }));
    let rules = [
        ("APP__AUTH__AUDIENCE", "api://default"),
        ("APP__AUTH__ROLES_CLAIM", "groups"),
    ];
    let state = state(&settings(&issuer.url, &rules)).await;
    let app = probe_service!(state);
    let mut header = Header::new(Algorithm::RS256);
    header.typ = None;
    header.kid = Some("Hg1mV8Jx4dQ2vXb0kPz3sT9yR6uWqE5nLcOaIfGhJk".to_owned());
    let claims = json!({
        "ver": 1, "jti": "AT.lFBaXsgGkPGp0sCK3sJxVOKwj8Qd", "iss": issuer.url, "aud": "api://default",
        "iat": now(), "exp": now() + 3600, "cid": "0oa1b2c3d4", "uid": "00u1b2c3d4",
        "scp": ["openid", "probe:read"], "auth_time": now(), "sub": "alice@example.com", "groups": ["Everyone", "admin"],
    });
    let token = sign_with_header(&header, &keys().rsa, &claims);

    let items = probe::scoped(&app, &token).await;
    assert_eq!(
        items.status,
        StatusCode::OK,
        "scp as an array: {}",
        items.body
    );
    let stats = probe::role(&app, &token).await;
    assert_eq!(stats.status, StatusCode::OK, "groups as roles");
}

#[actix_web::test]
async fn google_id_tokens_verify_with_the_readme_settings() {
    let issuer = TestIssuer::start(json!({ "keys": [
        { "e": "AQAB", "kty": "RSA", "n": keys().rogue_rsa.jwk["n"], "alg": "RS256", "use": "sig", "kid": "a4313e7fd1e9e2a4dde3b2e2ea7b8f2a5f81a05f" },
        { "n": keys().rsa.jwk["n"], "use": "sig", "kty": "RSA", "alg": "RS256", "kid": "6a906ec119d7ba46a6a43ef1ea842e34a8ee08b4", "e": "AQAB" },
    ] }));
    issuer.set_content_type("application/json; charset=UTF-8");
    issuer.set_cache_control("public, max-age=19756, must-revalidate, no-transform");
    let client = "407408718192.apps.googleusercontent.com";
    let rules = [
        ("APP__AUTH__AUDIENCE", client),
        ("APP__AUTH__REQUIRED_CLAIMS__HD", "example.com"),
    ];
    let state = state(&settings(&issuer.url, &rules)).await;
    let app = probe_service!(state);
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some("6a906ec119d7ba46a6a43ef1ea842e34a8ee08b4".to_owned());
    let claims = json!({
        "iss": issuer.url, "azp": client, "aud": client, "sub": "110169484474386276334",
        "hd": "example.com", "email": "alice@example.com", "email_verified": true,
        "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q", "name": "Alice", "iat": now(), "exp": now() + 3600,
    });

    let reply = me(&app, &sign_with_header(&header, &keys().rsa, &claims)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut consumer = claims.clone();
    consumer.as_object_mut().unwrap().remove("hd");
    assert_eq!(
        me(&app, &sign_with_header(&header, &keys().rsa, &consumer))
            .await
            .error_description(),
        "claim hd does not have a required value",
        "an account outside the Workspace domain"
    );
}

/// Google documents `accounts.google.com` without a scheme as the other `iss` of its ID tokens:
/// accepted for that issuer only, and named by its identifier wherever an issuer is compared.
#[actix_web::test]
async fn google_id_tokens_with_the_schemeless_iss_verify_too() {
    let keys_server = TestIssuer::start(json!({ "keys": [
        { "n": keys().rsa.jwk["n"], "use": "sig", "kty": "RSA", "alg": "RS256", "kid": "g1", "e": "AQAB" },
    ] }));
    let google = "https://accounts.google.com";
    let client = "407408718192.apps.googleusercontent.com";
    // The keys come from the loopback server; the issuer is Google's own identifier.
    let jwks_uri = format!("{}/keys", keys_server.url);
    let rules = [
        ("APP__AUTH__AUDIENCE", client),
        ("APP__AUTH__JWKS_URI", jwks_uri.as_str()),
    ];
    let state = state(&settings(google, &rules)).await;
    let app = probe_service!(state);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("g1".to_owned());
    let token = |iss: &str| {
        let claims = json!({
            "iss": iss, "azp": client, "aud": client, "sub": "110169484474386276334",
            "iat": now(), "exp": now() + 3600,
        });
        sign_with_header(&header, &keys().rsa, &claims)
    };

    for iss in [google, "accounts.google.com"] {
        let reply = me(&app, &token(iss)).await;
        assert_eq!(reply.status, StatusCode::OK, "{iss}: {}", reply.body);
        assert_eq!(
            reply.body["user"]["iss"], iss,
            "the claims as the token wrote them"
        );
    }
    for iss in [
        "https://accounts.google.com/",
        "accounts.google.com.evil.example",
        "google.com",
    ] {
        let reply = me(&app, &token(iss)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{iss}");
        assert_eq!(reply.error_description(), "issuer mismatch", "{iss}");
    }
}

#[actix_web::test]
async fn pingfederate_access_tokens_without_aud_verify_with_the_readme_settings() {
    let issuer = TestIssuer::start(json!({ "keys": [
        { "kty": "EC", "kid": "pf-ec-1", "use": "sig", "x": keys().ec.jwk["x"], "y": keys().ec.jwk["y"], "crv": "P-256" },
        provider_jwk("pf-rsa-1", json!({ "x5t": b64([6u8; 20]), "x5c": ["MIIDRzCCAi+gAwIBAgIG"] })),
    ] }));
    let rules = [
        ("APP__AUTH__AUDIENCE", "ac_client"),
        ("APP__AUTH__AUDIENCE_CLAIM", "client_id"),
    ];
    let state = state(&settings(&issuer.url, &rules)).await;
    let app = probe_service!(state);
    let claims = json!({
        "scope": ["openid", "probe:read"], "client_id": "ac_client", "iss": issuer.url,
        "sub": "alice", "Username": "alice", "exp": now() + 7200, "iat": now(),
    });
    for (alg, kid, key) in [
        (Algorithm::RS256, "pf-rsa-1", &keys().rsa),
        (Algorithm::ES256, "pf-ec-1", &keys().ec),
    ] {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        let token = sign_with_header(&header, key, &claims);
        let items = probe::scoped(&app, &token).await;
        assert_eq!(items.status, StatusCode::OK, "{alg:?}: {}", items.body);
    }
}
