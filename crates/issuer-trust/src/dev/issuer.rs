//! A local token issuer with an EdDSA key (Zuplo's default), an RS256
//! key and an ES256 key, so `make run` and `make token` work offline. It only signs and
//! publishes; the service verifies its tokens through the same JWKS fetch-and-cache path as a
//! real issuer's.
//!
//! Keys are kept as PKCS#8 PEM in a gitignored file so tokens survive restarts.

use std::path::Path;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header, get_current_timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::DevIssuerError;

/// What goes into a development token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The `sub` claim.
    pub subject: String,
    /// The `aud` claim: a string when there is one, else an array.
    pub audience: Vec<String>,
    /// The space-separated `scope` claim; none when absent or blank.
    pub scope: Option<String>,
    /// Roles, placed at `roles_claim` (a dotted path, as the service reads it).
    pub roles: Vec<String>,
    /// Where the roles go: a claim name or a dotted path such as `realm_access.roles`.
    pub roles_claim: String,
    /// How long the token lives, from now (`exp − iat`).
    pub ttl: Duration,
    /// Which of the issuer's keys signs: EdDSA, RS256 or ES256.
    pub algorithm: Algorithm,
    /// The `acr` claim, for step-up routes (RFC 9470); none by default.
    pub acr: Option<String>,
    /// The `auth_time` claim, seconds since the Unix epoch; defaults to now.
    pub auth_time: Option<u64>,
    /// The thumbprint of the client key the token is bound to (`cnf.jkt`, RFC 9449); none:
    /// a bearer token.
    pub cnf_jkt: Option<String>,
    /// The thumbprint of the client certificate the token is bound to (`cnf.x5t#S256`,
    /// RFC 8705); none: not certificate-bound.
    pub cnf_x5t_s256: Option<String>,
}

struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    encoding_key: EncodingKey,
    public_jwk: Jwk,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    eddsa_private_key: String,
    rs256_private_key: String,
    /// Absent from files written before the issuer signed ES256; added on the next load.
    #[serde(default)]
    es256_private_key: Option<String>,
}

/// A local issuer at `issuer` (this server's own URL).
pub struct DevIssuer {
    issuer: String,
    keys: Vec<SigningKey>,
}

impl DevIssuer {
    /// Loads the keys from `key_file`, creating it (mode 0600) with new keys when absent;
    /// without a file the keys live in memory only.
    pub fn load_or_create(issuer: String, key_file: Option<&Path>) -> Result<Self, DevIssuerError> {
        // The service's crypto provider, before these keys make jsonwebtoken pick its default.
        crate::install_crypto_provider();
        let file = match key_file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| DevIssuerError::KeyFile(format!("{}: {e}", path.display())))?;
                let mut file: KeyFile = serde_json::from_str(&text).map_err(|_| {
                    DevIssuerError::KeyFile(format!(
                        "{} is not a key file; delete it to create new keys",
                        path.display()
                    ))
                })?;
                if file.es256_private_key.is_none() {
                    file.es256_private_key = Some(generate_es256_pem()?);
                    replace_private(path, &file)?;
                    log::info!(
                        "development issuer: added an ES256 key to {}",
                        path.display()
                    );
                }
                file
            }
            Some(path) => {
                let file = generate_key_file()?;
                write_private(path, &key_file_text(&file))?;
                log::info!("development issuer: created new keys in {}", path.display());
                file
            }
            None => generate_key_file()?,
        };
        let invalid = || DevIssuerError::KeyFile("a key in the file is invalid; delete it".into());
        let eddsa =
            EncodingKey::from_ed_pem(file.eddsa_private_key.as_bytes()).map_err(|_| invalid())?;
        let rs256 =
            EncodingKey::from_rsa_pem(file.rs256_private_key.as_bytes()).map_err(|_| invalid())?;
        let es256_pem = file.es256_private_key.as_deref().unwrap_or_default();
        let es256 = EncodingKey::from_ec_pem(es256_pem.as_bytes()).map_err(|_| invalid())?;
        Ok(Self {
            issuer,
            keys: vec![
                signing_key(eddsa, Algorithm::EdDSA)?,
                signing_key(rs256, Algorithm::RS256)?,
                signing_key(es256, Algorithm::ES256)?,
            ],
        })
    }

    /// The `iss` of every token this issuer signs.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Signs a token as requested.
    pub fn sign(&self, request: &TokenRequest) -> Result<String, DevIssuerError> {
        let key = self
            .keys
            .iter()
            .find(|key| key.algorithm == request.algorithm)
            .ok_or_else(|| {
                DevIssuerError::UnsupportedAlgorithm(format!("{:?}", request.algorithm))
            })?;
        let now = get_current_timestamp();
        let audience = match request.audience.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        let mut claims = json!({
            "iss": self.issuer,
            "sub": request.subject,
            "aud": audience,
            "iat": now,
            "exp": now + request.ttl.as_secs(),
            "auth_time": request.auth_time.unwrap_or(now),
            "jti": super::random_id()?,
        });
        if let Some(acr) = request.acr.as_deref().filter(|acr| !acr.trim().is_empty()) {
            claims["acr"] = json!(acr.trim());
        }
        let bound = [
            ("jkt", &request.cnf_jkt),
            ("x5t#S256", &request.cnf_x5t_s256),
        ];
        for (member, thumbprint) in bound {
            if let Some(thumbprint) = thumbprint.as_deref().filter(|t| !t.trim().is_empty()) {
                claims["cnf"][member] = json!(thumbprint.trim());
            }
        }
        if let Some(scope) = request.scope.as_deref().filter(|s| !s.trim().is_empty()) {
            claims["scope"] = json!(scope.trim());
        }
        if !request.roles.is_empty() {
            place_roles(&mut claims, &request.roles_claim, &request.roles)?;
        }
        let mut header = Header::new(key.algorithm);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding_key)
            .map_err(|_| DevIssuerError::Crypto)
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(|key| &key.public_jwk).collect::<Vec<_>>() })
    }

    /// The OpenID discovery document, as served at `/.well-known/openid-configuration`.
    pub fn discovery(&self) -> Value {
        let base = self.issuer.trim_end_matches('/');
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "id_token_signing_alg_values_supported": ["EdDSA", "RS256", "ES256"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
        })
    }
}

/// A signing key with its public JWK, identified by its RFC 7638 thumbprint.
fn signing_key(
    encoding_key: EncodingKey,
    algorithm: Algorithm,
) -> Result<SigningKey, DevIssuerError> {
    let mut public_jwk =
        Jwk::from_encoding_key(&encoding_key, algorithm).map_err(|_| DevIssuerError::Crypto)?;
    let kid = public_jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| DevIssuerError::Crypto)?;
    public_jwk.common.key_id = Some(kid.clone());
    public_jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok(SigningKey {
        kid,
        algorithm,
        encoding_key,
        public_jwk,
    })
}

/// Puts `roles` at the dotted `path`, creating objects on the way; never through (or over) a
/// claim that is not an object.
fn place_roles(claims: &mut Value, path: &str, roles: &[String]) -> Result<(), DevIssuerError> {
    let refused = || DevIssuerError::RolesClaim(path.to_owned());
    let (parents, last) = path.rsplit_once('.').unwrap_or(("", path));
    let mut at = claims;
    for segment in parents.split('.').filter(|s| !s.is_empty()) {
        let object = at.as_object_mut().ok_or_else(refused)?;
        at = object.entry(segment).or_insert_with(|| json!({}));
    }
    let object = at.as_object_mut().ok_or_else(refused)?;
    if object
        .get(last)
        .is_some_and(|existing| !existing.is_array())
    {
        return Err(refused());
    }
    object.insert(last.to_owned(), json!(roles));
    Ok(())
}

fn generate_key_file() -> Result<KeyFile, DevIssuerError> {
    let ed = Ed25519KeyPair::generate()
        .and_then(|pair| pair.to_pkcs8v1())
        .map_err(|_| DevIssuerError::Crypto)?;
    let rsa =
        aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(|_| DevIssuerError::Crypto)?;
    let rsa_der = rsa.as_der().map_err(|_| DevIssuerError::Crypto)?;
    Ok(KeyFile {
        eddsa_private_key: private_key_pem(ed.as_ref()),
        rs256_private_key: private_key_pem(rsa_der.as_ref()),
        es256_private_key: Some(generate_es256_pem()?),
    })
}

fn generate_es256_pem() -> Result<String, DevIssuerError> {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .and_then(|pair| pair.to_pkcs8v1())
        .map_err(|_| DevIssuerError::Crypto)?;
    Ok(private_key_pem(pair.as_ref()))
}

fn private_key_pem(pkcs8_der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8_der))
}

/// Writes a new key file readable by its owner only, never over an existing one.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), DevIssuerError> {
    let fail = |e: std::io::Error| DevIssuerError::KeyFile(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(path).map_err(fail)?;
    std::io::Write::write_all(&mut out, text.as_bytes()).map_err(fail)
}

fn key_file_text(file: &KeyFile) -> String {
    serde_json::to_string_pretty(file).expect("key file serializes")
}

/// Replaces a key file whole: written beside it, then renamed over it, so a reader never sees
/// half a file.
fn replace_private(path: &Path, file: &KeyFile) -> Result<(), DevIssuerError> {
    let mut staged = path.as_os_str().to_owned();
    staged.push(".new");
    let staged = std::path::PathBuf::from(staged);
    let _ = std::fs::remove_file(&staged);
    write_private(&staged, &key_file_text(file))?;
    std::fs::rename(&staged, path)
        .map_err(|e| DevIssuerError::KeyFile(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_go_to_a_nested_claim_and_never_over_another_claim() {
        let roles = ["admin".to_owned()];
        let mut claims = json!({"sub": "alice"});
        place_roles(&mut claims, "realm_access.roles", &roles).unwrap();
        assert_eq!(claims["realm_access"]["roles"], json!(["admin"]));
        place_roles(&mut claims, "roles", &roles).unwrap();
        assert_eq!(claims["roles"], json!(["admin"]));
        for path in ["sub", "sub.roles"] {
            assert!(place_roles(&mut claims, path, &roles).is_err(), "{path}");
        }
        assert_eq!(claims["sub"], "alice");
    }
}
