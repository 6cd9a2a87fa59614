//! The example resource end to end: create, read, page, replace, update, delete, and each
//! client error as a problem.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::common::{Reply, get, send, standard_app, token_with_scope};

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
    assert_eq!(created.body["created_by"], "alice");

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
