//! Certificate-bound tokens at the request (RFC 8705 §3): TLS ends at the gateway or ingress,
//! which forwards the client's certificate in a header; a token bound to a certificate
//! (`cnf.x5t#S256`) is accepted only with the certificate whose thumbprint it names, and each
//! issuer's mode says whether unbound tokens still pass. The gateway must remove that header
//! from what clients send, or a client could name any certificate.

use actix_web::http::header::{HeaderMap, HeaderName};

use crate::caller::Caller;
use crate::client_cert::{CertificateFormat, MtlsMode};
use crate::config::ForwardedCertificates;
use crate::error::{AuthError, TokenError};

/// Where the forwarded certificate is read, and the modes of the trusted issuers.
pub struct CertificateBinding {
    forwarded: Option<(HeaderName, CertificateFormat)>,
    modes: Vec<(String, MtlsMode)>,
}

impl CertificateBinding {
    /// No certificate is read: a token bound to one is refused, as a binding not enforced.
    pub fn none() -> Self {
        Self {
            forwarded: None,
            modes: Vec::new(),
        }
    }

    /// The binding checked settings describe: none, or the certificate forwarded in their
    /// header, each issuer (as configured) with its mode, `Allowed` for one not listed. `None`
    /// when the header is no header name.
    pub fn new(settings: ForwardedCertificates) -> Option<Self> {
        let Some((header, format)) = settings.header else {
            return Some(Self::none());
        };
        Some(Self {
            forwarded: Some((HeaderName::from_bytes(header.as_bytes()).ok()?, format)),
            modes: settings.modes,
        })
    }

    /// Whether a client certificate is read, so certificate-bound tokens are accepted
    /// (RFC 9728 `tls_client_certificate_bound_access_tokens`).
    pub fn reads_certificates(&self) -> bool {
        self.forwarded.is_some()
    }

    fn mode(&self, issuer: &str) -> MtlsMode {
        self.modes
            .iter()
            .find(|(trusted, _)| trusted == issuer)
            .map_or(MtlsMode::Allowed, |(_, mode)| *mode)
    }

    /// Whether the verified `caller`'s token may be used with the certificate `headers` carry.
    pub(super) fn check(&self, caller: &Caller, headers: &HeaderMap) -> Result<(), AuthError> {
        let Some((header, format)) = &self.forwarded else {
            return match caller.bound_certificate() {
                Some(_) => Err(TokenError::UnsupportedConfirmation.into()),
                None => Ok(()),
            };
        };
        let mut values = headers.get_all(header);
        let presented = match (values.next(), values.next()) {
            (None, _) => None,
            (Some(_), Some(_)) => {
                return Err(AuthError::InvalidRequest(
                    "multiple client certificate headers",
                ));
            }
            (Some(value), None) => Some(format.thumbprint(value.as_bytes()).ok_or(
                AuthError::InvalidRequest("malformed client certificate header"),
            )?),
        };
        match (caller.bound_certificate(), presented) {
            (Some(bound), Some(presented)) if bound == presented => Ok(()),
            (Some(_), Some(_)) => Err(TokenError::CertificateMismatch.into()),
            (Some(_), None) => Err(TokenError::CertificateMissing.into()),
            (None, _) if self.mode(caller.trusted_issuer()) == MtlsMode::Required => {
                Err(TokenError::NotCertificateBound.into())
            }
            (None, _) => Ok(()),
        }
    }
}
