//! Keys handed over instead of fetched (`jwks_file`, `jwks_inline`): tokens verify with no
//! discovery and no fetch, a changed file is taken without a restart, a broken one leaves the
//! last good set serving and says why, and each misuse stops startup naming the setting.

use std::path::PathBuf;
use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{
    AUDIENCE, SHORT_LIFETIMES, TestIssuer, claims, keys, load_settings, load_with_profile, me,
    settings, sign, standard_jwks, state,
};
use crate::service;

/// An issuer no test serves: any fetch from it would fail.
const STATIC_ISSUER: &str = "https://static-keys.invalid";

/// A file of its own for one test, holding `jwks`.
fn key_file(name: &str, jwks: &Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!("static-keys-{}-{name}.json", std::process::id()));
    std::fs::write(&path, jwks.to_string()).unwrap();
    path
}

#[actix_web::test]
async fn keys_in_a_file_verify_without_a_fetch_and_a_changed_file_is_taken() {
    let keys = keys();
    let path = key_file("changed", &json!({ "keys": [keys.rsa.jwk] }));
    let mut vars = vec![("APP__AUTH__JWKS_FILE", path.to_str().unwrap())];
    vars.extend(SHORT_LIFETIMES);
    let state = state(&settings(STATIC_ISSUER, &vars)).await;
    let app = service!(state);
    let rsa_token = sign(&keys.rsa, &claims(STATIC_ISSUER));
    let ed_token = sign(&keys.ed, &claims(STATIC_ISSUER));
    assert_eq!(me(&app, &rsa_token).await.status, StatusCode::OK);
    assert_eq!(me(&app, &ed_token).await.status, StatusCode::UNAUTHORIZED);

    // Replaced in place, as a mounted Secret is: the new key verifies within the minimum
    // lifetime of a set, with no restart.
    std::fs::write(&path, json!({ "keys": [keys.ed.jwk] }).to_string()).unwrap();
    let mut taken = false;
    for _ in 0..50 {
        if me(&app, &ed_token).await.status == StatusCode::OK {
            taken = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(taken, "the changed file was never read again");

    // A broken file keeps the last good set, and the store says why.
    std::fs::write(&path, "{ not json").unwrap();
    let store = state.stores().next().unwrap();
    let mut reported = None;
    for _ in 0..50 {
        reported = store.status().last_error;
        if reported.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        reported.as_deref(),
        Some("the JWKS is not a JSON object"),
        "the broken file is reported"
    );
    assert_eq!(me(&app, &ed_token).await.status, StatusCode::OK);
    assert_eq!(store.status().key_count, 1);
    let _ = std::fs::remove_file(&path);
}

#[actix_web::test]
async fn keys_given_inline_verify_and_every_key_rule_applies() {
    let keys = keys();
    let jwks = json!({ "keys": [keys.rsa.jwk, keys.ed.jwk] }).to_string();
    let state = state(&settings(
        STATIC_ISSUER,
        &[("APP__AUTH__JWKS_INLINE", &jwks)],
    ))
    .await;
    assert!(state.stores().all(|store| store.is_ready()));
    let app = service!(state);
    for key in [&keys.rsa, &keys.ed] {
        let token = sign(key, &claims(STATIC_ISSUER));
        assert_eq!(me(&app, &token).await.status, StatusCode::OK, "{}", key.kid);
    }
    let rogue = sign(&keys.rogue_rsa, &claims(STATIC_ISSUER));
    assert_eq!(me(&app, &rogue).await.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_service_with_keys_handed_over_is_ready_as_it_starts() {
    let jwks = json!({ "keys": [keys().ed.jwk] }).to_string();
    let settings = settings(STATIC_ISSUER, &[("APP__AUTH__JWKS_INLINE", &jwks)]);
    let application = app::startup::Application::build(settings).await.unwrap();
    assert!(
        application.state().stores().all(|store| store.is_ready()),
        "loaded before the server runs"
    );
}

#[actix_web::test]
async fn a_static_issuer_and_a_fetched_one_are_trusted_side_by_side() {
    let keys = keys();
    let jwks = json!({ "keys": [keys.ed.jwk] })
        .to_string()
        .replace('"', "\\\"");
    let fetched = TestIssuer::start(standard_jwks());
    let profile = format!(
        "[[auth.issuers]]\nissuer = \"{STATIC_ISSUER}\"\naudience = \"{}\"\njwks_inline = \"{jwks}\"\n",
        AUDIENCE
    );
    let settings = load_with_profile(
        &profile,
        &[
            ("APP__AUTH__ISSUER", &fetched.url),
            ("APP__AUTH__AUDIENCE", AUDIENCE),
        ],
    )
    .unwrap();
    let app = service!(state(&settings).await);
    for issuer in [STATIC_ISSUER, fetched.url.as_str()] {
        let token = sign(&keys.ed, &claims(issuer));
        assert_eq!(me(&app, &token).await.status, StatusCode::OK, "{issuer}");
    }
}

#[test]
fn each_misuse_stops_startup_naming_the_setting() {
    let refused = |vars: &[(&str, &str)]| {
        let mut all = vec![
            ("APP__AUTH__ISSUER", STATIC_ISSUER),
            ("APP__AUTH__AUDIENCE", AUDIENCE),
        ];
        all.extend_from_slice(vars);
        load_with_profile("", &all).unwrap_err()
    };
    let jwks = json!({ "keys": [keys().ed.jwk] }).to_string();
    let file = key_file("misuse", &json!({ "keys": [keys().ed.jwk] }));
    let file = file.to_str().unwrap();
    for (vars, key) in [
        (
            vec![("APP__AUTH__JWKS_FILE", "/no/such/file.json")],
            "APP__AUTH__JWKS_FILE",
        ),
        (
            vec![("APP__AUTH__JWKS_INLINE", "{ not json")],
            "APP__AUTH__JWKS_INLINE",
        ),
        (
            vec![("APP__AUTH__JWKS_INLINE", r#"{"keys": []}"#)],
            "APP__AUTH__JWKS_INLINE",
        ),
        (
            vec![
                ("APP__AUTH__JWKS_FILE", file),
                ("APP__AUTH__JWKS_INLINE", jwks.as_str()),
            ],
            "APP__AUTH__JWKS_INLINE",
        ),
        (
            vec![
                ("APP__AUTH__JWKS_FILE", file),
                ("APP__AUTH__JWKS_URI", "https://keys.invalid/"),
            ],
            "APP__AUTH__JWKS_FILE",
        ),
    ] {
        assert_eq!(refused(&vars).key(), key, "{vars:?}");
    }
    // In production an http issuer is fine when its keys are handed over: nothing is fetched.
    let settings = load_settings(
        &[
            ("APP_ENV", "production"),
            (
                "APP__AUTH__ISSUER",
                "http://adfs.example/adfs/services/trust",
            ),
            ("APP__AUTH__AUDIENCE", AUDIENCE),
            ("APP__AUTH__JWKS_FILE", file),
            ("APP__DEV_ISSUER__ENABLED", "false"),
        ],
        &[],
    );
    assert!(settings.auth.shorthand.jwks_file.is_some());
}

#[actix_web::test]
async fn pem_public_keys_in_a_file_verify_each_named_by_its_thumbprint() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    let random = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let spki = pair.public_key().as_der().unwrap();
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pem = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref()))
        + &pem::encode(&pem::Pem::new("RSA PUBLIC KEY", rsa.public_key().as_ref()));
    let path = std::env::temp_dir().join(format!("static-keys-{}-pem.pem", std::process::id()));
    std::fs::write(&path, pem).unwrap();
    let state = state(&settings(
        STATIC_ISSUER,
        &[("APP__AUTH__JWKS_FILE", path.to_str().unwrap())],
    ))
    .await;
    let app = service!(state);

    let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
    let thumbprint = Jwk::from_encoding_key(&encoding, Algorithm::ES256)
        .unwrap()
        .thumbprint(ThumbprintHash::SHA256)
        .unwrap();
    let signed = |kid: Option<&str>| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims(STATIC_ISSUER), &encoding).unwrap()
    };
    assert_eq!(
        me(&app, &signed(Some(&thumbprint))).await.status,
        StatusCode::OK
    );
    assert_eq!(
        me(&app, &signed(None)).await.status,
        StatusCode::OK,
        "the one key for ES256"
    );
    assert_eq!(
        me(&app, &signed(Some("some-other-kid"))).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(state.stores().next().unwrap().status().key_count, 2);
    let _ = std::fs::remove_file(&path);

    let not_a_key = key_file("certificate", &json!(null));
    std::fs::write(
        &not_a_key,
        pem::encode(&pem::Pem::new("CERTIFICATE", vec![0x30, 0])),
    )
    .unwrap();
    let refused = load_with_profile(
        "",
        &[
            ("APP__AUTH__ISSUER", STATIC_ISSUER),
            ("APP__AUTH__AUDIENCE", AUDIENCE),
            ("APP__AUTH__JWKS_FILE", not_a_key.to_str().unwrap()),
        ],
    )
    .unwrap_err();
    assert_eq!(refused.key(), "APP__AUTH__JWKS_FILE");
    assert!(
        refused.to_string().contains("openssl x509 -pubkey"),
        "{refused}"
    );
    let _ = std::fs::remove_file(&not_a_key);
}
