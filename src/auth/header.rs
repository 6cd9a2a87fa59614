//! Reads a compact JWS's protected header before anything is trusted, to choose the key and to
//! refuse what this service never accepts: unknown algorithms, critical extensions, keys or key
//! URLs offered by the token itself, and token types other than JWT access tokens.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::charset::is_base64url;
use super::error::TokenError;

/// The parts of the header that decide how a token is verified.
#[derive(Debug)]
pub struct TokenHeader {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<IgnoredAny>,
    jku: Option<IgnoredAny>,
    jwk: Option<IgnoredAny>,
    x5u: Option<IgnoredAny>,
    x5c: Option<IgnoredAny>,
}

impl TokenHeader {
    /// Checks the token's shape (three base64url segments) and parses its header.
    pub fn parse(token: &str, allowed: &[Algorithm]) -> Result<Self, TokenError> {
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        if [header, payload, signature]
            .iter()
            .any(|segment| segment.is_empty() || !is_base64url(segment.as_bytes()))
        {
            return Err(TokenError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        let raw: RawHeader = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;

        let alg = Algorithm::from_str(&raw.alg)
            .ok()
            .filter(|alg| allowed.contains(alg))
            .ok_or(TokenError::AlgorithmNotAllowed)?;
        if raw.crit.is_some() {
            return Err(TokenError::CriticalHeader);
        }
        if raw.jku.is_some() || raw.jwk.is_some() || raw.x5u.is_some() || raw.x5c.is_some() {
            return Err(TokenError::EmbeddedKey);
        }
        if raw.typ.as_deref().is_some_and(|typ| !is_accepted_type(typ)) {
            return Err(TokenError::UnsupportedType);
        }
        Ok(Self { alg, kid: raw.kid })
    }
}

/// `JWT` (RFC 7519) and `at+jwt` (RFC 9068), compared as media types: case-insensitive, with
/// or without the `application/` prefix (RFC 7515 §4.1.9).
fn is_accepted_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    let typ = typ.strip_prefix("application/").unwrap_or(&typ);
    typ == "jwt" || typ == "at+jwt"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with_header(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn header_fields_that_offer_keys_are_refused() {
        for field in [
            r#""jku":"https://x""#,
            r#""jwk":{}"#,
            r#""x5u":"https://x""#,
            r#""x5c":[]"#,
        ] {
            let token = token_with_header(&format!(r#"{{"alg":"RS256",{field}}}"#));
            assert_eq!(
                TokenHeader::parse(&token, &[Algorithm::RS256]).unwrap_err(),
                TokenError::EmbeddedKey,
                "{field}"
            );
        }
    }

    #[test]
    fn token_types_are_compared_as_media_types() {
        for typ in ["JWT", "jwt", "at+jwt", "application/at+JWT"] {
            assert!(is_accepted_type(typ), "{typ}");
        }
        for typ in ["dpop+jwt", "JWE", "logout+jwt", ""] {
            assert!(!is_accepted_type(typ), "{typ}");
        }
    }

    #[test]
    fn segments_must_be_three_nonempty_base64url_parts() {
        for token in ["a.b", "a.b.c.d.e", "a..c", "a.b.", "a=.b.c", "a b.c.d"] {
            assert_eq!(
                TokenHeader::parse(token, &[Algorithm::RS256]).unwrap_err(),
                TokenError::Malformed,
                "{token}"
            );
        }
    }
}
