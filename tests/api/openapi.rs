//! The OpenAPI document against the routing table, both ways: every route the app serves is
//! described, with exactly the methods it answers, and every described operation is served.
//! The app's routes are read from actix-web's own resource map, not from a list kept here.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::Method;
use actix_web::test;
use serde_json::{Value, json};

use crate::common::{claims, keys, load_settings, sign, standard_app, state};

const METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The route patterns of a resource map, read from its `Debug` rendering: each resource's
/// pattern, nested under its scopes' prefixes (the map's index of named resources is skipped).
/// If actix-web renders the map differently, this finds no routes and the comparison fails
/// rather than passes.
fn route_patterns(resource_map: &str) -> BTreeSet<String> {
    const PATTERN: &str = "patterns: Single(\"";
    const NAMED: &str = "named: {";
    const CONTAINER: &str = "nodes: Some([";
    const LEAF: &str = "nodes: None";
    const END_OF_CONTAINER: &str = "}])";
    let (mut prefixes, mut last, mut patterns) =
        (Vec::<String>::new(), String::new(), BTreeSet::new());
    let mut rest = resource_map;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(NAMED) {
            rest = after_closing_brace(after);
        } else if let Some(after) = rest.strip_prefix(PATTERN) {
            let end = after.find('"').expect("a pattern ends with a quote");
            last = after[..end].to_owned();
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix(CONTAINER) {
            prefixes.push(std::mem::take(&mut last));
            rest = after;
        } else if let Some(after) = rest.strip_prefix(LEAF) {
            patterns.insert(format!("{}{last}", prefixes.concat()));
            rest = after;
        } else if let Some(after) = rest.strip_prefix(END_OF_CONTAINER) {
            prefixes.pop();
            rest = after;
        } else {
            let next = rest.chars().next().map_or(1, char::len_utf8);
            rest = &rest[next..];
        }
    }
    patterns
}

/// What follows the `}` closing a block whose `{` was just read, skipping quoted strings
/// (patterns hold braces of their own, as in `{id}`).
fn after_closing_brace(block: &str) -> &str {
    let (mut depth, mut quoted, mut escaped) = (1, false, false);
    for (at, c) in block.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return &block[at + 1..];
                }
            }
            _ => {}
        }
    }
    ""
}

/// The document's operations: path to methods.
fn documented(document: &Value) -> BTreeMap<String, BTreeSet<String>> {
    document["paths"]
        .as_object()
        .expect("the document has paths")
        .iter()
        .map(|(path, item)| {
            let methods = item.as_object().unwrap().keys().map(|m| m.to_uppercase());
            (path.clone(), methods.collect())
        })
        .collect()
}

/// Every scope or role some operation's security names, sorted and once each.
fn security_names(document: &Value) -> Vec<String> {
    let operations = document["paths"].as_object().unwrap().values();
    let names: BTreeSet<String> = operations
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation["security"][0]["bearer"].as_array())
        .flatten()
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect();
    names.into_iter().collect()
}

/// A path that the pattern matches, with every `{name}` filled in.
fn concrete(pattern: &str) -> String {
    pattern.replace("{id}", "an-id")
}

#[actix_web::test]
async fn every_route_is_documented_with_its_methods_and_every_operation_is_served() {
    let (issuer, app) = standard_app().await;
    let response = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let served_routes = route_patterns(&format!("{:?}", response.request().resource_map()));
    let document: Value = test::read_body_json(response).await;
    assert_eq!(document["openapi"], "3.1.0");
    let documented = documented(&document);
    // Every name the document asks for, granted both as a scope and as a role.
    let mut all_permissions = claims(&issuer.url);
    let names = security_names(&document);
    all_permissions["scope"] = json!(names.join(" "));
    all_permissions["roles"] = json!(names);
    let bearer = format!("Bearer {}", sign(&keys().ed, &all_permissions));

    assert!(
        served_routes.contains("/health") && served_routes.contains("/api/v1/me"),
        "the resource map was read: {served_routes:?}"
    );
    let documented_paths: BTreeSet<String> = documented.keys().cloned().collect();
    assert_eq!(
        served_routes, documented_paths,
        "served routes vs documented paths"
    );

    for (pattern, documented_methods) in &documented {
        let mut served_methods = BTreeSet::new();
        for method in METHODS {
            let request = test::TestRequest::default()
                .method(method.clone())
                .uri(&concrete(pattern))
                .insert_header(("Authorization", bearer.as_str()))
                .to_request();
            let response = test::call_service(&app, request).await;
            assert_eq!(
                response.request().match_pattern().as_deref(),
                Some(pattern.as_str()),
                "{method} {pattern} is routed to its own resource"
            );
            if response.status() != 405 {
                served_methods.insert(method.to_string());
            }
        }
        assert_eq!(&served_methods, documented_methods, "methods of {pattern}");
    }
}

#[actix_web::test]
async fn the_development_issuers_routes_are_documented_only_where_they_are_served() {
    let settings = load_settings(
        &[
            ("APP_ENV", "development"),
            ("APP__DEV_ISSUER__KEY_FILE", ""),
        ],
        &[],
    );
    let state = state(&settings).await;
    let app = crate::service!(state);
    let response = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    let served_routes = route_patterns(&format!("{:?}", response.request().resource_map()));
    let document: Value = test::read_body_json(response).await;
    let documented_paths: BTreeSet<String> = documented(&document).keys().cloned().collect();
    assert!(served_routes.contains("/.well-known/jwks.json"));
    assert_eq!(served_routes, documented_paths);
}

#[actix_web::test]
async fn each_operation_states_the_permission_its_route_enforces() {
    let (issuer, app) = standard_app().await;
    let response = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    let document: Value = test::read_body_json(response).await;
    let bearer = |claims: &Value| format!("Bearer {}", sign(&keys().ed, claims));
    let no_permission = bearer(&claims(&issuer.url));

    for (pattern, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let call = |authorization: String| {
                test::TestRequest::default()
                    .method(method.clone())
                    .uri(&concrete(pattern))
                    .insert_header(("Authorization", authorization))
                    .to_request()
            };
            let Some(requirement) = operation["security"][0]["bearer"].as_array() else {
                let response = test::call_service(&app, call(no_permission.clone())).await;
                assert!(
                    response.status() != 401 && response.status() != 403,
                    "{method} {pattern}"
                );
                continue;
            };
            let refused = test::call_service(&app, call(no_permission.clone())).await;
            let granted_claims = {
                let mut granted = claims(&issuer.url);
                // The document does not say whether a name is a scope or a role: grant it as both.
                let wanted: Vec<&str> = requirement.iter().filter_map(Value::as_str).collect();
                granted["scope"] = json!(wanted.join(" "));
                granted["roles"] = json!(wanted);
                // And the authentication its step-up demands (RFC 9470), as `x-step-up` states.
                if let Some(acr) = operation["x-step-up"]["acr_values"].get(0) {
                    granted["acr"] = acr.clone();
                }
                granted["auth_time"] = granted["iat"].clone();
                granted
            };
            let granted = test::call_service(&app, call(bearer(&granted_claims))).await;
            assert!(
                granted.status() != 401 && granted.status() != 403,
                "{method} {pattern}"
            );
            // A token without scopes or roles passes exactly where the document asks for none.
            let expected = if requirement.is_empty() { 200 } else { 403 };
            assert_eq!(
                refused.status(),
                expected,
                "{method} {pattern} needs {requirement:?}"
            );
        }
    }
}
