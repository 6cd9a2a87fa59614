//! `make doctor`, run as a user would: the binary against a live test issuer.

use std::process::{Command, Output};

use serde_json::json;

use crate::common::{AUDIENCE, TestIssuer, claims, dead_url, keys, sign, standard_jwks};

/// Runs the doctor off the test's runtime thread, which keeps serving the test issuer.
async fn doctor(issuer: &str, token: Option<&str>) -> (Output, String) {
    doctor_with(issuer, token, &[]).await
}

/// The doctor with more settings in its environment.
pub(crate) async fn doctor_with(
    issuer: &str,
    token: Option<&str>,
    vars: &[(&str, &str)],
) -> (Output, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_doctor"));
    command
        .env("APP_ENV", "test")
        .env("APP__AUTH__ISSUER", issuer)
        .env("APP__AUTH__AUDIENCE", AUDIENCE)
        .envs(vars.iter().copied())
        .env_remove("TOKEN");
    if let Some(token) = token {
        command.env("TOKEN", token);
    }
    let output = actix_web::rt::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    (output, stdout)
}

#[actix_web::test]
async fn doctor_reports_the_keys_and_passes_a_good_token() {
    let issuer = TestIssuer::start(standard_jwks());
    let token = sign(&keys().ed, &claims(&issuer.url));

    let (output, report) = doctor(&issuer.url, Some(&token)).await;

    assert_eq!(output.status.code(), Some(0), "{report}");
    for line in [
        format!("  ✓ jwks_uri {}/keys", issuer.url),
        "  ✓ 3 usable key(s): rsa-1, ec-1, ed-1".to_owned(),
        "    key kid=ed-1 kty=OKP crv=Ed25519".to_owned(),
        "  ✓ signature verifies".to_owned(),
        "  ✓ iss".to_owned(),
        "  ✓ exp".to_owned(),
        "  verdict: accepted".to_owned(),
    ] {
        assert!(report.contains(&line), "missing `{line}` in:\n{report}");
    }
}

#[actix_web::test]
async fn doctor_explains_each_failure_of_a_bad_token() {
    let issuer = TestIssuer::start(standard_jwks());
    let mut expired = claims(&issuer.url);
    expired["exp"] = json!(1_000_000);
    expired["aud"] = json!("api://elsewhere");
    let token = crate::common::sign_as(&keys().rogue_rsa, keys().rsa.alg, Some("rsa-1"), &expired);

    let (output, report) = doctor(&issuer.url, Some(&token)).await;

    assert_eq!(output.status.code(), Some(1), "{report}");
    for line in [
        "  ✗ signature verifies",
        "  ✗ aud [\"api://elsewhere\"]",
        "  ✗ exp Mon, 12 Jan 1970",
        "  verdict: rejected: invalid signature",
        "doctor: some checks failed",
    ] {
        assert!(report.contains(line), "missing `{line}` in:\n{report}");
    }
}

/// A token the verifier accepts may still be refused as it would be sent: the verdict is the
/// DPoP rules' too, as for a request.
#[actix_web::test]
async fn doctor_says_how_a_bound_token_must_be_sent_and_when_dpop_refuses_a_token() {
    let issuer = TestIssuer::start(standard_jwks());
    let mut bound = claims(&issuer.url);
    bound["cnf"] = json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" });
    let bound = sign(&keys().ed, &bound);
    let unbound = sign(&keys().ed, &claims(&issuer.url));

    let (output, report) = doctor(&issuer.url, Some(&bound)).await;
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(
        report.contains("  verdict: accepted as a DPoP token: it is bound to a client key"),
        "{report}"
    );

    for (mode, token, verdict) in [
        (
            "off",
            &bound,
            "  verdict: rejected: DPoP is not accepted for this issuer",
        ),
        (
            "required",
            &unbound,
            "  verdict: rejected: token is not DPoP-bound",
        ),
    ] {
        let (output, report) =
            doctor_with(&issuer.url, Some(token), &[("APP__AUTH__DPOP", mode)]).await;
        assert_eq!(output.status.code(), Some(1), "{mode}: {report}");
        assert!(
            report.contains(verdict),
            "{mode}: missing `{verdict}` in:\n{report}"
        );
    }
    let (output, report) = doctor_with(
        &issuer.url,
        Some(&bound),
        &[("APP__AUTH__DPOP", "required")],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{report}");
}

#[actix_web::test]
async fn doctor_fails_when_the_issuer_cannot_be_reached() {
    let (output, report) = doctor(&dead_url(), None).await;

    assert_eq!(output.status.code(), Some(1));
    assert!(
        report.contains("  ✗ discovery: the issuer could not be reached"),
        "{report}"
    );
}

#[actix_web::test]
async fn doctor_names_the_setting_that_would_accept_a_token_without_aud() {
    let issuer = TestIssuer::start(standard_jwks());
    let mut cognito = claims(&issuer.url);
    cognito.as_object_mut().unwrap().remove("aud");
    cognito["client_id"] = json!(AUDIENCE);
    cognito["token_use"] = json!("access");
    let token = sign(&keys().rsa, &cognito);

    let (output, report) = doctor(&issuer.url, Some(&token)).await;
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains(
            "  ✗ aud is missing; claim client_id names a configured audience: \
             set APP__AUTH__AUDIENCE_CLAIM=client_id"
        ),
        "{report}"
    );

    let rules = [
        ("APP__AUTH__AUDIENCE_CLAIM", "client_id"),
        ("APP__AUTH__REQUIRED_CLAIMS__TOKEN_USE", "access"),
        ("APP__AUTH__MAX_TOKEN_LIFETIME_SECONDS", "3600"),
    ];
    let (output, report) = doctor_with(&issuer.url, Some(&token), &rules).await;
    assert_eq!(output.status.code(), Some(0), "{report}");
    for line in [
        "  ✓ no aud; audience_claim client_id [\"api://test\"]",
        "  ✓ claim token_use is one of [\"access\"] (required_claims)",
        "  ✓ lifetime exp − iat = 300 s, at most 3600 s",
        "  verdict: accepted",
    ] {
        assert!(report.contains(line), "missing `{line}` in:\n{report}");
    }
}

#[actix_web::test]
async fn issuer_text_in_the_report_is_escaped_and_forges_no_line() {
    let mut jwks = standard_jwks();
    jwks["keys"].as_array_mut().unwrap().push(json!({
        "kty": "oct", "kid": "bad\n  ✓ forged\r", "k": "c2VjcmV0"
    }));
    let issuer = TestIssuer::start(jwks);
    let forged = crate::common::sign_as(
        &keys().ed,
        keys().ed.alg,
        Some("gone\n  verdict: accepted"),
        &claims(&issuer.url),
    );

    let (_, report) = doctor(&issuer.url, Some(&forged)).await;

    assert!(
        report.contains(r"skipped key bad\n  ✓ forged\r:"),
        "{report}"
    );
    assert!(
        report.contains(r"kid=bad\n  ✓ forged\r kty=oct"),
        "{report}"
    );
    assert!(
        report.lines().all(|line| !line.starts_with("  ✓ forged")
            && line != "  verdict: accepted"
            && !line.contains('\r')),
        "{report}"
    );
}

#[actix_web::test]
async fn doctor_reads_keys_handed_over_and_fetches_nothing() {
    let issuer = "https://static-keys.invalid";
    let jwks = json!({ "keys": [keys().ed.jwk] }).to_string();
    let token = sign(&keys().ed, &claims(issuer));

    let (output, report) =
        doctor_with(issuer, Some(&token), &[("APP__AUTH__JWKS_INLINE", &jwks)]).await;

    assert_eq!(output.status.code(), Some(0), "{report}");
    for line in [
        "  ✓ jwks_inline (",
        "no discovery, no fetch)",
        "  ✓ 1 usable key(s): ed-1",
        "  verdict: accepted",
    ] {
        assert!(report.contains(line), "missing `{line}` in:\n{report}");
    }
}

#[actix_web::test]
async fn doctor_says_where_traces_go_without_showing_header_values() {
    let issuer = TestIssuer::start(standard_jwks());

    let (_, silent) = doctor_with(&issuer.url, None, &[]).await;
    let (output, exported) = doctor_with(
        &issuer.url,
        None,
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://user:pw@collector.internal:4318/",
            ),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret,x-team=core"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ],
    )
    .await;
    let (refused, refusal) = doctor_with(
        &issuer.url,
        None,
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://collector.internal:4318",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    )
    .await;

    assert!(
        silent.contains("traces: not exported (no OTEL_EXPORTER_OTLP_ENDPOINT)"),
        "{silent}"
    );
    assert!(output.status.success(), "{exported}");
    let line = format!(
        "traces: exported over OTLP/HTTP to http://collector.internal:4318/v1/traces as service \
         {}, sampler parentbased_traceidratio 0.25",
        env!("CARGO_PKG_NAME")
    );
    assert!(exported.contains(&line), "{exported}");
    assert!(
        exported.contains("headers x-api-key, x-team (values hidden)"),
        "{exported}"
    );
    assert!(
        !exported.contains("s3cret") && !exported.contains("pw@"),
        "{exported}"
    );
    assert!(!refused.status.success());
    assert!(
        refusal.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported"),
        "{refusal}"
    );
}
