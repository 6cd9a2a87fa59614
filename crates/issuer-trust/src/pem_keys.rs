//! Public keys handed over as PEM rather than as a JWKS: `PUBLIC KEY` blocks (SubjectPublicKeyInfo,
//! RFC 5280; RSA, EC on P-256, P-384 or P-521, Ed25519) and PKCS#1 `RSA PUBLIC KEY` blocks. Each
//! is read into the JWK it stands for, so every rule of a key set applies to it alike (the
//! algorithms a key fits, minimum sizes). No PEM block carries a `kid`, so each key is named by
//! its RFC 7638 thumbprint: a token names that, or no kid where one key fits its algorithm.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use serde_json::{Value, json};
use spki::ObjectIdentifier;

use super::keys::KeySetError;

const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// The named curves of EC keys, each with its JWK `crv` and coordinate length.
const CURVES: [(ObjectIdentifier, &str, usize); 3] = [
    (
        ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"),
        "P-256",
        32,
    ),
    (ObjectIdentifier::new_unwrap("1.3.132.0.34"), "P-384", 48),
    (ObjectIdentifier::new_unwrap("1.3.132.0.35"), "P-521", 66),
];

/// The JWKS `document` stands for: itself when it is JSON, the keys of its PEM blocks when it
/// is PEM.
pub fn as_jwks(document: Vec<u8>) -> Result<Vec<u8>, KeySetError> {
    if !document.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Ok(document);
    }
    let refused = |why: String| KeySetError::Pem(why);
    let blocks = pem::parse_many(&document)
        .ok()
        .filter(|blocks| !blocks.is_empty())
        .ok_or_else(|| refused("it is not valid PEM".into()))?;
    let keys = blocks
        .iter()
        .map(jwk_of)
        .collect::<Result<Vec<_>, _>>()
        .map_err(refused)?;
    Ok(json!({ "keys": keys }).to_string().into_bytes())
}

fn jwk_of(block: &pem::Pem) -> Result<Value, String> {
    let mut jwk = match block.tag() {
        "PUBLIC KEY" => subject_public_key(block.contents())?,
        "RSA PUBLIC KEY" => rsa(block.contents())?,
        "CERTIFICATE" => {
            return Err(
                "a CERTIFICATE block holds no bare key; give its public key \
                        (openssl x509 -pubkey -noout)"
                    .to_owned(),
            );
        }
        other => {
            return Err(format!(
                "a `{}` block is not a public key",
                other.escape_debug()
            ));
        }
    };
    let unreadable = |_| "a key cannot be read".to_owned();
    let parsed: Jwk = serde_json::from_value(jwk.clone()).map_err(unreadable)?;
    let thumbprint = parsed
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| "a key cannot be read".to_owned())?;
    jwk["kid"] = json!(thumbprint);
    Ok(jwk)
}

fn subject_public_key(der: &[u8]) -> Result<Value, String> {
    let unreadable = || "a PUBLIC KEY block is not a SubjectPublicKeyInfo".to_owned();
    let info = spki::SubjectPublicKeyInfoRef::try_from(der).map_err(|_| unreadable())?;
    let key = info.subject_public_key.as_bytes().ok_or_else(unreadable)?;
    match info.algorithm.oid {
        RSA => rsa(key),
        EC => {
            let curve = info.algorithm.parameters_oid().map_err(|_| unreadable())?;
            let (_, crv, len) = CURVES
                .iter()
                .find(|(oid, _, _)| *oid == curve)
                .ok_or_else(|| format!("the EC curve {curve} is not supported"))?;
            match key {
                [0x04, point @ ..] if point.len() == 2 * len => {
                    let (x, y) = point.split_at(*len);
                    Ok(json!({ "kty": "EC", "crv": crv, "x": b64(x), "y": b64(y) }))
                }
                _ => Err("an EC key is not an uncompressed point".to_owned()),
            }
        }
        ED25519 if key.len() == 32 => Ok(json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(key) })),
        other => Err(format!("keys of algorithm {other} are not supported")),
    }
}

fn rsa(der: &[u8]) -> Result<Value, String> {
    let key = pkcs1::RsaPublicKey::try_from(der)
        .map_err(|_| "an RSA key is not a PKCS#1 RSAPublicKey".to_owned())?;
    Ok(json!({
        "kty": "RSA",
        "n": b64(key.modulus.as_bytes()),
        "e": b64(key.public_exponent.as_bytes()),
    }))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair, KeyPair,
    };

    use super::*;

    fn block(tag: &str, der: &[u8]) -> String {
        pem::encode(&pem::Pem::new(tag, der.to_vec()))
    }

    fn keys_of(pem: &str) -> Vec<Value> {
        let jwks: Value = serde_json::from_slice(&as_jwks(pem.into()).unwrap()).unwrap();
        jwks["keys"].as_array().unwrap().clone()
    }

    fn spki(key: &impl AsDer<PublicKeyX509Der<'static>>) -> Vec<u8> {
        key.as_der().unwrap().as_ref().to_vec()
    }

    #[test]
    fn rsa_keys_read_from_either_structure_give_the_same_jwk_named_by_its_thumbprint() {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public = pair.public_key();
        let text = block("PUBLIC KEY", &spki(public)) + &block("RSA PUBLIC KEY", public.as_ref());
        let keys = keys_of(&text);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], keys[1]);
        let modulus = public.modulus().big_endian_without_leading_zero();
        assert_eq!(keys[0]["n"], b64(modulus));
        assert_eq!(keys[0]["e"], "AQAB");
        let jwk: Jwk = serde_json::from_value(keys[0].clone()).unwrap();
        assert_eq!(
            keys[0]["kid"],
            jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
        );
    }

    #[test]
    fn ec_and_ed25519_keys_give_their_curve_and_coordinates() {
        let random = SystemRandom::new();
        for (algorithm, crv) in [
            (&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256"),
            (&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384"),
        ] {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(algorithm, &random).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(algorithm, pkcs8.as_ref()).unwrap();
            let point = pair.public_key().as_ref();
            let keys = keys_of(&block("PUBLIC KEY", &spki(pair.public_key())));
            let (x, y) = point[1..].split_at((point.len() - 1) / 2);
            assert_eq!(keys[0]["crv"], crv);
            assert_eq!(
                (&keys[0]["x"], &keys[0]["y"]),
                (&json!(b64(x)), &json!(b64(y)))
            );
        }
        let pair = Ed25519KeyPair::generate().unwrap();
        let keys = keys_of(&block("PUBLIC KEY", &spki(pair.public_key())));
        assert_eq!(keys[0]["crv"], "Ed25519");
        assert_eq!(keys[0]["x"], b64(pair.public_key().as_ref()));
    }

    #[test]
    fn what_is_no_public_key_is_refused_and_json_passes_through() {
        for (text, why) in [
            (block("CERTIFICATE", b"\x30\x00"), "openssl x509 -pubkey"),
            (block("PRIVATE KEY", b"\x30\x00"), "is not a public key"),
            (
                block("PUBLIC KEY", b"\x30\x00"),
                "not a SubjectPublicKeyInfo",
            ),
            (block("RSA PUBLIC KEY", b"\x02\x01\x07"), "not a PKCS#1"),
            (
                "-----BEGIN PUBLIC KEY-----\nnot base64".to_owned(),
                "not valid PEM",
            ),
        ] {
            match as_jwks(text.clone().into_bytes()) {
                Err(KeySetError::Pem(reason)) => assert!(reason.contains(why), "{reason}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let json = br#"{"keys": []}"#.to_vec();
        assert_eq!(as_jwks(json.clone()).unwrap(), json);
    }
}
