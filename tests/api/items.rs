//! The example resource end to end: create, read, page, replace, update, delete, each client
//! error as a problem, the scope each route requires, and a failing store as a 500 that leaks
//! nothing.

use std::sync::Arc;

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use actix_web::web;
use app::items::{
    Creator, InMemoryItemStore, Item, ItemDraft, ItemPatch, ItemStore, Page, Stats, StoreError,
};
use futures_util::future::{BoxFuture, FutureExt, ready};
use serde_json::{Value, json};

use crate::common::{
    Reply, TestIssuer, get, send, settings, standard_app, standard_jwks, state, token_with_scope,
};
use crate::service;

const BOTH: &str = "items:read items:write";

fn authorized(request: TestRequest, token: &str) -> TestRequest {
    request.insert_header(("Authorization", format!("Bearer {token}")))
}

#[actix_web::test]
async fn an_item_goes_through_its_whole_life() {
    let (issuer, app) = standard_app().await;
    let token = token_with_scope(&issuer.url, BOTH);

    let created = send(
        &app,
        authorized(TestRequest::post().uri("/api/v1/items"), &token)
            .set_json(json!({"name": "  widget ", "description": "blue"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = format!("/api/v1/items/{id}");
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.body["name"], "widget");
    assert_eq!(
        created.body["created_by"],
        json!({"iss": issuer.url, "sub": "alice"})
    );

    let fetched = send(&app, authorized(TestRequest::get().uri(&location), &token)).await;
    assert_eq!(
        (fetched.status, &fetched.body),
        (StatusCode::OK, &created.body)
    );

    let replaced = send(
        &app,
        authorized(TestRequest::put().uri(&location), &token).set_json(json!({"name": "gadget"})),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(
        (
            replaced.body["name"].clone(),
            replaced.body["description"].clone()
        ),
        (json!("gadget"), Value::Null)
    );

    let patched = send(
        &app,
        authorized(TestRequest::patch().uri(&location), &token)
            .set_json(json!({"description": "red"})),
    )
    .await;
    assert_eq!(
        (
            patched.body["name"].clone(),
            patched.body["description"].clone()
        ),
        (json!("gadget"), json!("red"))
    );

    let deleted = send(
        &app,
        authorized(TestRequest::delete().uri(&location), &token),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = send(&app, authorized(TestRequest::get().uri(&location), &token)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(gone.body["detail"], "no item with this id");
}

#[actix_web::test]
async fn pages_cover_every_item_once_in_creation_order() {
    let (issuer, app) = standard_app().await;
    let token = token_with_scope(&issuer.url, BOTH);
    for n in 0..5 {
        let request = authorized(TestRequest::post().uri("/api/v1/items"), &token)
            .set_json(json!({"name": format!("item-{n}")}));
        assert_eq!(send(&app, request).await.status, StatusCode::CREATED);
    }

    let mut names = Vec::new();
    let mut pages = 0;
    let mut uri = "/api/v1/items?limit=2".to_owned();
    loop {
        let page = send(&app, authorized(TestRequest::get().uri(&uri), &token)).await;
        assert_eq!(page.status, StatusCode::OK);
        pages += 1;
        names.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/v1/items?limit=2&cursor={cursor}"),
            None => break,
        }
    }

    assert_eq!(pages, 3);
    assert_eq!(names, ["item-0", "item-1", "item-2", "item-3", "item-4"]);
}

#[actix_web::test]
async fn a_bad_page_request_names_the_bad_parameters() {
    let (issuer, app) = standard_app().await;
    let token = token_with_scope(&issuer.url, BOTH);
    let reply = send(
        &app,
        authorized(
            TestRequest::get().uri("/api/v1/items?limit=0&cursor=zz!"),
            &token,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&reply), ["limit", "cursor"]);
}

#[actix_web::test]
async fn invalid_bodies_get_422_listing_each_field() {
    let (issuer, app) = standard_app().await;
    let token = token_with_scope(&issuer.url, BOTH);

    let reply = send(
        &app,
        authorized(TestRequest::post().uri("/api/v1/items"), &token)
            .set_json(json!({"name": "", "description": 5, "colour": "red"})),
    )
    .await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(fields(&reply), ["colour", "name", "description"]);
    assert_eq!(reply.body["errors"][1]["message"], "must not be blank");
}

#[actix_web::test]
async fn a_duplicate_name_is_a_conflict_and_unknown_ids_are_not_found() {
    let (issuer, app) = standard_app().await;
    let token = token_with_scope(&issuer.url, BOTH);
    let create = || {
        authorized(TestRequest::post().uri("/api/v1/items"), &token)
            .set_json(json!({"name": "widget"}))
    };
    assert_eq!(send(&app, create()).await.status, StatusCode::CREATED);

    let conflict = send(&app, create()).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.body["status"], 409);

    for request in [
        TestRequest::get().uri("/api/v1/items/missing"),
        TestRequest::delete().uri("/api/v1/items/missing"),
        TestRequest::put()
            .uri("/api/v1/items/missing")
            .set_json(json!({"name": "x"})),
    ] {
        assert_eq!(
            send(&app, authorized(request, &token)).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

fn fields(reply: &Reply) -> Vec<String> {
    reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_metadata_lists_the_scopes_of_the_item_routes() {
    let (_issuer, app) = standard_app().await;
    let metadata = get(&app, "/.well-known/oauth-protected-resource", None).await;
    let scopes = metadata.body["scopes_supported"].as_array().unwrap();
    for scope in BOTH.split(' ') {
        assert!(scopes.contains(&json!(scope)), "{scope} in {scopes:?}");
    }
}

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
async fn the_metadata_lists_the_item_scopes() {
    let (_issuer, app) = standard_app().await;
    let metadata = get(&app, "/.well-known/oauth-protected-resource", None).await;
    let listed = metadata.body["scopes_supported"].as_array().unwrap();
    for scope in ["items:read", "items:write"] {
        assert!(listed.contains(&json!(scope)), "{scope} in {listed:?}");
    }
}

#[actix_web::test]
async fn the_collection_answers_405_with_its_methods() {
    let (issuer, app) = standard_app().await;
    let token = token_with_scope(&issuer.url, "items:read");
    let wrong = send(
        &app,
        authorized(TestRequest::delete().uri("/api/v1/items"), &token),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD, POST"));
}

/// A store whose backend is down, to see what a 500 shows.
struct BrokenStore;

impl ItemStore for BrokenStore {
    fn list(&self, _: Option<u64>, _: usize) -> BoxFuture<'_, Result<Page, StoreError>> {
        down()
    }
    fn create(&self, _: ItemDraft, _: Creator) -> BoxFuture<'_, Result<Item, StoreError>> {
        down()
    }
    fn get(&self, _: &str) -> BoxFuture<'_, Result<Item, StoreError>> {
        down()
    }
    fn replace(&self, _: &str, _: ItemDraft) -> BoxFuture<'_, Result<Item, StoreError>> {
        down()
    }
    fn update(&self, _: &str, _: ItemPatch) -> BoxFuture<'_, Result<Item, StoreError>> {
        down()
    }
    fn delete(&self, _: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        down()
    }
    fn stats(&self) -> BoxFuture<'_, Result<Stats, StoreError>> {
        down()
    }
}

fn down<T: Send + 'static>() -> BoxFuture<'static, Result<T, StoreError>> {
    let why = "connection to db-7.internal:5432 refused".to_owned();
    ready(Err(StoreError::Unavailable(why))).boxed()
}

#[actix_web::test]
async fn an_internal_error_is_a_500_problem_that_leaks_nothing() {
    let issuer = TestIssuer::start(standard_jwks());
    let mut state = state(&settings(&issuer.url, &[])).await;
    state.items = web::Data::from(Arc::new(BrokenStore) as Arc<dyn ItemStore>);
    let app = service!(state);
    let token = token_with_scope(&issuer.url, "items:read");

    let reply = send(
        &app,
        authorized(TestRequest::get().uri("/api/v1/items"), &token),
    )
    .await;

    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        reply.body_without_request_id()["detail"],
        "the service failed to handle the request"
    );
    assert!(!reply.body.to_string().contains("db-7"));
}

// The resource's own rules, without HTTP: validation and the in-memory store.
#[test]
fn a_name_is_blank_exactly_when_the_schema_pattern_says_so() {
    let name_of = |name: &str| ItemDraft::from_json(&serde_json::json!({ "name": name }));
    // ECMA-262 `\S` matches these, so the schema allows them.
    for allowed in ["\u{85}", "\u{1c}", "x"] {
        assert_eq!(
            name_of(allowed).map(|draft| draft.name),
            Ok(allowed.to_owned())
        );
    }
    // And matches none of these, so the schema refuses them.
    for blank in [" ", "\u{feff}", "\t\u{3000}\u{2028}", "\u{a0}\u{200a}"] {
        assert!(name_of(blank).is_err(), "{blank:?}");
    }
    assert_eq!(
        name_of("\u{feff} widget \u{3000}").map(|draft| draft.name),
        Ok("widget".to_owned())
    );
}

#[test]
fn every_invalid_field_is_reported_at_once() {
    let errors =
        ItemDraft::from_json(&json!({"name": 7, "description": [], "color": "red"})).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["color", "name", "description"]);
}

#[test]
fn a_patch_may_clear_the_description_and_keep_the_name() {
    let patch = ItemPatch::from_json(&json!({"description": null})).unwrap();
    assert_eq!(
        patch,
        ItemPatch {
            name: None,
            description: Some(None)
        }
    );
    assert!(ItemDraft::from_json(&json!({"description": "x"})).is_err());
    assert!(ItemDraft::from_json(&json!({"name": "   "})).is_err());
}

fn draft(name: &str) -> ItemDraft {
    ItemDraft {
        name: name.to_owned(),
        description: None,
    }
}

fn creator(iss: &str, sub: &str) -> Creator {
    Creator {
        iss: iss.to_owned(),
        sub: Some(sub.to_owned()),
    }
}

#[actix_web::test]
async fn ids_are_32_lowercase_hex_digits_and_distinct() {
    let store = InMemoryItemStore::default();
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let item = store
            .create(draft(name), creator("https://a", "alice"))
            .await
            .unwrap();
        assert_eq!(item.id.len(), 32, "{}", item.id);
        assert!(
            item.id
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{}",
            item.id
        );
        ids.push(item.id);
    }
    assert_ne!(ids[0], ids[1]);
}

#[actix_web::test]
async fn pages_follow_creation_order_and_end_without_a_cursor() {
    let store = InMemoryItemStore::default();
    for name in ["a", "b", "c"] {
        store
            .create(draft(name), creator("https://a", "alice"))
            .await
            .unwrap();
    }
    let first = store.list(None, 2).await.unwrap();
    let names: Vec<&str> = first.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let second = store.list(first.next, 2).await.unwrap();
    assert_eq!(second.items[0].name, "c");
    assert_eq!(second.next, None);
}

#[actix_web::test]
async fn names_are_unique_and_missing_items_are_not_found() {
    let store = InMemoryItemStore::default();
    let item = store
        .create(draft("a"), creator("https://a", "alice"))
        .await
        .unwrap();
    store
        .create(draft("b"), creator("https://a", "bob"))
        .await
        .unwrap();
    assert_eq!(
        store.create(draft("a"), creator("https://a", "bob")).await,
        Err(StoreError::NameTaken)
    );
    assert_eq!(
        store.replace(&item.id, draft("b")).await,
        Err(StoreError::NameTaken)
    );
    assert_eq!(store.get("nope").await, Err(StoreError::NotFound));
    assert_eq!(
        store.replace("nope", draft("z")).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.stats().await.unwrap().creators, 2);
}

#[actix_web::test]
async fn creators_are_told_apart_by_issuer_and_subject() {
    let store = InMemoryItemStore::default();
    for (name, iss) in [("a", "https://a"), ("b", "https://b"), ("c", "https://a")] {
        store.create(draft(name), creator(iss, "1")).await.unwrap();
    }
    assert_eq!(store.stats().await.unwrap().creators, 2);
}
