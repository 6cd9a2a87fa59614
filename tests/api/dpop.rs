//! DPoP-bound tokens (RFC 9449): a token bound to a key (`cnf.jkt`) is accepted only with the
//! `DPoP` scheme and a fresh proof by that key for this method and URI; everything else is
//! refused with the right code and challenge, in each DPoP mode.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use issuer_trust::dev::DevClientKey;
use jsonwebtoken::get_current_timestamp;
use serde_json::{Value, json};

use crate::common::{
    Reply, TestIssuer, claims, get, keys, send, settings, sign, standard_app, standard_jwks, state,
};
use crate::service;

pub const ME: &str = "http://localhost:8080/api/v1/me";

/// A client's DPoP key, as the development client holds one.
pub struct ClientKey(DevClientKey);

impl ClientKey {
    pub fn new() -> Self {
        Self(DevClientKey::generate().unwrap())
    }

    pub fn thumbprint(&self) -> String {
        self.0.thumbprint().unwrap()
    }

    /// A proof for `method` on `uri` and `token`, with `changes` to its claims.
    pub fn proof(&self, method: &str, uri: &str, token: &str, changes: Value) -> String {
        let mut claims = DevClientKey::proof_claims(method, uri, token).unwrap();
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        self.0.sign_proof(&claims).unwrap()
    }
}

/// A token of `issuer` bound to `key`.
pub fn bound_token(issuer: &str, key: &ClientKey) -> String {
    let mut claims = claims(issuer);
    claims["cnf"] = json!({ "jkt": key.thumbprint() });
    sign(&keys().ed, &claims)
}

pub fn dpop_request(token: &str, proofs: &[&str]) -> TestRequest {
    proofs.iter().fold(
        TestRequest::get()
            .uri("/api/v1/me")
            .insert_header(("Authorization", format!("DPoP {token}"))),
        |request, proof| request.append_header(("DPoP", *proof)),
    )
}

fn challenges(reply: &Reply) -> Vec<&str> {
    reply
        .headers
        .get_all("www-authenticate")
        .map(|value| value.to_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn a_bound_token_with_a_fresh_proof_by_its_key_is_accepted_once_per_proof() {
    let (issuer, app) = standard_app().await;
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let proof = key.proof("GET", ME, &token, json!({}));

    let accepted = send(&app, dpop_request(&token, &[&proof])).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.body["user"]["cnf"]["jkt"], json!(key.thumbprint()));

    let replayed = send(&app, dpop_request(&token, &[&proof])).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replayed.body["error"], "invalid_dpop_proof");
    assert_eq!(replayed.error_description(), "DPoP proof already used");
    let offered = challenges(&replayed);
    assert_eq!(offered.len(), 2, "{offered:?}");
    assert!(offered[0].starts_with("Bearer realm=") && !offered[0].contains("error="));
    assert!(
        offered[1].starts_with(r#"DPoP algs="ES256 ES384 EdDSA PS256 RS256", realm="#)
            && offered[1].contains(r#"error="invalid_dpop_proof""#),
        "{offered:?}"
    );

    // A cached token still needs this request's own proof.
    let fresh = key.proof("GET", ME, &token, json!({}));
    assert_eq!(
        send(&app, dpop_request(&token, &[&fresh])).await.status,
        StatusCode::OK
    );
    let without = send(&app, dpop_request(&token, &[])).await;
    assert_eq!(without.error_description(), "missing DPoP proof");
}

#[actix_web::test]
async fn a_bound_token_is_refused_as_a_bearer_token_or_with_another_keys_proof() {
    let (issuer, app) = standard_app().await;
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);

    let as_bearer = get(&app, "/api/v1/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(as_bearer.body["error"], "invalid_token");
    assert_eq!(
        as_bearer.error_description(),
        "DPoP-bound token presented as a bearer token"
    );

    let thief = ClientKey::new();
    let stolen = thief.proof("GET", ME, &token, json!({}));
    let reply = send(&app, dpop_request(&token, &[&stolen])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_description(), "token is bound to another key");
    // The error of a DPoP request is on the DPoP challenge (RFC 9449 §7.1).
    let offered = challenges(&reply);
    assert!(!offered[0].contains("error="), "{offered:?}");
    assert!(
        offered[1].starts_with("DPoP ") && offered[1].contains(r#"error="invalid_token""#),
        "{offered:?}"
    );

    let unbound = sign(&keys().ed, &claims(&issuer.url));
    let proof = key.proof("GET", ME, &unbound, json!({}));
    let reply = send(&app, dpop_request(&unbound, &[&proof])).await;
    assert_eq!(reply.error_description(), "token is not DPoP-bound");
}

#[actix_web::test]
async fn the_proof_must_be_for_this_request_whatever_the_host_headers_say() {
    let (issuer, app) = standard_app().await;
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let elsewhere = "https://evil.example.com/api/v1/me";

    for (proof, reason) in [
        (
            key.proof("POST", ME, &token, json!({})),
            "DPoP proof htm does not match the request method",
        ),
        (
            key.proof(
                "GET",
                "http://localhost:8080/api/v1/elsewhere",
                &token,
                json!({}),
            ),
            "DPoP proof htu does not match the request URI",
        ),
        (
            key.proof("GET", ME, "another token", json!({})),
            "DPoP proof ath does not match the access token",
        ),
        (
            key.proof(
                "GET",
                ME,
                &token,
                json!({"iat": get_current_timestamp() - 301}),
            ),
            "DPoP proof iat is outside the accepted window",
        ),
    ] {
        let reply = send(&app, dpop_request(&token, &[&proof])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reason}");
        assert_eq!(reply.error_description(), reason);
    }
    let proof = key.proof("GET", elsewhere, &token, json!({}));
    let spoofed = dpop_request(&token, &[&proof])
        .insert_header(("Host", "evil.example.com"))
        .insert_header(("X-Forwarded-Host", "evil.example.com"))
        .insert_header(("X-Forwarded-Proto", "https"));
    assert_eq!(
        send(&app, spoofed).await.error_description(),
        "DPoP proof htu does not match the request URI"
    );
    let with_query = key.proof("GET", &format!("{ME}?page=2"), &token, json!({}));
    let request = dpop_request(&token, &[&with_query]).uri("/api/v1/me?page=3");
    assert_eq!(send(&app, request).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn several_proofs_or_credentials_are_a_bad_request() {
    let (issuer, app) = standard_app().await;
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let one = key.proof("GET", ME, &token, json!({}));
    let two = key.proof("GET", ME, &token, json!({}));

    let reply = send(&app, dpop_request(&token, &[&one, &two])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_description(), "multiple DPoP proofs");
    let both = TestRequest::get()
        .uri("/api/v1/me")
        .append_header(("Authorization", format!("Bearer {token}")))
        .append_header(("Authorization", format!("DPoP {token}")))
        .append_header(("DPoP", one.as_str()));
    let reply = send(&app, both).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "invalid_request");
}

#[actix_web::test]
async fn a_proof_is_accepted_once_even_when_replayed_at_the_same_moment() {
    let (issuer, app) = standard_app().await;
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let proof = key.proof("GET", ME, &token, json!({}));

    let replies = futures_util::future::join_all(
        (0..32).map(|_| send(&app, dpop_request(&token, &[&proof]))),
    )
    .await;

    let accepted = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let replayed = replies
        .iter()
        .filter(|r| r.error_description() == "DPoP proof already used")
        .count();
    assert_eq!((accepted, replayed), (1, 31));
}

#[actix_web::test]
async fn where_dpop_is_required_bearer_tokens_are_refused_and_the_metadata_says_so() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[("APP__AUTH__DPOP", "required")])).await;
    let app = service!(state);
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let unbound = sign(&keys().ed, &claims(&issuer.url));

    let bearer = get(&app, "/api/v1/me", Some(&format!("Bearer {unbound}"))).await;
    assert_eq!(bearer.error_description(), "token is not DPoP-bound");
    let proof = key.proof("GET", ME, &token, json!({}));
    assert_eq!(
        send(&app, dpop_request(&token, &[&proof])).await.status,
        StatusCode::OK
    );
    let anonymous = get(&app, "/api/v1/me", None).await;
    let offered = challenges(&anonymous);
    assert_eq!(offered.len(), 1, "only DPoP is offered: {offered:?}");
    assert!(offered[0].starts_with("DPoP algs="));
    let metadata = get(&app, "/.well-known/oauth-protected-resource", None).await;
    assert_eq!(metadata.body["dpop_bound_access_tokens_required"], true);
}

#[actix_web::test]
async fn where_dpop_is_off_the_scheme_is_no_credential_and_bound_tokens_still_fail() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[("APP__AUTH__DPOP", "off")])).await;
    let app = service!(state);
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let proof = key.proof("GET", ME, &token, json!({}));

    let dpop = send(&app, dpop_request(&token, &[&proof])).await;
    assert_eq!(dpop.status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&dpop).len(), 1);
    assert!(!challenges(&dpop)[0].contains("error="));
    let bearer = get(&app, "/api/v1/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(
        bearer.error_description(),
        "DPoP-bound token presented as a bearer token"
    );
    let metadata = get(&app, "/.well-known/oauth-protected-resource", None).await;
    assert!(
        metadata
            .body
            .get("dpop_signing_alg_values_supported")
            .is_none()
    );
}

#[test]
fn a_dpop_mode_or_algorithm_that_is_no_choice_is_refused() {
    for (name, value) in [
        ("APP__AUTH__DPOP", "sometimes"),
        ("APP__AUTH__DPOP_ALGORITHMS", "ES256,HS256"),
        ("APP__AUTH__DPOP_PROOF_MAX_AGE_SECONDS", "0"),
    ] {
        let refused = crate::common::load_with_profile("", &[(name, value)])
            .err()
            .map(|error| error.key().to_owned());
        assert_eq!(refused.as_deref(), Some(name));
    }
}

#[actix_web::test]
async fn the_document_offers_the_dpop_scheme_where_it_is_accepted() {
    let (_issuer, app) = standard_app().await;
    let document = get(&app, "/openapi.json", None).await.body;
    assert_eq!(
        document["components"]["securitySchemes"]["dpop"]["scheme"],
        "DPoP"
    );
    assert_eq!(
        document["paths"]["/api/v1/me"]["get"]["security"],
        json!([{"bearer": []}, {"dpop": []}])
    );

    let issuer = TestIssuer::start(standard_jwks());
    let off = state(&settings(&issuer.url, &[("APP__AUTH__DPOP", "off")])).await;
    let app = service!(off);
    let document = get(&app, "/openapi.json", None).await.body;
    assert!(
        document["components"]["securitySchemes"]
            .get("dpop")
            .is_none()
    );
    assert_eq!(
        document["paths"]["/api/v1/me"]["get"]["security"],
        json!([{"bearer": []}])
    );
}

#[actix_web::test]
async fn where_nonces_are_required_a_proof_without_one_gets_a_fresh_nonce_to_retry_with() {
    let issuer = TestIssuer::start(standard_jwks());
    let nonces = [("APP__AUTH__DPOP_NONCE_LIFETIME_SECONDS", "60")];
    let state = state(&settings(&issuer.url, &nonces)).await;
    let app = service!(state);
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);

    let first = send(
        &app,
        dpop_request(&token, &[&key.proof("GET", ME, &token, json!({}))]),
    )
    .await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert_eq!(first.body["error"], "use_dpop_nonce");
    let offered = challenges(&first);
    assert!(
        offered[1].starts_with("DPoP ") && offered[1].contains(r#"error="use_dpop_nonce""#),
        "{offered:?}"
    );
    let nonce = first
        .header("dpop-nonce")
        .expect("a nonce to retry with")
        .to_owned();

    let retry = key.proof("GET", ME, &token, json!({ "nonce": nonce }));
    let second = send(&app, dpop_request(&token, &[&retry])).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let made_up = key.proof("GET", ME, &token, json!({ "nonce": "bm90LWEtbm9uY2U" }));
    let third = send(&app, dpop_request(&token, &[&made_up])).await;
    assert_eq!(third.body["error"], "use_dpop_nonce");
}

#[actix_web::test]
async fn each_issuer_has_its_own_dpop_mode() {
    let strict = TestIssuer::start(standard_jwks());
    let legacy = TestIssuer::start(standard_jwks());
    let settings = crate::common::load_with_profile(
        &format!(
            r#"
[[auth.issuers]]
issuer = "{}"
audience = "{}"
dpop = "required"

[[auth.issuers]]
issuer = "{}"
audience = "{}"
dpop = "off"
"#,
            strict.url,
            crate::common::AUDIENCE,
            legacy.url,
            crate::common::AUDIENCE
        ),
        &[],
    )
    .unwrap();
    let state = state(&settings).await;
    let app = service!(state);
    let key = ClientKey::new();
    let bearer = |token: &str| format!("Bearer {token}");

    let strict_bearer = sign(&keys().ed, &claims(&strict.url));
    let refused = get(&app, "/api/v1/me", Some(&bearer(&strict_bearer))).await;
    assert_eq!(refused.error_description(), "token is not DPoP-bound");
    let strict_bound = bound_token(&strict.url, &key);
    let proof = key.proof("GET", ME, &strict_bound, json!({}));
    assert_eq!(
        send(&app, dpop_request(&strict_bound, &[&proof]))
            .await
            .status,
        StatusCode::OK
    );

    let legacy_bearer = sign(&keys().ed, &claims(&legacy.url));
    assert_eq!(
        get(&app, "/api/v1/me", Some(&bearer(&legacy_bearer)))
            .await
            .status,
        StatusCode::OK
    );
    let legacy_bound = bound_token(&legacy.url, &key);
    let proof = key.proof("GET", ME, &legacy_bound, json!({}));
    let reply = send(&app, dpop_request(&legacy_bound, &[&proof])).await;
    assert_eq!(
        reply.error_description(),
        "DPoP is not accepted for this issuer"
    );
    let metadata = get(&app, "/.well-known/oauth-protected-resource", None).await;
    assert_eq!(metadata.body["dpop_bound_access_tokens_required"], false);
}

#[actix_web::test]
async fn a_dpop_request_without_the_routes_scope_is_refused_on_the_dpop_challenge() {
    let (issuer, app) = crate::probe::probe_app().await;
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let scoped = "http://localhost:8080/probe/scoped/an-id";
    let proof = key.proof("GET", scoped, &token, json!({}));

    let reply = send(
        &app,
        dpop_request(&token, &[&proof]).uri("/probe/scoped/an-id"),
    )
    .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let offered = challenges(&reply);
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert!(
        offered[0].starts_with("DPoP ")
            && offered[0].contains(r#"error="insufficient_scope""#)
            && offered[0].contains(r#"scope="probe:read""#),
        "{offered:?}"
    );
}

#[actix_web::test]
async fn the_proof_window_is_configurable() {
    let issuer = TestIssuer::start(standard_jwks());
    let window = [
        ("APP__AUTH__DPOP_PROOF_MAX_AGE_SECONDS", "10"),
        ("APP__AUTH__DPOP_PROOF_MAX_SKEW_SECONDS", "0"),
    ];
    let state = state(&settings(&issuer.url, &window)).await;
    let app = service!(state);
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let now = get_current_timestamp();

    for (iat, accepted) in [(now - 20, false), (now + 5, false), (now - 5, true)] {
        let proof = key.proof("GET", ME, &token, json!({ "iat": iat }));
        let reply = send(&app, dpop_request(&token, &[&proof])).await;
        assert_eq!(
            reply.status == StatusCode::OK,
            accepted,
            "iat {iat} at {now}"
        );
    }
}

#[actix_web::test]
async fn a_proof_header_that_is_not_a_public_key_proof_is_refused_before_its_signature() {
    let (issuer, app) = standard_app().await;
    let key = ClientKey::new();
    let token = bound_token(&issuer.url, &key);
    let proof = key.proof("GET", ME, &token, json!({}));
    let (header, rest) = proof.split_once('.').unwrap();
    let decoded = |segment: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    };
    let header = decoded(header);
    let with = |changes: Value| {
        let mut changed = header.clone();
        for (name, value) in changes.as_object().unwrap() {
            changed[name] = value.clone();
        }
        format!("{}.{rest}", crate::common::b64(changed.to_string()))
    };
    let mut private = header["jwk"].clone();
    private["d"] = json!(crate::common::b64([9u8; 32]));
    let another_proof = ClientKey::new().proof("GET", ME, &token, json!({}));
    let other_key = decoded(another_proof.split_once('.').unwrap().0)["jwk"].clone();

    for (forged, reason) in [
        (
            with(json!({"typ": "JWT"})),
            "DPoP proof typ is not dpop+jwt",
        ),
        (
            with(json!({"alg": "none"})),
            "DPoP proof algorithm not allowed",
        ),
        (
            with(json!({"alg": "HS256"})),
            "DPoP proof algorithm not allowed",
        ),
        (
            with(json!({"jwk": private})),
            "DPoP proof key is missing, private or unusable",
        ),
        (
            with(json!({"jwk": null})),
            "DPoP proof key is missing, private or unusable",
        ),
        (
            with(json!({"jwk": other_key})),
            "invalid DPoP proof signature",
        ),
    ] {
        let reply = send(&app, dpop_request(&token, &[&forged])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reason}");
        assert_eq!(reply.body["error"], "invalid_dpop_proof");
        assert_eq!(reply.error_description(), reason);
    }
}
