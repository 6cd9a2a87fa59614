//! Who may call what: every protected route against no token, a token without the permission,
//! and one with it; the 403 challenge; and permissions in every vendor's claim shape.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{
    TestIssuer, claims, get, keys, send, settings, sign, standard_app, standard_jwks, state,
    token_with_scope,
};
use crate::service;

/// The package name: realm and problem types are named after it.
const NAME: &str = env!("CARGO_PKG_NAME");
const METADATA: &str = "http://localhost:8080/.well-known/oauth-protected-resource";

/// Every protected route with a body it accepts, and the scope it requires.
fn routes() -> Vec<(
    Method,
    &'static str,
    Option<serde_json::Value>,
    &'static str,
)> {
    let item = Some(json!({"name": "widget"}));
    vec![
        (Method::GET, "/api/v1/items", None, "items:read"),
        (Method::POST, "/api/v1/items", item.clone(), "items:write"),
        (Method::GET, "/api/v1/items/some-id", None, "items:read"),
        (
            Method::PUT,
            "/api/v1/items/some-id",
            item.clone(),
            "items:write",
        ),
        (Method::PATCH, "/api/v1/items/some-id", item, "items:write"),
        (Method::DELETE, "/api/v1/items/some-id", None, "items:write"),
    ]
}

fn request(
    method: &Method,
    path: &str,
    body: &Option<serde_json::Value>,
    token: Option<&str>,
) -> TestRequest {
    let mut request = TestRequest::default().method(method.clone()).uri(path);
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    if let Some(body) = body {
        request = request.set_json(body);
    }
    request
}

#[actix_web::test]
async fn every_route_needs_a_token_and_its_own_scope() {
    let (issuer, app) = standard_app().await;
    for (method, path, body, scope) in routes() {
        let other_scope = if scope == "items:read" {
            "items:write"
        } else {
            "items:read"
        };

        let anonymous = send(&app, request(&method, path, &body, None)).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );

        let without = token_with_scope(&issuer.url, other_scope);
        let forbidden = send(&app, request(&method, path, &body, Some(&without))).await;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(
            forbidden.header("www-authenticate"),
            Some(
                format!(
                    r#"Bearer realm="{NAME}", resource_metadata="{METADATA}", error="insufficient_scope", error_description="insufficient scope", scope="{scope}""#
                )
                .as_str()
            ),
            "{method} {path}"
        );
        assert_eq!(
            forbidden.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(forbidden.body["error"], "insufficient_scope");
        assert_eq!(forbidden.body["status"], 403);

        let with = token_with_scope(&issuer.url, scope);
        let allowed = send(&app, request(&method, path, &body, Some(&with))).await;
        assert!(
            ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&allowed.status),
            "{method} {path}: {}",
            allowed.status
        );
    }
}

#[actix_web::test]
async fn the_admin_route_needs_the_admin_role() {
    let (issuer, app) = standard_app().await;
    let mut operator = claims(&issuer.url);
    operator["roles"] = json!(["operator"]);
    let mut admin = claims(&issuer.url);
    admin["roles"] = json!(["admin"]);

    assert_eq!(
        get(&app, "/api/v1/admin/stats", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let wrong_role = get(
        &app,
        "/api/v1/admin/stats",
        Some(&format!("Bearer {}", sign(&keys().ed, &operator))),
    )
    .await;
    assert_eq!(wrong_role.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong_role.body["error"], "insufficient_scope");
    assert_eq!(
        wrong_role.body["detail"],
        "this route requires the role admin"
    );
    let allowed = get(
        &app,
        "/api/v1/admin/stats",
        Some(&format!("Bearer {}", sign(&keys().ed, &admin))),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(allowed.body, json!({"items": 0, "creators": 0}));
}

#[actix_web::test]
async fn permissions_are_read_from_every_vendor_claim_shape() {
    let (issuer, app) = standard_app().await;
    for (name, value) in [
        ("scope", json!("openid items:read")),
        ("scp", json!("items:read")),
        ("scp", json!(["items:read"])),
        ("permissions", json!(["items:read"])),
    ] {
        let mut claims = claims(&issuer.url);
        claims[name] = value.clone();
        let reply = get(
            &app,
            "/api/v1/items",
            Some(&format!("Bearer {}", sign(&keys().ed, &claims))),
        )
        .await;
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
    let app = service!(state);
    let mut keycloak = claims(&issuer.url);
    keycloak["realm_access"] = json!({"roles": ["admin"]});

    let reply = get(
        &app,
        "/api/v1/admin/stats",
        Some(&format!("Bearer {}", sign(&keys().ed, &keycloak))),
    )
    .await;

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
    assert!(
        enforced_scopes.contains("items:read"),
        "{enforced_scopes:?}"
    );

    let metadata = get(&app, "/.well-known/oauth-protected-resource", None).await;
    let listed: Vec<String> = serde_json::from_value(metadata.body["scopes_supported"].clone())
        .expect("scopes_supported is a list of strings");
    assert_eq!(
        listed,
        enforced_scopes.into_iter().collect::<Vec<_>>(),
        "sorted, once each, and exactly the scopes some route enforces"
    );
}
