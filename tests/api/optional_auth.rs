//! A route where authentication is optional: anonymous without a token, personal with a valid
//! one, and refused (never silently anonymous) with a token present but bad.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{claims, get, keys, send, sign, standard_app};

const GREETING: &str = "/api/v1/greeting";

#[actix_web::test]
async fn without_a_token_the_caller_is_anonymous() {
    let (issuer, app) = standard_app().await;
    let token = sign(&keys().ed, &claims(&issuer.url));
    let anonymous = json!({"message": "Hello, anonymous caller", "authenticated": false});

    let without = get(&app, GREETING, None).await;
    assert_eq!(
        (without.status, &without.body),
        (StatusCode::OK, &anonymous)
    );
    // Another scheme is no bearer credential, and a query token is never read.
    let basic = get(&app, GREETING, Some("Basic YWxpY2U6cHc=")).await;
    let in_query = get(&app, &format!("{GREETING}?access_token={token}"), None).await;
    for reply in [basic, in_query] {
        assert_eq!((reply.status, &reply.body), (StatusCode::OK, &anonymous));
    }
}

#[actix_web::test]
async fn a_valid_token_makes_the_answer_personal() {
    let (issuer, app) = standard_app().await;
    let token = sign(&keys().ed, &claims(&issuer.url));

    let reply = get(&app, GREETING, Some(&format!("Bearer {token}"))).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({"message": "Hello, alice", "authenticated": true})
    );
}

#[actix_web::test]
async fn a_token_present_but_bad_is_refused_not_ignored() {
    let (issuer, app) = standard_app().await;
    let mut expired = claims(&issuer.url);
    expired["exp"] = json!(1_000_000);
    let expired = sign(&keys().ed, &expired);
    let forged = sign(&keys().rogue_rsa, &claims(&issuer.url));

    for token in [expired, forged] {
        let reply = get(&app, GREETING, Some(&format!("Bearer {token}"))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .contains(r#"error="invalid_token""#)
        );
        assert_eq!(reply.body["error"], "invalid_token");
    }
    let malformed = get(&app, GREETING, Some("Bearer not a token")).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let twice = send(
        &app,
        TestRequest::get()
            .uri(GREETING)
            .append_header(("Authorization", "Bearer a.b.c"))
            .append_header(("Authorization", "Bearer a.b.c")),
    )
    .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn the_document_says_the_token_is_optional() {
    let (_issuer, app) = standard_app().await;
    let document = get(&app, "/openapi.json", None).await.body;
    let operation = &document["paths"][GREETING]["get"];
    assert_eq!(
        operation["security"],
        json!([{}, {"bearer": []}, {"dpop": []}])
    );
    assert!(operation["responses"].get("401").is_some());
    assert!(operation["responses"].get("403").is_none());
}
