//! A development DPoP client: the key a client holds, kept in a file, and the proofs it signs
//! (RFC 9449 §4.2), so that `make dpop-key`, `make token CNF_JKT=…` and `make dpop-proof` let
//! the DPoP scheme be tried offline with curl.

use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header, get_current_timestamp};
use serde_json::{Value, json};

use super::DevIssuerError;
use super::issuer::write_private;

/// An ES256 client key and its public JWK.
pub struct DevClientKey {
    encoding: EncodingKey,
    jwk: Jwk,
}

impl DevClientKey {
    /// The key in `path` (PKCS#8 PEM), made and saved readable by its owner only when absent.
    pub fn load_or_create(path: &Path) -> Result<Self, DevIssuerError> {
        let pem = if path.exists() {
            std::fs::read_to_string(path)
                .map_err(|e| DevIssuerError::KeyFile(format!("{}: {e}", path.display())))?
        } else {
            let pem = Self::generate_pem()?;
            write_private(path, &pem)?;
            pem
        };
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|_| {
            DevIssuerError::KeyFile(format!("{} is not an EC key; delete it", path.display()))
        })?;
        Self::from_encoding_key(encoding)
    }

    /// A new key, held in memory only.
    pub fn generate() -> Result<Self, DevIssuerError> {
        let pem = Self::generate_pem()?;
        let encoding =
            EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|_| DevIssuerError::Crypto)?;
        Self::from_encoding_key(encoding)
    }

    fn generate_pem() -> Result<String, DevIssuerError> {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| DevIssuerError::Crypto)?;
        Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref())))
    }

    fn from_encoding_key(encoding: EncodingKey) -> Result<Self, DevIssuerError> {
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256)
            .map_err(|_| DevIssuerError::Crypto)?;
        Ok(Self { encoding, jwk })
    }

    /// The RFC 7638 SHA-256 thumbprint a token bound to this key carries as `cnf.jkt`.
    pub fn thumbprint(&self) -> Result<String, DevIssuerError> {
        self.jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| DevIssuerError::Crypto)
    }

    /// The claims of a fresh proof for `method` on `url`, presenting `access_token`.
    pub fn proof_claims(
        method: &str,
        url: &str,
        access_token: &str,
    ) -> Result<Value, DevIssuerError> {
        Ok(json!({
            "jti": super::random_id()?,
            "htm": method,
            "htu": url,
            "iat": get_current_timestamp(),
            "ath": crate::dpop::token_hash(access_token),
        }))
    }

    /// `claims` signed as a proof by this key, its public JWK in the header.
    pub fn sign_proof(&self, claims: &Value) -> Result<String, DevIssuerError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".to_owned());
        header.jwk = Some(self.jwk.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|_| DevIssuerError::Crypto)
    }
}
