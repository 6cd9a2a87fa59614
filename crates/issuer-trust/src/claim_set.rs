//! A token's claims as the verifier reads them: each claim's name beside its value's JSON text,
//! both borrowed from the payload. A check parses only the values it reads; the rest are
//! skimmed once. Parsing the whole payload into a map of values, as before, allocated every name
//! and value of every token the cache had not seen.
//!
//! Claim names must be unique. RFC 7519 §4 lets a parser either reject a duplicate or take the
//! last one; rejecting it means the text kept for handlers says exactly what was checked.
//!
//! Every value is validated here, once: a string holding a lone surrogate escape (`"\ud83d"`,
//! which JavaScript issuers emit for a name cut inside an emoji) or a number no `f64` holds is
//! valid JSON syntax but no Rust value, so a token carrying one is refused as malformed rather
//! than verified with a claim that later reads as absent.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::error::TokenError;

/// The claims of one payload, sorted by name, each name once.
#[derive(Debug)]
pub struct ClaimSet<'a> {
    json: &'a RawValue,
    claims: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> ClaimSet<'a> {
    /// Reads a claims object; anything else, a name given twice, or a value that does not read
    /// as JSON values do (see the module doc) is refused.
    pub fn parse(json: &'a RawValue) -> Result<Self, serde_json::Error> {
        let Claims(mut claims) = serde_json::from_str(json.get())?;
        claims.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        if claims.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err(de::Error::custom("a claim name appears twice"));
        }
        for (_, value) in &claims {
            serde_json::from_str::<Readable>(value.get())?;
        }
        Ok(Self { json, claims })
    }

    /// The whole claims object, as the payload wrote it.
    pub fn json(&self) -> &'a RawValue {
        self.json
    }

    /// Whether the token has the claim at all.
    pub fn contains(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// One claim's value, parsed; `None` when the token does not have it.
    pub fn get(&self, name: &str) -> Option<Value> {
        // `parse` read every value as this does, so `ok()` drops no claim.
        serde_json::from_str(self.raw(name)?.get()).ok()
    }

    /// A claim that must be a string or an array of strings when present (`aud`, `scp`,
    /// `permissions`, roles): its words, a string split on SP (U+0020) alone as RFC 6749 §3.3
    /// separates scope tokens; `Err` for any other value, `null` included.
    pub fn words(&self, name: &str) -> Result<Option<Vec<Cow<'a, str>>>, TokenError> {
        self.raw(name).map(|raw| words_of(raw.get())).transpose()
    }

    /// A claim that must be a string when present: `Err` when it is something else.
    pub fn text(&self, name: &str) -> Result<Option<Cow<'a, str>>, serde_json::Error> {
        self.raw(name)
            .map(|raw| serde_json::from_str::<Name>(raw.get()).map(|Name(text)| text))
            .transpose()
    }

    /// A claim that must be a number when present: `Err` when it is something else.
    pub fn number(&self, name: &str) -> Result<Option<f64>, serde_json::Error> {
        self.raw(name)
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
    }

    fn raw(&self, name: &str) -> Option<&'a RawValue> {
        self.claims
            .binary_search_by(|(claim, _)| claim.as_ref().cmp(name))
            .ok()
            .map(|index| self.claims[index].1)
    }
}

/// The words of a string (split on SP) or an array of strings, as [`ClaimSet::words`].
fn words_of(json: &str) -> Result<Vec<Cow<'_, str>>, TokenError> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Words<'a> {
        #[serde(borrow)]
        Spaced(Cow<'a, str>),
        #[serde(borrow)]
        Listed(Vec<Cow<'a, str>>),
    }
    match serde_json::from_str(json).map_err(|_| TokenError::MalformedClaims)? {
        Words::Spaced(Cow::Borrowed(text)) => Ok(split_on_space(text).map(Cow::Borrowed).collect()),
        Words::Spaced(Cow::Owned(text)) => Ok(split_on_space(&text)
            .map(|word| Cow::Owned(word.to_owned()))
            .collect()),
        Words::Listed(words) => Ok(words),
    }
}

/// The non-empty words of `text` between SPs: a tab, NBSP or any other space is part of a word.
pub fn split_on_space(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ').filter(|word| !word.is_empty())
}

/// Any JSON value that reads as a Rust value: every string (at any depth) unescaped, every
/// number held, nothing kept. Ignoring a value would skip both checks.
struct Readable;

impl<'de> Deserialize<'de> for Readable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = Readable;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }

            fn visit_bool<E>(self, _: bool) -> Result<Readable, E> {
                Ok(Readable)
            }

            fn visit_i64<E>(self, _: i64) -> Result<Readable, E> {
                Ok(Readable)
            }

            fn visit_u64<E>(self, _: u64) -> Result<Readable, E> {
                Ok(Readable)
            }

            fn visit_f64<E>(self, _: f64) -> Result<Readable, E> {
                Ok(Readable)
            }

            fn visit_str<E>(self, _: &str) -> Result<Readable, E> {
                Ok(Readable)
            }

            fn visit_unit<E>(self) -> Result<Readable, E> {
                Ok(Readable)
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut items: A) -> Result<Readable, A::Error> {
                while items.next_element::<Readable>()?.is_some() {}
                Ok(Readable)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Readable, A::Error> {
                while members.next_entry::<Readable, Readable>()?.is_some() {}
                Ok(Readable)
            }
        }
        deserializer.deserialize_any(Any)
    }
}

/// The object's members in the order written, duplicates included.
struct Claims<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Claims<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Claims<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut claims = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((Name(name), value)) = map.next_entry()? {
                    claims.push((name, value));
                }
                Ok(Claims(claims))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// A JSON string, borrowed from the text unless it has escapes to undo.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(Text)
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
