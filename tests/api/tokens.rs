//! What a presented token must be to open a protected route.

use actix_web::http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header, get_current_timestamp};
use serde_json::{Value, json};

use crate::common::{
    AUDIENCE, b64, claims, keys, me, settings, sign, sign_as, sign_with_header, standard_app,
    standard_jwks, state,
};
use crate::service;

async fn expect_rejected(token: &str, reason: &str) {
    let (_issuer, app) = standard_app().await;
    let reply = me(&app, token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reason}");
    assert_eq!(reply.error_description(), reason);
}

#[actix_web::test]
async fn a_valid_token_of_each_allowed_algorithm_is_accepted_with_its_claims() {
    let mut jwks = standard_jwks();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(keys().ec384.jwk.clone());
    let issuer = crate::common::TestIssuer::start(jwks);
    let state = state(&settings(&issuer.url, &[])).await;
    let app = service!(state);
    {
        let keys = keys();
        for (key, alg) in [
            (&keys.rsa, Algorithm::RS256),
            (&keys.rsa, Algorithm::RS384),
            (&keys.rsa, Algorithm::RS512),
            (&keys.rsa, Algorithm::PS256),
            (&keys.rsa, Algorithm::PS384),
            (&keys.rsa, Algorithm::PS512),
            (&keys.ec, Algorithm::ES256),
            (&keys.ec384, Algorithm::ES384),
            (&keys.ed, Algorithm::EdDSA),
        ] {
            let token = sign_as(key, alg, Some(&key.kid), &claims(&issuer.url));
            let reply = me(&app, &token).await;
            assert_eq!(reply.status, StatusCode::OK, "{alg:?}: {}", reply.body);
            assert_eq!(reply.body["message"], "Access granted");
            assert_eq!(reply.body["user"]["sub"], "alice");
            assert_eq!(reply.body["user"]["iss"], json!(issuer.url));
        }
    }
}

#[actix_web::test]
async fn expired_token_is_rejected_with_invalid_token() {
    let (issuer, app) = standard_app().await;
    {
        let mut claims = claims(&issuer.url);
        claims["exp"] = json!(get_current_timestamp() - 120);
        let reply = me(&app, &sign(&keys().ed, &claims)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error_description(), "token expired");
    }
}

#[actix_web::test]
async fn expiry_within_the_leeway_is_tolerated() {
    let (issuer, app) = standard_app().await;
    {
        let mut claims = claims(&issuer.url);
        claims["exp"] = json!(get_current_timestamp() - 10);
        assert_eq!(
            me(&app, &sign(&keys().ed, &claims)).await.status,
            StatusCode::OK
        );
    }
}

#[actix_web::test]
async fn token_not_yet_valid_is_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let mut claims = claims(&issuer.url);
        claims["nbf"] = json!(get_current_timestamp() + 600);
        let reply = me(&app, &sign(&keys().ed, &claims)).await;
        assert_eq!(reply.error_description(), "token not yet valid");
    }
}

#[actix_web::test]
async fn token_issued_in_the_future_is_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let mut claims = claims(&issuer.url);
        claims["iat"] = json!(get_current_timestamp() + 600);
        let reply = me(&app, &sign(&keys().ed, &claims)).await;
        assert_eq!(reply.error_description(), "token issued in the future");
    }
}

#[actix_web::test]
async fn wrong_and_near_miss_issuers_are_rejected() {
    let (issuer, app) = standard_app().await;
    {
        for iss in [
            json!("https://evil.example"),
            json!(format!("{}/", issuer.url)),
            json!(issuer.url.to_uppercase()),
            json!(format!(" {}", issuer.url)),
        ] {
            let mut claims = claims(&issuer.url);
            claims["iss"] = iss.clone();
            let reply = me(&app, &sign(&keys().ed, &claims)).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{iss}");
            assert_eq!(reply.error_description(), "issuer mismatch", "{iss}");
        }
        let mut array_iss = claims(&issuer.url);
        array_iss["iss"] = json!([issuer.url]);
        let reply = me(&app, &sign(&keys().ed, &array_iss)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn wrong_or_missing_audience_is_rejected_and_an_audience_array_is_accepted() {
    let (issuer, app) = standard_app().await;
    {
        let mut wrong = claims(&issuer.url);
        wrong["aud"] = json!("api://other");
        assert_eq!(
            me(&app, &sign(&keys().ed, &wrong))
                .await
                .error_description(),
            "audience mismatch"
        );

        let mut missing = claims(&issuer.url);
        missing.as_object_mut().unwrap().remove("aud");
        assert_eq!(
            me(&app, &sign(&keys().ed, &missing))
                .await
                .error_description(),
            "missing required claim"
        );

        let mut array = claims(&issuer.url);
        array["aud"] = json!(["api://other", AUDIENCE]);
        assert_eq!(
            me(&app, &sign(&keys().ed, &array)).await.status,
            StatusCode::OK
        );
    }
}

#[actix_web::test]
async fn token_without_exp_is_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let mut claims = claims(&issuer.url);
        claims.as_object_mut().unwrap().remove("exp");
        let reply = me(&app, &sign(&keys().ed, &claims)).await;
        assert_eq!(reply.error_description(), "missing required claim");
    }
}

#[actix_web::test]
async fn claims_of_the_wrong_json_type_are_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let now = get_current_timestamp();
        // A required claim present but unreadable is malformed, not missing.
        for (name, value, reason) in [
            ("exp", json!((now + 300).to_string()), "malformed claims"),
            ("nbf", json!("soon"), "malformed claims"),
            ("iat", json!(true), "malformed claims"),
            ("sub", json!(42), "malformed claims"),
            ("aud", json!(7), "malformed claims"),
            ("exp", json!(null), "malformed claims"),
        ] {
            let mut claims = claims(&issuer.url);
            claims[name] = value;
            let reply = me(&app, &sign(&keys().ed, &claims)).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name}");
            assert_eq!(reply.error_description(), reason, "{name}");
        }
    }
}

#[actix_web::test]
async fn a_claim_name_given_twice_is_refused() {
    let (issuer, app) = standard_app().await;
    {
        // RFC 7519 §4: reject, or take the last. Taking the last would let a scope the token's
        // text shows differ from the one granted, so the service rejects.
        let claims = claims(&issuer.url).to_string();
        for (duplicate, reason) in [
            (
                r#""scope":"items:read","scope":"items:write""#,
                "malformed claims",
            ),
            (r#""sub":"mallory""#, "malformed token"),
        ] {
            let text = format!("{},{duplicate}}}", claims.strip_suffix('}').unwrap());
            let payload = serde_json::value::RawValue::from_string(text).unwrap();
            let token = jsonwebtoken::encode(
                &jsonwebtoken::Header {
                    kid: Some(keys().ed.kid.clone()),
                    ..jsonwebtoken::Header::new(keys().ed.alg)
                },
                &payload,
                &keys().ed.encoding,
            )
            .unwrap();
            let reply = me(&app, &token).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{duplicate}");
            assert_eq!(reply.error_description(), reason, "{duplicate}");
        }
    }
}

#[actix_web::test]
async fn alg_none_is_rejected_in_any_casing() {
    let (issuer, app) = standard_app().await;
    {
        let payload = b64(claims(&issuer.url).to_string());
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = b64(json!({ "alg": alg, "typ": "JWT", "kid": keys().ed.kid }).to_string());
            for signature in ["", "c2lnbmF0dXJl"] {
                let token = format!("{header}.{payload}.{signature}");
                let reply = me(&app, &token).await;
                assert_eq!(
                    reply.status,
                    StatusCode::UNAUTHORIZED,
                    "{alg} {signature:?}"
                );
            }
        }
    }
}

#[actix_web::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let keys = keys();
        let public_n = keys.rsa.jwk["n"].as_str().unwrap();
        for secret in [
            public_n.as_bytes().to_vec(),
            keys.rsa.jwk.to_string().into_bytes(),
        ] {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(keys.rsa.kid.clone());
            let token = jsonwebtoken::encode(
                &header,
                &claims(&issuer.url),
                &EncodingKey::from_secret(&secret).unwrap(),
            )
            .unwrap();
            let reply = me(&app, &token).await;
            assert_eq!(reply.error_description(), "algorithm not allowed");
        }
    }
}

#[actix_web::test]
async fn tampered_payload_and_stripped_signature_are_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let token = sign(&keys().rsa, &claims(&issuer.url));
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims(&issuer.url);
        forged["sub"] = json!("admin");
        let tampered = format!("{}.{}.{}", parts[0], b64(forged.to_string()), parts[2]);
        assert_eq!(
            me(&app, &tampered).await.error_description(),
            "invalid signature"
        );

        let stripped = format!("{}.{}.", parts[0], parts[1]);
        assert_eq!(me(&app, &stripped).await.status, StatusCode::UNAUTHORIZED);
        let two_parts = format!("{}.{}", parts[0], parts[1]);
        assert_eq!(me(&app, &two_parts).await.status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn a_key_not_in_the_jwks_under_a_known_kid_is_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let keys = keys();
        let token = sign_as(
            &keys.rogue_rsa,
            Algorithm::RS256,
            Some(&keys.rsa.kid),
            &claims(&issuer.url),
        );
        assert_eq!(
            me(&app, &token).await.error_description(),
            "invalid signature"
        );
    }
}

#[actix_web::test]
async fn an_algorithm_that_does_not_fit_the_key_is_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let keys = keys();
        // An RSA signature presented under the EC key's kid.
        let token = sign_as(
            &keys.rsa,
            Algorithm::RS256,
            Some(&keys.ec.kid),
            &claims(&issuer.url),
        );
        assert_eq!(
            me(&app, &token).await.error_description(),
            "algorithm does not match key"
        );
    }
}

#[actix_web::test]
async fn token_offering_its_own_key_or_key_url_is_rejected_without_any_fetch() {
    let (issuer, app) = standard_app().await;
    {
        let keys = keys();
        let hits_before = (issuer.jwks_hits(), issuer.other_hits());
        let attacker_url = format!("{}/attacker/jwks.json", issuer.url);
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(keys.rogue_rsa.jwk.clone()).unwrap();
        let mut headers = Vec::new();
        let mut with_jku = Header::new(Algorithm::RS256);
        with_jku.jku = Some(attacker_url.clone());
        headers.push(with_jku);
        let mut with_x5u = Header::new(Algorithm::RS256);
        with_x5u.x5u = Some(attacker_url.clone());
        headers.push(with_x5u);
        let mut with_jwk = Header::new(Algorithm::RS256);
        with_jwk.jwk = Some(jwk);
        headers.push(with_jwk);
        for mut header in headers {
            header.kid = Some("attacker".to_owned());
            let token = sign_with_header(&header, &keys.rogue_rsa, &claims(&issuer.url));
            let reply = me(&app, &token).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            assert_eq!(reply.error_description(), "embedded keys are not accepted");
        }
        assert_eq!(
            (issuer.jwks_hits(), issuer.other_hits()),
            hits_before,
            "no URL from a token is fetched"
        );
    }
}

#[actix_web::test]
async fn a_crit_header_is_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys().ed.kid.clone());
        header.crit = Some(vec!["exp".to_owned()]);
        let token = sign_with_header(&header, &keys().ed, &claims(&issuer.url));
        assert_eq!(
            me(&app, &token).await.error_description(),
            "unsupported critical header"
        );
    }
}

#[actix_web::test]
async fn access_token_types_are_accepted_and_others_refused() {
    let (issuer, app) = standard_app().await;
    {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys().ed.kid.clone());
        for (typ, accepted) in [
            (None, true),
            (Some("JWT"), true),
            (Some("at+jwt"), true),
            (Some("dpop+jwt"), false),
        ] {
            header.typ = typ.map(str::to_owned);
            let reply = me(
                &app,
                &sign_with_header(&header, &keys().ed, &claims(&issuer.url)),
            )
            .await;
            assert_eq!(reply.status == StatusCode::OK, accepted, "{typ:?}");
        }
    }
}

#[actix_web::test]
async fn a_five_part_jwe_is_rejected() {
    let header = b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    expect_rejected(
        &format!("{header}.a2V5.aXY.Y2lwaGVy.dGFn"),
        "malformed token",
    )
    .await;
}

#[actix_web::test]
async fn a_huge_token_is_rejected_before_parsing() {
    let token = format!(
        "{}.{}.{}",
        "a".repeat(40_000),
        "b".repeat(40_000),
        "c".repeat(20_000)
    );
    expect_rejected(&token, "token too large").await;
}

#[actix_web::test]
async fn token_without_kid_is_accepted_only_when_one_key_fits_its_algorithm() {
    let (issuer, app) = standard_app().await;
    {
        let keys = keys();
        let ed = sign_as(&keys.ed, Algorithm::EdDSA, None, &claims(&issuer.url));
        assert_eq!(me(&app, &ed).await.status, StatusCode::OK);

        let second_rsa = crate::common::rsa_key("rsa-2");
        let mut jwks = standard_jwks();
        jwks["keys"]
            .as_array_mut()
            .unwrap()
            .push(second_rsa.jwk.clone());
        issuer.set_jwks(jwks);
        let state = state(&settings(&issuer.url, &[])).await;
        let app = service!(state);
        let rsa = sign_as(&keys.rsa, Algorithm::RS256, None, &claims(&issuer.url));
        assert_eq!(me(&app, &rsa).await.error_description(), "missing key id");
    }
}

#[actix_web::test]
async fn payload_that_is_not_a_claims_object_is_rejected() {
    let (issuer, app) = standard_app().await;
    {
        let token = sign(&keys().ed, &Value::Array(vec![json!(1)]));
        assert_eq!(me(&app, &token).await.status, StatusCode::UNAUTHORIZED);
        let _ = &issuer;
    }
}

#[actix_web::test]
async fn a_token_of_exactly_the_size_limit_is_accepted_and_one_byte_more_is_not() {
    let issuer = crate::common::TestIssuer::start(standard_jwks());
    let token = sign(&keys().ed, &claims(&issuer.url));
    let exact = token.len().to_string();
    let short = (token.len() - 1).to_string();
    for (limit, accepted) in [(exact, true), (short, false)] {
        let state = state(&settings(
            &issuer.url,
            &[("APP__AUTH__MAX_TOKEN_BYTES", &limit)],
        ))
        .await;
        let app = service!(state);
        let reply = me(&app, &token).await;
        if accepted {
            assert_eq!(reply.status, StatusCode::OK, "limit {limit}");
        } else {
            assert_eq!(
                reply.error_description(),
                "token too large",
                "limit {limit}"
            );
        }
    }
}
