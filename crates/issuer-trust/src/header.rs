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
use super::keys::KeyName;
use super::token_type::{ACCEPTED_TYPES, media_type};

/// The parts of the header that decide how a token is verified.
#[derive(Debug)]
pub struct TokenHeader {
    /// The signing algorithm, one of those allowed.
    pub alg: Algorithm,
    /// The key the token names: its `kid`, else its `x5t#S256` or `x5t` thumbprint.
    pub key: KeyName,
    /// `typ` as a media type: lowercase, without an `application/` prefix.
    pub typ: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    x5t: Option<String>,
    #[serde(rename = "x5t#S256")]
    x5t_s256: Option<String>,
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
        let typ = raw.typ.as_deref().map(media_type);
        if typ
            .as_deref()
            .is_some_and(|typ| !ACCEPTED_TYPES.contains(&typ))
        {
            return Err(TokenError::UnsupportedType);
        }
        let key = match (raw.kid, raw.x5t_s256, raw.x5t) {
            (Some(kid), _, _) => KeyName::Kid(kid),
            (None, Some(thumbprint), _) => KeyName::X5tS256(thumbprint),
            (None, None, Some(thumbprint)) => KeyName::X5t(thumbprint),
            (None, None, None) => KeyName::Unnamed,
        };
        Ok(Self { alg, key, typ })
    }
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

    fn parse_typ(typ: &str) -> Result<Option<String>, TokenError> {
        let token = token_with_header(&format!(r#"{{"alg":"RS256","typ":"{typ}"}}"#));
        TokenHeader::parse(&token, &[Algorithm::RS256]).map(|header| header.typ)
    }

    #[test]
    fn token_types_are_compared_as_media_types() {
        for (typ, normal) in [
            ("JWT", "jwt"),
            ("jwt", "jwt"),
            ("at+jwt", "at+jwt"),
            ("application/at+JWT", "at+jwt"),
        ] {
            assert_eq!(parse_typ(typ), Ok(Some(normal.to_owned())), "{typ}");
        }
        for typ in ["dpop+jwt", "JWE", "logout+jwt", "", "application/"] {
            assert_eq!(parse_typ(typ), Err(TokenError::UnsupportedType), "{typ}");
        }
    }

    #[test]
    fn the_key_is_named_by_kid_then_by_thumbprint() {
        let name = |fields: &str| {
            let token = token_with_header(&format!(r#"{{"alg":"RS256"{fields}}}"#));
            TokenHeader::parse(&token, &[Algorithm::RS256]).unwrap().key
        };
        assert_eq!(
            name(r#","kid":"k","x5t":"t""#),
            KeyName::Kid("k".to_owned())
        );
        assert_eq!(
            name(r#","x5t":"t","x5t#S256":"s""#),
            KeyName::X5tS256("s".to_owned())
        );
        assert_eq!(name(r#","x5t":"t""#), KeyName::X5t("t".to_owned()));
        assert_eq!(name(""), KeyName::Unnamed);
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
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#);
        for token in [format!("{header}..c2ln"), format!("{header}.e30.")] {
            assert_eq!(
                TokenHeader::parse(&token, &[Algorithm::RS256]).unwrap_err(),
                TokenError::Malformed,
                "an empty segment beside a good header: {token}"
            );
        }
    }
}
