//! A multi-tenant issuer, as Entra ID runs one: the issuer given with `{tenantid}`, tokens
//! taken when their `iss` is it with their own `tid` in place and that tenant is allowed, keys
//! from the common discovery document whose `issuer` is the template itself.

use actix_web::http::StatusCode;
use serde_json::Value;

use crate::common::{
    AUDIENCE, TestIssuer, claims, keys, load_with_profile, me, settings, sign, standard_jwks, state,
};
use crate::service;

const ALLOWED: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// A loopback issuer whose common document names the template, as Entra's does.
fn multi_tenant_issuer() -> (TestIssuer, String) {
    let issuer = TestIssuer::start(standard_jwks());
    let template = format!("{}/{{tenantid}}/v2.0", issuer.url);
    issuer.set_discovery_issuer(&template);
    (issuer, template)
}

/// Claims of a token of `tenant`, naming `iss_tenant` in its `iss`.
fn tenant_claims(issuer: &TestIssuer, iss_tenant: &str, tenant: &str) -> Value {
    let mut claims = claims(&format!("{}/{iss_tenant}/v2.0", issuer.url));
    claims["tid"] = Value::from(tenant);
    claims
}

#[actix_web::test]
async fn tokens_of_allowed_tenants_verify_and_every_other_is_refused_with_a_fixed_reason() {
    let (issuer, template) = multi_tenant_issuer();
    let state = state(&settings(
        &template,
        &[("APP__AUTH__ALLOWED_TENANTS", &format!("{ALLOWED}, {OTHER}"))],
    ))
    .await;
    let app = service!(state);
    for tenant in [ALLOWED, OTHER] {
        let token = sign(&keys().rsa, &tenant_claims(&issuer, tenant, tenant));
        let reply = me(&app, &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(
            reply.body["user"]["iss"],
            format!("{}/{tenant}/v2.0", issuer.url)
        );
    }

    let stranger = "00000000-0000-0000-0000-000000000001";
    for (iss_tenant, tid, reason) in [
        (stranger, stranger, "tenant not allowed"),
        (ALLOWED, OTHER, "issuer does not match the token's tenant"),
        (OTHER, ALLOWED, "issuer does not match the token's tenant"),
    ] {
        let token = sign(&keys().rsa, &tenant_claims(&issuer, iss_tenant, tid));
        let reply = me(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{iss_tenant} {tid}");
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .contains(&format!("error_description=\"{reason}\"")),
            "{iss_tenant} {tid}: {:?}",
            reply.header("www-authenticate")
        );
    }
    let mut no_tid = tenant_claims(&issuer, ALLOWED, ALLOWED);
    no_tid.as_object_mut().unwrap().remove("tid");
    assert_eq!(
        me(&app, &sign(&keys().rsa, &no_tid)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn any_tenant_is_taken_only_when_star_says_so_and_beside_another_issuer() {
    let (issuer, template) = multi_tenant_issuer();
    let single = TestIssuer::start(standard_jwks());
    let profile = format!(
        "[[auth.issuers]]\nissuer = \"{template}\"\naudience = \"{AUDIENCE}\"\nallowed_tenants = \"*\"\n"
    );
    let settings = load_with_profile(
        &profile,
        &[
            ("APP__AUTH__ISSUER", &single.url),
            ("APP__AUTH__AUDIENCE", AUDIENCE),
        ],
    )
    .unwrap();
    let state = state(&settings).await;
    let app = service!(state);
    let stranger = "00000000-0000-0000-0000-000000000001";
    let token = sign(&keys().ed, &tenant_claims(&issuer, stranger, stranger));
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    let plain = sign(&keys().ed, &claims(&single.url));
    assert_eq!(me(&app, &plain).await.status, StatusCode::OK);
    // The template is no issuer of its own.
    let literal = sign(&keys().ed, &claims(&template));
    assert_eq!(me(&app, &literal).await.status, StatusCode::UNAUTHORIZED);
}

#[test]
fn a_multi_tenant_issuer_without_its_tenants_or_with_bad_ones_stops_startup() {
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    for (issuer, tenants, key, problem) in [
        (
            template,
            "",
            "APP__AUTH__ALLOWED_TENANTS",
            "none is allowed",
        ),
        (
            template,
            "contoso",
            "APP__AUTH__ALLOWED_TENANTS",
            "is not a tenant id",
        ),
        (
            template,
            &format!("{ALLOWED},*"),
            "APP__AUTH__ALLOWED_TENANTS",
            "is not a tenant id",
        ),
        (
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
            ALLOWED,
            "APP__AUTH__ALLOWED_TENANTS",
            "is not a multi-tenant issuer",
        ),
        (
            "https://login.microsoftonline.com/{tenantid}/{tenantid}",
            ALLOWED,
            "APP__AUTH__ISSUER",
            "more than once",
        ),
    ] {
        let error = load_with_profile(
            "",
            &[
                ("APP__AUTH__ISSUER", issuer),
                ("APP__AUTH__AUDIENCE", AUDIENCE),
                ("APP__AUTH__ALLOWED_TENANTS", tenants),
            ],
        )
        .unwrap_err();
        assert_eq!(error.key(), key, "{error}");
        assert!(error.to_string().contains(problem), "{error}");
    }
    for tenants in [ALLOWED, "*", &ALLOWED.to_uppercase()] {
        assert!(
            load_with_profile(
                "",
                &[
                    ("APP__AUTH__ISSUER", template),
                    ("APP__AUTH__AUDIENCE", AUDIENCE),
                    ("APP__AUTH__ALLOWED_TENANTS", tenants),
                ],
            )
            .is_ok(),
            "{tenants}"
        );
    }
}

#[actix_web::test]
async fn the_doctor_shows_the_tenants_and_explains_a_tenants_token() {
    let (issuer, template) = multi_tenant_issuer();
    let token = sign(&keys().ed, &tenant_claims(&issuer, ALLOWED, ALLOWED));
    let (output, report) = crate::doctor::doctor_with(
        &template,
        Some(&token),
        &[("APP__AUTH__ALLOWED_TENANTS", ALLOWED)],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{report}");
    for line in [
        format!("  allowed_tenants: {ALLOWED}"),
        format!("  ✓ jwks_uri {}/keys", issuer.url),
        format!(
            "  ✓ iss `{}/{ALLOWED}/v2.0` is a trusted issuer",
            issuer.url
        ),
        "  verdict: accepted".to_owned(),
    ] {
        assert!(report.contains(&line), "missing `{line}` in:\n{report}");
    }
}
