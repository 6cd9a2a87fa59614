//! The token where the gateway puts it: a configured header and auth-scheme (or the bare token)
//! instead of `Authorization: Bearer`, per issuer or for all, and never the query string.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;

use crate::common::{
    AUDIENCE, TestIssuer, claims, get, keys, load_with_profile, send, settings, sign,
    standard_jwks, state,
};
use crate::service;

const GATEWAY_HEADER: &str = "X-Gateway-Token";

fn me_with(headers: &[(&str, &str)]) -> TestRequest {
    headers
        .iter()
        .fold(TestRequest::get().uri("/api/v1/me"), |request, &header| {
            request.append_header(header)
        })
}

#[actix_web::test]
async fn a_gateway_header_carries_the_bare_token_and_authorization_is_then_not_read() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(
        &issuer.url,
        &[
            ("APP__AUTH__TOKEN_HEADER", GATEWAY_HEADER),
            ("APP__AUTH__TOKEN_PREFIX", ""),
        ],
    ))
    .await;
    let app = service!(state);
    let token = sign(&keys().ed, &claims(&issuer.url));
    let bearer = format!("Bearer {token}");

    let in_gateway_header = send(&app, me_with(&[(GATEWAY_HEADER, &token)])).await;
    assert_eq!(in_gateway_header.status, StatusCode::OK);
    assert_eq!(in_gateway_header.body["user"]["sub"], "alice");
    let beside_the_callers_own = send(
        &app,
        me_with(&[
            (GATEWAY_HEADER, &token),
            ("Authorization", "Basic YWxpY2U6cHc="),
        ]),
    )
    .await;
    assert_eq!(beside_the_callers_own.status, StatusCode::OK);

    let in_authorization = send(&app, me_with(&[("Authorization", &bearer)])).await;
    let in_query = get(&app, &format!("/api/v1/me?access_token={token}"), None).await;
    for refused in [in_authorization, in_query] {
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        let challenge = refused.header("www-authenticate").unwrap();
        assert!(!challenge.contains("error="), "no credential: {challenge}");
    }

    let with_a_scheme = send(&app, me_with(&[(GATEWAY_HEADER, &bearer)])).await;
    assert_eq!(with_a_scheme.status, StatusCode::BAD_REQUEST);
    assert_eq!(with_a_scheme.error_description(), "malformed bearer token");
    let twice = send(
        &app,
        me_with(&[(GATEWAY_HEADER, &token), (GATEWAY_HEADER, &token)]),
    )
    .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(twice.error_description(), "multiple token headers");
}

#[actix_web::test]
async fn a_configured_prefix_is_matched_without_regard_to_case() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(
        &issuer.url,
        &[
            ("APP__AUTH__TOKEN_HEADER", GATEWAY_HEADER),
            ("APP__AUTH__TOKEN_PREFIX", "Token"),
        ],
    ))
    .await;
    let app = service!(state);
    let token = sign(&keys().ed, &claims(&issuer.url));

    let lower = format!("token {token}");
    assert_eq!(
        send(&app, me_with(&[(GATEWAY_HEADER, &lower)]))
            .await
            .status,
        StatusCode::OK
    );
    let other_scheme = format!("Bearer {token}");
    let refused = send(&app, me_with(&[(GATEWAY_HEADER, &other_scheme)])).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        !refused
            .header("www-authenticate")
            .unwrap()
            .contains("error=")
    );
}

#[actix_web::test]
async fn each_issuers_tokens_are_accepted_only_from_its_own_header() {
    let gateway = TestIssuer::start(standard_jwks());
    let auth0 = TestIssuer::start(standard_jwks());
    let settings = load_with_profile(
        &format!(
            r#"
[[auth.issuers]]
issuer = "{}"
audience = "{AUDIENCE}"
token_header = "{GATEWAY_HEADER}"
token_prefix = ""

[[auth.issuers]]
issuer = "{}"
audience = "{AUDIENCE}"
"#,
            gateway.url, auth0.url
        ),
        &[],
    )
    .unwrap();
    let state = state(&settings).await;
    let app = service!(state);
    let gateway_token = sign(&keys().ed, &claims(&gateway.url));
    let auth0_token = sign(&keys().ed, &claims(&auth0.url));
    let bearer = |token: &str| format!("Bearer {token}");

    assert_eq!(
        send(&app, me_with(&[(GATEWAY_HEADER, &gateway_token)]))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, me_with(&[("Authorization", &bearer(&auth0_token))]))
            .await
            .status,
        StatusCode::OK
    );
    // The gateway's header is read first: the caller's own Authorization passes through.
    let both = send(
        &app,
        me_with(&[
            (GATEWAY_HEADER, &gateway_token),
            ("Authorization", &bearer(&auth0_token)),
        ]),
    )
    .await;
    assert_eq!(both.body["user"]["iss"], serde_json::json!(gateway.url));

    for misplaced in [
        me_with(&[("Authorization", &bearer(&gateway_token))]),
        me_with(&[(GATEWAY_HEADER, &auth0_token)]),
    ] {
        let refused = send(&app, misplaced).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            refused.error_description(),
            "token not accepted in this header"
        );
    }
}

#[test]
fn a_token_header_or_prefix_that_cannot_be_one_is_refused() {
    for (name, value) in [
        ("APP__AUTH__TOKEN_HEADER", "X Gateway Token"),
        ("APP__AUTH__TOKEN_PREFIX", "Bearer token"),
    ] {
        let refused = load_with_profile("", &[(name, value)])
            .err()
            .map(|error| error.key().to_owned());
        assert_eq!(refused.as_deref(), Some(name));
    }
}

#[actix_web::test]
async fn issuers_sharing_a_header_agree_on_its_prefix_or_startup_names_the_clash() {
    let first = TestIssuer::start(standard_jwks());
    let second = TestIssuer::start(standard_jwks());
    let two = |prefix: &str| {
        format!(
            r#"
[[auth.issuers]]
issuer = "{}"
audience = "{AUDIENCE}"

[[auth.issuers]]
issuer = "{}"
audience = "{AUDIENCE}"
token_prefix = "{prefix}"
"#,
            first.url, second.url
        )
    };

    for clash in ["Token", ""] {
        let refused = load_with_profile(&two(clash), &[]).err().unwrap();
        assert_eq!(refused.key(), "auth.issuers[1].token_prefix", "{clash:?}");
        assert!(refused.to_string().contains("Bearer"), "{refused}");
    }

    // A case variant is the same auth-scheme: both issuers' tokens are read there.
    let settings = load_with_profile(&two("bearer"), &[]).unwrap();
    let state = state(&settings).await;
    let app = service!(state);
    for issuer in [&first, &second] {
        let token = sign(&keys().ed, &claims(&issuer.url));
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let reply = send(
                &app,
                me_with(&[("Authorization", &format!("{scheme} {token}"))]),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{scheme} {}", reply.body);
        }
    }
}
