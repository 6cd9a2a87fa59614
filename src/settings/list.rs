//! Deserializers for values that arrive both from TOML (arrays, strings) and from environment
//! variables (always strings), so `APP__AUTH__AUDIENCE=a,b` and `audience = ["a", "b"]` agree.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor};

/// One string, a comma-separated string, or a list of strings; blanks are dropped.
pub fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string, a comma-separated string or a list of strings")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(split_commas(value))
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
            Ok(vec![value.to_string()])
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
            Ok(vec![value.to_string()])
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                items.extend(split_commas(&item));
            }
            Ok(items)
        }
    }

    deserializer.deserialize_any(ListVisitor)
}

/// A string where empty or blank means "not set".
pub fn optional_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}

/// An optional port: empty or absent is `None`.
pub fn optional_port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    optional_string(deserializer)?
        .map(|value| {
            value
                .parse::<u16>()
                .map_err(|_| serde::de::Error::custom(format!("`{value}` is not a port")))
        })
        .transpose()
}

fn split_commas(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_commas;

    #[test]
    fn comma_separated_values_are_trimmed_and_blanks_dropped() {
        assert_eq!(split_commas(" a, b ,,c "), vec!["a", "b", "c"]);
        assert!(split_commas("  ").is_empty());
    }
}
