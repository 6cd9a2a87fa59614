//! The client certificate a token may be bound to (RFC 8705 §3), as a gateway or ingress that
//! ends TLS forwards it in a header: its SHA-256 thumbprint, compared with the token's
//! `cnf.x5t#S256`. Only the DER is hashed; whether the certificate is valid is the TLS
//! terminator's judgement, made before it forwarded it.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How the forwarded certificate is written in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFormat {
    /// RFC 9440 `Client-Cert`: the DER as a structured-field byte sequence, `:<base64>:`.
    Rfc9440,
    /// A URL-encoded PEM certificate: nginx's `$ssl_client_escaped_cert`, Envoy's escaped PEM.
    PemUrlencoded,
}

/// Whether an issuer's tokens may, or must, be bound to a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtlsMode {
    /// A bound token must come with its certificate; unbound tokens are accepted too.
    Allowed,
    /// Only bound tokens, each with its certificate.
    Required,
}

impl CertificateFormat {
    /// The thumbprint of the certificate written in `value` (base64url of the SHA-256 of its
    /// DER, RFC 8705 §3.1); `None` when `value` holds no certificate in this format.
    pub fn thumbprint(self, value: &[u8]) -> Option<String> {
        let der = match self {
            Self::Rfc9440 => sfv::Parser::new(value)
                .parse::<sfv::Item>()
                .ok()?
                .bare_item
                .as_byte_sequence()?
                .to_vec(),
            Self::PemUrlencoded => {
                let text = percent_encoding::percent_decode(value).decode_utf8().ok()?;
                let block = pem::parse(text.as_bytes()).ok()?;
                if block.tag() != "CERTIFICATE" {
                    return None;
                }
                block.into_contents()
            }
        };
        if der.is_empty() {
            return None;
        }
        Some(URL_SAFE_NO_PAD.encode(digest(&SHA256, &der)))
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    /// Some DER bytes; only their hash matters here.
    const DER: &[u8] = b"\x30\x03\x02\x01\x07";

    fn expected() -> String {
        URL_SAFE_NO_PAD.encode(digest(&SHA256, DER))
    }

    #[test]
    fn a_byte_sequence_gives_the_thumbprint_of_its_der() {
        let value = format!(":{}:", STANDARD.encode(DER));
        assert_eq!(
            CertificateFormat::Rfc9440.thumbprint(value.as_bytes()),
            Some(expected())
        );
        for bad in ["", "::", "MIIB", ":not base64!:", "\"text\"", ":AAAA", "12"] {
            assert_eq!(
                CertificateFormat::Rfc9440.thumbprint(bad.as_bytes()),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn an_escaped_pem_gives_the_thumbprint_of_its_der() {
        let pem = pem::encode(&pem::Pem::new("CERTIFICATE", DER.to_vec()));
        let escaped: String =
            percent_encoding::utf8_percent_encode(&pem, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        assert_eq!(
            CertificateFormat::PemUrlencoded.thumbprint(escaped.as_bytes()),
            Some(expected())
        );
        let key = pem::encode(&pem::Pem::new("PUBLIC KEY", DER.to_vec()));
        for bad in ["", "%ZZ", "-----BEGIN CERTIFICATE-----", key.as_str()] {
            assert_eq!(
                CertificateFormat::PemUrlencoded.thumbprint(bad.as_bytes()),
                None,
                "{bad}"
            );
        }
    }
}
