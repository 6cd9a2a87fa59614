//! A token's claims as the verifier reads them: the payload parsed once into JSON values, each
//! name once.
//!
//! Claim names must be unique. RFC 7519 §4 lets a parser either reject a duplicate or take the
//! last one; rejecting it means the text kept for handlers says exactly what was checked.
//!
//! A string holding a lone surrogate escape (`"\ud83d"`, which JavaScript issuers emit for a
//! name cut inside an emoji) or a number no `f64` holds is valid JSON syntax but no Rust value,
//! so parsing refuses a token carrying one as malformed rather than verifying it with a claim
//! that later reads as absent.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::error::TokenError;

/// The claims of one payload, each name once.
#[derive(Debug)]
pub struct ClaimSet<'a> {
    json: &'a RawValue,
    claims: Map<String, Value>,
}

impl<'a> ClaimSet<'a> {
    /// Reads a claims object; anything else, a name given twice, or a value that does not read
    /// as a Rust value (see the module doc) is refused.
    pub fn parse(json: &'a RawValue) -> Result<Self, serde_json::Error> {
        let Unique(claims) = serde_json::from_str(json.get())?;
        Ok(Self { json, claims })
    }

    /// The whole claims object, as the payload wrote it.
    pub fn json(&self) -> &'a RawValue {
        self.json
    }

    /// Whether the token has the claim at all.
    pub fn contains(&self, name: &str) -> bool {
        self.claims.contains_key(name)
    }

    /// One claim's value; `None` when the token does not have it.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.claims.get(name).cloned()
    }

    /// A claim that must be a string or an array of strings when present (`aud`, `scp`,
    /// `permissions`, roles): its words, a string split on SP (U+0020) alone as RFC 6749 §3.3
    /// separates scope tokens; `Err` for any other value, `null` included.
    pub fn words(&self, name: &str) -> Result<Option<Vec<Cow<'_, str>>>, TokenError> {
        let Some(value) = self.claims.get(name) else {
            return Ok(None);
        };
        match value {
            Value::String(text) => Ok(Some(split_on_space(text).map(Cow::Borrowed).collect())),
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().map(Cow::Borrowed))
                .collect::<Option<_>>()
                .map(Some)
                .ok_or(TokenError::MalformedClaims),
            _ => Err(TokenError::MalformedClaims),
        }
    }

    /// A claim that must be a string when present: `Err` when it is something else.
    pub fn text(&self, name: &str) -> Result<Option<Cow<'_, str>>, serde_json::Error> {
        self.claims
            .get(name)
            .map(|value| <&str>::deserialize(value).map(Cow::Borrowed))
            .transpose()
    }

    /// A claim that must be a number when present: `Err` when it is something else.
    pub fn number(&self, name: &str) -> Result<Option<f64>, serde_json::Error> {
        self.claims.get(name).map(f64::deserialize).transpose()
    }
}

/// The non-empty words of `text` between SPs: a tab, NBSP or any other space is part of a word.
pub fn split_on_space(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ').filter(|word| !word.is_empty())
}

/// A JSON object whose member names are distinct.
struct Unique(Map<String, Value>);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Unique;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
                let mut claims = Map::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if claims.insert(name, value).is_some() {
                        return Err(de::Error::custom("a claim name appears twice"));
                    }
                }
                Ok(Unique(claims))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// Claims from a JSON value's text, held for the rest of a test.
#[cfg(test)]
pub(crate) fn for_test(value: &Value) -> ClaimSet<'static> {
    let json: &'static RawValue = Box::leak(serde_json::value::to_raw_value(value).unwrap());
    ClaimSet::parse(json).unwrap()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Result<ClaimSet<'_>, serde_json::Error> {
        let json: &RawValue = serde_json::from_str(text).unwrap();
        ClaimSet::parse(json)
    }

    #[test]
    fn claims_are_read_by_name_and_type() {
        let claims = for_test(&json!({"iss": "https://i", "exp": 1.5e9, "o": {"p": [1]}}));
        assert_eq!(claims.text("iss").unwrap().as_deref(), Some("https://i"));
        assert_eq!(claims.number("exp").unwrap(), Some(1.5e9));
        assert_eq!(claims.get("o"), Some(json!({"p": [1]})));
        assert!(claims.contains("o") && !claims.contains("p"));
        assert_eq!(claims.get("missing"), None);
        assert_eq!(claims.text("missing").unwrap(), None);
        assert!(claims.text("exp").is_err(), "a number is not text");
        assert!(claims.number("iss").is_err(), "text is not a number");
    }

    #[test]
    fn escaped_names_and_values_are_read_unescaped() {
        let claims = parse(r#"{"s\u0063ope": "a\/b", "sub": "\u00e9"}"#).unwrap();
        assert_eq!(claims.text("scope").unwrap().as_deref(), Some("a/b"));
        assert_eq!(claims.text("sub").unwrap().as_deref(), Some("é"));
    }

    #[test]
    fn a_claim_name_given_twice_is_refused_however_it_is_spelled() {
        assert!(parse(r#"{"sub": "a", "sub": "b"}"#).is_err());
        assert!(parse(r#"{"sub": "a", "x": 1, "s\u0075b": "b"}"#).is_err());
        assert!(
            parse(r#"{"sub": "a", "o": {"sub": "b"}}"#).is_ok(),
            "nested names are apart"
        );
    }

    #[test]
    fn a_value_that_reads_as_no_rust_value_refuses_the_claims() {
        for text in [
            r#"{"name": "\ud83d"}"#,
            r#"{"cnf": {"jkt": "\udc00abc"}}"#,
            r#"{"o": [{"p": "a\ud83d"}]}"#,
            r#"{"big": 1e400}"#,
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
        let paired = parse(r#"{"name": "\ud83d\ude00"}"#).unwrap();
        assert_eq!(paired.text("name").unwrap().as_deref(), Some("\u{1f600}"));
    }

    #[test]
    fn words_split_on_sp_alone() {
        let claims = for_test(&json!({
            "scope": "a  b\u{2003}c\u{a0}d\te\nf",
            "scp": ["x y", "z"],
            "n": 7, "mixed": ["a", 1], "null": null, "o": {"a": "b"},
        }));
        assert_eq!(
            claims.words("scope").unwrap().unwrap(),
            ["a", "b\u{2003}c\u{a0}d\te\nf"]
        );
        assert_eq!(claims.words("scp").unwrap().unwrap(), ["x y", "z"]);
        assert_eq!(claims.words("missing").unwrap(), None);
        for name in ["n", "mixed", "null", "o"] {
            assert_eq!(
                claims.words(name),
                Err(TokenError::MalformedClaims),
                "{name}"
            );
        }
        let escaped = parse(r#"{"scope": "a\u0020b"}"#).unwrap();
        assert_eq!(escaped.words("scope").unwrap().unwrap(), ["a", "b"]);
    }

    #[test]
    fn only_an_object_is_a_claims_set() {
        for text in ["[]", "\"sub\"", "7", "null"] {
            assert!(parse(text).is_err(), "{text}");
        }
        assert!(parse("{}").is_ok());
    }

    #[test]
    fn the_object_is_kept_as_written() {
        let text = r#"{ "sub" : "a", "aud": ["x"] }"#;
        assert_eq!(parse(text).unwrap().json().get(), text);
    }
}
