//! Certificate-bound tokens (RFC 8705 §3) behind a TLS-ending gateway that forwards the client
//! certificate in a header: a token naming a certificate's thumbprint (`cnf.x5t#S256`) is
//! accepted only with that certificate, in either header format, in each mode; a header that
//! holds no certificate is a 400; DPoP and certificate binding hold together.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use crate::common::{
    AUDIENCE, Reply, TestIssuer, claims, get, keys, load_with_profile, send, settings, sign,
    standard_jwks, state,
};
use crate::dpop::{ClientKey, ME};
use crate::service;

/// A client certificate's DER, made for one test.
fn certificate() -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["client.example".to_owned()]).unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

/// RFC 8705 §3.1: base64url of the SHA-256 of the DER.
fn thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, der))
}

fn rfc9440(der: &[u8]) -> String {
    format!(":{}:", STANDARD.encode(der))
}

fn escaped_pem(der: &[u8]) -> String {
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()));
    pem.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A token of `issuer` whose `cnf` is `cnf`.
fn bound(issuer: &str, cnf: serde_json::Value) -> String {
    let mut claims = claims(issuer);
    claims["cnf"] = cnf;
    sign(&keys().ed, &claims)
}

fn me_with(token: &str, certificates: &[&str]) -> TestRequest {
    certificates.iter().fold(
        TestRequest::get()
            .uri("/api/v1/me")
            .insert_header(("Authorization", format!("Bearer {token}"))),
        |request, value| request.append_header(("Client-Cert", *value)),
    )
}

/// Whether some challenge of `reply` (Bearer, or DPoP for a DPoP request) names `reason`.
fn refused_for(reply: &Reply, reason: &str) -> bool {
    reply
        .headers
        .get_all("www-authenticate")
        .filter_map(|challenge| challenge.to_str().ok())
        .any(|challenge| challenge.contains(&format!("error_description=\"{reason}\"")))
}

#[actix_web::test]
async fn a_bound_token_is_accepted_only_with_its_own_certificate() {
    let issuer = TestIssuer::start(standard_jwks());
    let (own, other) = (certificate(), certificate());
    for (format, written) in [
        ("rfc9440", rfc9440 as fn(&[u8]) -> String),
        ("pem-urlencoded", escaped_pem),
    ] {
        let state = state(&settings(
            &issuer.url,
            &[
                ("APP__AUTH__MTLS__CERT_HEADER", "Client-Cert"),
                ("APP__AUTH__MTLS__CERT_FORMAT", format),
            ],
        ))
        .await;
        let app = service!(state);
        let token = bound(&issuer.url, json!({ "x5t#S256": thumbprint(&own) }));
        let (own, other) = (written(&own), written(&other));

        let accepted = send(&app, me_with(&token, &[&own])).await;
        assert_eq!(
            accepted.status,
            StatusCode::OK,
            "{format}: {}",
            accepted.body
        );
        let mismatched = send(&app, me_with(&token, &[&other])).await;
        assert_eq!(mismatched.status, StatusCode::UNAUTHORIZED, "{format}");
        assert!(refused_for(
            &mismatched,
            "token is bound to another client certificate"
        ));
        let missing = send(&app, me_with(&token, &[])).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{format}");
        assert!(refused_for(
            &missing,
            "token is bound to a client certificate"
        ));

        // Unbound tokens pass in the default mode, with or without a certificate.
        let unbound = sign(&keys().ed, &claims(&issuer.url));
        for certificates in [vec![], vec![other.as_str()]] {
            let reply = send(&app, me_with(&unbound, &certificates)).await;
            assert_eq!(reply.status, StatusCode::OK, "{format}");
        }

        // A header that holds no certificate, or two of them, is the request's fault.
        for certificates in [vec!["not a certificate"], vec![own.as_str(), own.as_str()]] {
            let reply = send(&app, me_with(&token, &certificates)).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{format}");
            assert!(
                reply
                    .header("www-authenticate")
                    .unwrap()
                    .contains("error=\"invalid_request\""),
                "{format}"
            );
            assert_eq!(reply.body["status"], 400);
        }
    }
}

#[actix_web::test]
async fn the_required_mode_refuses_unbound_tokens_per_issuer() {
    let shorthand = TestIssuer::start(standard_jwks());
    let listed = TestIssuer::start(standard_jwks());
    let settings = load_with_profile(
        &format!(
            "[[auth.issuers]]\nissuer = \"{}\"\naudience = \"{AUDIENCE}\"\nmtls_mode = \"allowed\"\n",
            listed.url
        ),
        &[
            ("APP__AUTH__ISSUER", &shorthand.url),
            ("APP__AUTH__AUDIENCE", AUDIENCE),
            ("APP__AUTH__MTLS__CERT_HEADER", "Client-Cert"),
            ("APP__AUTH__MTLS__MODE", "required"),
        ],
    )
    .unwrap();
    let state = state(&settings).await;
    let app = service!(state);
    let own = certificate();

    let unbound = send(
        &app,
        me_with(
            &sign(&keys().ed, &claims(&shorthand.url)),
            &[&rfc9440(&own)],
        ),
    )
    .await;
    assert_eq!(unbound.status, StatusCode::UNAUTHORIZED);
    assert!(refused_for(&unbound, "token is not certificate-bound"));
    let bound_token = bound(&shorthand.url, json!({ "x5t#S256": thumbprint(&own) }));
    let reply = send(&app, me_with(&bound_token, &[&rfc9440(&own)])).await;
    assert_eq!(reply.status, StatusCode::OK);

    let listed_unbound = sign(&keys().ed, &claims(&listed.url));
    let reply = send(&app, me_with(&listed_unbound, &[])).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the listed issuer allows unbound tokens"
    );
}

#[actix_web::test]
async fn dpop_and_certificate_binding_hold_together() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__MTLS__CERT_HEADER", "Client-Cert")],
    ))
    .await;
    let app = service!(state);
    let key = ClientKey::new();
    let own = certificate();
    let token = bound(
        &issuer.url,
        json!({ "jkt": key.thumbprint(), "x5t#S256": thumbprint(&own) }),
    );
    let request = |certificates: &[&str]| {
        let proof = key.proof("GET", ME, &token, json!({}));
        certificates.iter().fold(
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("Authorization", format!("DPoP {token}")))
                .insert_header(("DPoP", proof)),
            |request, value| request.append_header(("Client-Cert", *value)),
        )
    };
    assert_eq!(
        send(&app, request(&[&rfc9440(&own)])).await.status,
        StatusCode::OK
    );
    let missing = send(&app, request(&[])).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert!(refused_for(
        &missing,
        "token is bound to a client certificate"
    ));
    let as_bearer = send(&app, me_with(&token, &[&rfc9440(&own)])).await;
    assert_eq!(
        as_bearer.status,
        StatusCode::UNAUTHORIZED,
        "still DPoP-bound"
    );
}

#[actix_web::test]
async fn the_metadata_says_certificate_bound_tokens_are_accepted_only_when_they_are() {
    let issuer = TestIssuer::start(standard_jwks());
    for (vars, accepted) in [
        (
            vec![("APP__AUTH__MTLS__CERT_HEADER", "Client-Cert")],
            Some(true),
        ),
        (vec![], None),
    ] {
        let state = state(&settings(&issuer.url, &vars)).await;
        let app = service!(state);
        let metadata = get(&app, "/.well-known/oauth-protected-resource", None).await;
        assert_eq!(
            metadata.body["tls_client_certificate_bound_access_tokens"].as_bool(),
            accepted
        );
        if accepted.is_none() {
            let own = certificate();
            let token = bound(&issuer.url, json!({ "x5t#S256": thumbprint(&own) }));
            let reply = send(&app, me_with(&token, &[&rfc9440(&own)])).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            assert!(refused_for(&reply, "unsupported confirmation method"));
        }
    }
}

#[test]
fn bad_certificate_settings_stop_startup_naming_the_setting() {
    for (vars, key) in [
        (
            vec![("APP__AUTH__MTLS__MODE", "required")],
            "APP__AUTH__MTLS__MODE",
        ),
        (
            vec![
                ("APP__AUTH__MTLS__CERT_HEADER", "Client-Cert"),
                ("APP__AUTH__MTLS__MODE", "sometimes"),
            ],
            "APP__AUTH__MTLS__MODE",
        ),
        (
            vec![
                ("APP__AUTH__MTLS__CERT_HEADER", "Client-Cert"),
                ("APP__AUTH__MTLS__CERT_FORMAT", "der"),
            ],
            "APP__AUTH__MTLS__CERT_FORMAT",
        ),
        (
            vec![("APP__AUTH__MTLS__CERT_HEADER", "client cert")],
            "APP__AUTH__MTLS__CERT_HEADER",
        ),
    ] {
        let mut all = vec![
            ("APP__AUTH__ISSUER", "https://issuer.example"),
            ("APP__AUTH__AUDIENCE", AUDIENCE),
        ];
        all.extend(vars);
        let error = load_with_profile("", &all).unwrap_err();
        assert_eq!(error.key(), key, "{error}");
    }
    let listed = load_with_profile(
        &format!(
            "[[auth.issuers]]\nissuer = \"https://other.example\"\naudience = \"{AUDIENCE}\"\nmtls_mode = \"maybe\"\n"
        ),
        &[
            ("APP__AUTH__ISSUER", "https://issuer.example"),
            ("APP__AUTH__AUDIENCE", AUDIENCE),
            ("APP__AUTH__MTLS__CERT_HEADER", "Client-Cert"),
        ],
    )
    .unwrap_err();
    assert_eq!(listed.key(), "auth.issuers[0].mtls_mode");
}

#[actix_web::test]
async fn the_doctor_says_where_certificates_are_read_and_in_which_mode() {
    let issuer = TestIssuer::start(standard_jwks());
    let (output, report) = crate::doctor::doctor_with(
        &issuer.url,
        None,
        &[
            ("APP__AUTH__MTLS__CERT_HEADER", "Client-Cert"),
            ("APP__AUTH__MTLS__CERT_FORMAT", "pem-urlencoded"),
            ("APP__AUTH__MTLS__MODE", "required"),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{report}");
    let line = format!(
        "certificate-bound tokens: client certificate read from client-cert (pem-urlencoded); mode: {} required",
        issuer.url
    );
    assert!(report.contains(&line), "{report}");
}
