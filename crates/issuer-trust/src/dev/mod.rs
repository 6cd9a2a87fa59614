//! A development issuer and a development DPoP client, for trying a service offline and for
//! tests: the issuer signs tokens with keys it publishes as a JWKS and an OpenID discovery
//! document, so the verifier reads them through the same fetch-and-cache path as a real
//! issuer's; the client holds a key and signs DPoP proofs (RFC 9449) with it. Never for
//! production: the keys sit in a file beside the service.

mod client;
mod issuer;

pub use client::DevClientKey;
pub use issuer::{DevIssuer, TokenRequest};

/// Why the development issuer could not start or sign.
#[derive(Debug)]
pub enum DevIssuerError {
    /// A key file could not be read, written or understood; says which and why.
    KeyFile(String),
    /// The crypto backend failed to generate a key or sign.
    Crypto,
    /// The issuer holds no key of this algorithm.
    UnsupportedAlgorithm(String),
    /// The roles claim path runs through a claim that is not an object.
    RolesClaim(String),
}

impl std::fmt::Display for DevIssuerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KeyFile(why) => write!(f, "development issuer key file: {why}"),
            Self::Crypto => f.write_str("development issuer: key generation or signing failed"),
            Self::RolesClaim(path) => write!(
                f,
                "roles cannot be placed at `{path}`: it runs through a claim that is not an object"
            ),
            Self::UnsupportedAlgorithm(alg) => {
                write!(
                    f,
                    "the development issuer signs EdDSA, RS256 or ES256, not `{alg}`"
                )
            }
        }
    }
}

impl std::error::Error for DevIssuerError {}

/// 128 random bits as hex: a token's or a proof's `jti`.
fn random_id() -> Result<String, DevIssuerError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| DevIssuerError::Crypto)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
