//! Who may call what: a scoped and a role route (the probe's) against no token, a token
//! without the permission, and one with it; the 403 challenge; permissions in every vendor's
//! claim shape; and the metadata naming exactly the scopes the API's routes enforce.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{
    TestIssuer, claims, get, keys, send, settings, sign, standard_app, standard_jwks, state,
    token_with_scope,
};
use crate::probe::{self, PROBE_ROLE, PROBE_SCOPE, probe_app};
use crate::probe_service;

/// The package name: realm and problem types are named after it.
const NAME: &str = env!("CARGO_PKG_NAME");
const METADATA: &str = "http://localhost:8080/.well-known/oauth-protected-resource";

#[actix_web::test]
async fn a_scoped_route_needs_a_token_and_its_scope() {
    let (issuer, app) = probe_app().await;

    let anonymous = get(&app, "/probe/scoped/an-id", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let forbidden = probe::scoped(&app, &token_with_scope(&issuer.url, "other:read")).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(
        forbidden.header("www-authenticate"),
        Some(
            format!(
                r#"Bearer realm="{NAME}", resource_metadata="{METADATA}", error="insufficient_scope", error_description="insufficient scope", scope="{PROBE_SCOPE}""#
            )
            .as_str()
        )
    );
    assert_eq!(
        forbidden.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(forbidden.body["error"], "insufficient_scope");
    assert_eq!(forbidden.body["status"], 403);

    let allowed = probe::scoped(&app, &token_with_scope(&issuer.url, PROBE_SCOPE)).await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(allowed.body, json!({"sub": "alice"}));
}

#[actix_web::test]
async fn typed_claims_are_read_from_the_verified_token_or_the_token_is_refused() {
    let (issuer, app) = probe_app().await;
    let app = &app;
    let read = |claims| {
        let token = sign(&keys().rsa, &claims);
        async move { crate::common::get_as(app, "/probe/tenant", &token).await }
    };

    let mut fitting = claims(&issuer.url);
    fitting["tenant"] = json!("acme");
    fitting["tier"] = json!(2);
    let answer = read(fitting).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        json!({"sub": "alice", "tenant": "acme", "tier": 2})
    );

    // Without the member the type needs, and with one of another type: not a 500, not a
    // handler run on a default, but the token refused.
    let missing = claims(&issuer.url);
    let mut mistyped = claims(&issuer.url);
    mistyped["tenant"] = json!("acme");
    mistyped["tier"] = json!("gold");
    for refused in [missing, mistyped] {
        let answer = read(refused).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.error_description(), "malformed claims");
        assert!(
            answer
                .header("www-authenticate")
                .is_some_and(|challenge| challenge.contains(r#"error="invalid_token""#))
        );
    }

    let anonymous = get(app, "/probe/tenant", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_caller_read_on_a_route_no_middleware_guards_is_a_server_error_never_a_caller() {
    let (issuer, app) = probe_app().await;
    let token = token_with_scope(&issuer.url, PROBE_SCOPE);
    for authorization in [None, Some(format!("Bearer {token}"))] {
        let answer = get(&app, "/probe-unguarded", authorization.as_deref()).await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(answer.body["status"], 500);
        assert!(
            !answer.body.to_string().contains("middleware"),
            "no internals in the body: {}",
            answer.body
        );
    }
}

#[actix_web::test]
async fn a_role_route_needs_its_role() {
    let (issuer, app) = probe_app().await;
    let mut operator = claims(&issuer.url);
    operator["roles"] = json!(["operator"]);
    let mut admin = claims(&issuer.url);
    admin["roles"] = json!([PROBE_ROLE]);

    assert_eq!(
        get(&app, "/probe/role", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let wrong_role = probe::role(&app, &sign(&keys().ed, &operator)).await;
    assert_eq!(wrong_role.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong_role.body["error"], "insufficient_scope");
    assert_eq!(
        wrong_role.body["detail"],
        format!("this route requires the role {PROBE_ROLE}")
    );
    let allowed = probe::role(&app, &sign(&keys().ed, &admin)).await;
    assert_eq!(allowed.status, StatusCode::OK);
}

#[actix_web::test]
async fn permissions_are_read_from_every_vendor_claim_shape() {
    let (issuer, app) = probe_app().await;
    for (name, value) in [
        ("scope", json!(format!("openid {PROBE_SCOPE}"))),
        ("scp", json!(PROBE_SCOPE)),
        ("scp", json!([PROBE_SCOPE])),
        ("permissions", json!([PROBE_SCOPE])),
    ] {
        let mut claims = claims(&issuer.url);
        claims[name] = value.clone();
        let reply = probe::scoped(&app, &sign(&keys().ed, &claims)).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {value}");
    }
}

#[actix_web::test]
async fn roles_can_come_from_a_nested_claim() {
    let issuer = TestIssuer::start(standard_jwks());
    let settings = settings(
        &issuer.url,
        &[("APP__AUTH__ROLES_CLAIM", "realm_access.roles")],
    );
    let state = state(&settings).await;
    let app = probe_service!(state);
    let mut keycloak = claims(&issuer.url);
    keycloak["realm_access"] = json!({"roles": [PROBE_ROLE]});

    let reply = probe::role(&app, &sign(&keys().ed, &keycloak)).await;

    assert_eq!(reply.status, StatusCode::OK);
}

#[actix_web::test]
async fn the_metadata_lists_exactly_the_scopes_routes_require() {
    let (issuer, app) = standard_app().await;
    let document = get(&app, "/openapi.json", None).await.body;

    // Each name an operation requires, kept if a token granting it only as a scope passes.
    let mut enforced_scopes = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let names = operation["security"][0]["bearer"].as_array();
            for name in names.into_iter().flatten().filter_map(|name| name.as_str()) {
                let token = token_with_scope(&issuer.url, name);
                let request = TestRequest::default()
                    .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
                    .uri(&path.replace("{id}", "an-id"))
                    .insert_header(("Authorization", format!("Bearer {token}")));
                if send(&app, request).await.status != StatusCode::FORBIDDEN {
                    enforced_scopes.insert(name.to_owned());
                }
            }
        }
    }
    let metadata = get(&app, "/.well-known/oauth-protected-resource", None).await;
    // Optional (RFC 9728 §2): absent where no route enforces a scope.
    let listed: Vec<String> = match &metadata.body["scopes_supported"] {
        serde_json::Value::Null => Vec::new(),
        scopes => serde_json::from_value(scopes.clone()).expect("a list of strings"),
    };
    assert!(
        metadata.body.get("scopes_supported").is_none() || !listed.is_empty(),
        "never an empty list"
    );
    assert_eq!(
        listed,
        enforced_scopes.into_iter().collect::<Vec<_>>(),
        "sorted, once each, and exactly the scopes some route enforces"
    );
}
