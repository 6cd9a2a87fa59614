//! Certificate-bound tokens (RFC 8705) where TLS ends before the service: the header the
//! gateway or ingress forwards the client certificate in, how it is written, and whether each
//! issuer's tokens may or must be bound to one.

use reqwest::header::HeaderName;
use serde::Deserialize;

use super::{SettingsError, TrustedIssuer, values};
use crate::client_cert::{CertificateFormat, MtlsMode};

/// The `[mtls]` settings of a service.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MtlsConfig {
    /// The header the TLS terminator forwards the client certificate in, e.g. `Client-Cert`.
    /// Defaults to none: no certificate is read, and certificate-bound tokens are refused.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub cert_header: Option<String>,
    /// How the certificate is written there: `rfc9440` (the default) or `pem-urlencoded`.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub cert_format: Option<String>,
    /// The mode of every issuer that sets no `mtls_mode`: `allowed` (the default) or
    /// `required`.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub mode: Option<String>,
}

/// The checked settings: where the certificate is read (a lowercase header name and its
/// format), and each trusted issuer's mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedCertificates {
    /// The header and its format; `None` when no certificate is read.
    pub header: Option<(String, CertificateFormat)>,
    /// Each trusted issuer's mode, by its configured identifier.
    pub modes: Vec<(String, MtlsMode)>,
}

impl ForwardedCertificates {
    /// How the doctor shows these settings: whether certificate-bound tokens are accepted, from
    /// which header and format, and in which mode per issuer.
    pub fn describe(&self) -> String {
        let Some((header, format)) = &self.header else {
            return "certificate-bound tokens: refused (no client certificate header is set)"
                .to_owned();
        };
        let format = match format {
            CertificateFormat::Rfc9440 => "rfc9440",
            CertificateFormat::PemUrlencoded => "pem-urlencoded",
        };
        let modes: Vec<String> = self
            .modes
            .iter()
            .map(|(issuer, mode)| match mode {
                MtlsMode::Allowed => format!("{issuer} allowed"),
                MtlsMode::Required => format!("{issuer} required"),
            })
            .collect();
        format!(
            "certificate-bound tokens: client certificate read from {header} ({format}); mode: {}",
            modes.join(", ")
        )
    }
}

impl MtlsConfig {
    /// Checks these settings with the modes `trusted` issuers set of their own. A mode is
    /// refused where no certificate is read: every bound token would then be refused. `key`
    /// names a setting of this section (`cert_header`, `cert_format`, `mode`).
    pub fn forwarded(
        &self,
        trusted: &[TrustedIssuer],
        key: &dyn Fn(&str) -> String,
    ) -> Result<ForwardedCertificates, SettingsError> {
        let default = match &self.mode {
            Some(mode) => parse_mode(&key("mode"), mode)?,
            None => MtlsMode::Allowed,
        };
        let Some(header) = &self.cert_header else {
            if self.mode.is_some() || trusted.iter().any(|issuer| issuer.mtls.is_some()) {
                return Err(SettingsError::new(
                    &key("mode"),
                    "no client certificate header is set, so no certificate is ever read",
                    format!(
                        "set {} to the header your gateway forwards it in",
                        key("cert_header")
                    ),
                ));
            }
            return Ok(ForwardedCertificates {
                header: None,
                modes: Vec::new(),
            });
        };
        let name = HeaderName::from_bytes(header.trim().as_bytes()).map_err(|_| {
            SettingsError::new(
                &key("cert_header"),
                format!("`{}` is not a header name", header.escape_debug()),
                "name the header the gateway forwards the client certificate in, e.g. Client-Cert",
            )
        })?;
        let format = match self.cert_format.as_deref().map(str::trim) {
            None | Some("rfc9440") => CertificateFormat::Rfc9440,
            Some("pem-urlencoded") => CertificateFormat::PemUrlencoded,
            Some(other) => {
                return Err(SettingsError::new(
                    &key("cert_format"),
                    format!("`{}` is not a certificate format", other.escape_debug()),
                    "use rfc9440 (Client-Cert, the default) or pem-urlencoded (nginx, Envoy)",
                ));
            }
        };
        let modes = trusted
            .iter()
            .map(|issuer| (issuer.source.issuer.clone(), issuer.mtls.unwrap_or(default)))
            .collect();
        Ok(ForwardedCertificates {
            header: Some((name.as_str().to_owned(), format)),
            modes,
        })
    }
}

/// `allowed` or `required`, in any case.
pub(super) fn parse_mode(key: &str, mode: &str) -> Result<MtlsMode, SettingsError> {
    match mode.trim().to_ascii_lowercase().as_str() {
        "allowed" => Ok(MtlsMode::Allowed),
        "required" => Ok(MtlsMode::Required),
        _ => Err(SettingsError::new(
            key,
            format!(
                "`{}` is not a certificate-binding mode",
                mode.escape_debug()
            ),
            "use allowed (the default) or required",
        )),
    }
}
