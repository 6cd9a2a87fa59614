//! A development client certificate, kept in a file, so that certificate-bound tokens
//! (RFC 8705) can be tried offline: `make client-cert` prints its thumbprint for
//! `make token CNF_X5T=…` and the header a gateway would forward it in, for curl.

use std::path::Path;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::DevIssuerError;
use super::issuer::write_private;

/// A self-signed client certificate's DER.
pub struct DevClientCertificate {
    der: Vec<u8>,
}

impl DevClientCertificate {
    /// The certificate in `path` (PEM), made and saved when absent. Its key is not kept: the
    /// service never sees it, only the certificate a gateway forwards.
    pub fn load_or_create(path: &Path) -> Result<Self, DevIssuerError> {
        let pem = if path.exists() {
            std::fs::read_to_string(path)
                .map_err(|e| DevIssuerError::KeyFile(format!("{}: {e}", path.display())))?
        } else {
            let key = rcgen::KeyPair::generate().map_err(|_| DevIssuerError::Crypto)?;
            let certificate = rcgen::CertificateParams::new(vec!["dev-client".to_owned()])
                .and_then(|params| params.self_signed(&key))
                .map_err(|_| DevIssuerError::Crypto)?;
            write_private(path, &certificate.pem())?;
            certificate.pem()
        };
        let block = pem::parse(pem.as_bytes())
            .ok()
            .filter(|block| block.tag() == "CERTIFICATE")
            .ok_or_else(|| {
                DevIssuerError::KeyFile(format!(
                    "{} is not a certificate; delete it",
                    path.display()
                ))
            })?;
        Ok(Self {
            der: block.into_contents(),
        })
    }

    /// The SHA-256 thumbprint a token bound to it carries as `cnf.x5t#S256` (RFC 8705 §3.1).
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest(&SHA256, &self.der))
    }

    /// The certificate as RFC 9440's `Client-Cert` header value.
    pub fn client_cert_header(&self) -> String {
        format!(":{}:", STANDARD.encode(&self.der))
    }
}
