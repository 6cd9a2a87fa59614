//! The example resource, kept as the pattern to copy: what an item is, how client input becomes
//! a valid draft (every invalid field reported at once), and the storage it lives in.

mod store;

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::problem::FieldError;
pub use store::{InMemoryItemStore, ItemStore, Page, Stats, StoreError};

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 2000;

/// A stored item.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct Item {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The caller who created it.
    pub created_by: Creator,
    pub created_at: u64,
    pub updated_at: u64,
}

/// A caller as a record of who did something: its issuer and subject together, since two
/// trusted issuers may each have a subject `1`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, ToSchema)]
pub struct Creator {
    /// The verified issuer.
    pub iss: String,
    /// The `sub` claim; absent when the issuer sets none.
    pub sub: Option<String>,
}

/// A complete, valid item body (create and replace). Checked by hand rather than by serde, so
/// that a 422 lists every invalid field at once; the schema states the same rules.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemDraft {
    /// Up to 100 characters, not all blank; stored trimmed.
    #[schema(max_length = 100, pattern = r"\S")]
    pub name: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// A valid partial update: absent fields stay, a `null` description clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    /// Up to 100 characters, not all blank; stored trimmed.
    #[schema(value_type = String, required = false, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(value_type = Option<String>, required = false, max_length = 2000)]
    pub description: Option<Option<String>>,
}

impl ItemDraft {
    /// Validates a create or replace body.
    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        let object = object(body)?;
        let mut errors = unknown_fields(object);
        let name = match object.get("name") {
            None | Some(Value::Null) => {
                errors.push(FieldError::new("name", "is required"));
                None
            }
            Some(value) => name(value, &mut errors),
        };
        let description = object
            .get("description")
            .and_then(|value| description(value, &mut errors));
        match name {
            Some(name) if errors.is_empty() => Ok(Self { name, description }),
            _ => Err(errors),
        }
    }
}

impl ItemPatch {
    /// Validates a partial update body.
    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        let object = object(body)?;
        let mut errors = unknown_fields(object);
        let patch = Self {
            name: object
                .get("name")
                .and_then(|value| name(value, &mut errors)),
            description: object
                .get("description")
                .map(|value| description(value, &mut errors)),
        };
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(errors)
        }
    }
}

/// The body as an object.
fn object(body: &Value) -> Result<&Map<String, Value>, Vec<FieldError>> {
    body.as_object()
        .ok_or_else(|| vec![FieldError::new("(body)", "must be a JSON object")])
}

/// An error for each field an item does not have.
fn unknown_fields(object: &Map<String, Value>) -> Vec<FieldError> {
    object
        .keys()
        .filter(|key| !matches!(key.as_str(), "name" | "description"))
        .map(|key| FieldError::new(key, "is not a field of an item"))
        .collect()
}

fn name(value: &Value, errors: &mut Vec<FieldError>) -> Option<String> {
    let Some(text) = value.as_str() else {
        errors.push(FieldError::new("name", "must be a string"));
        return None;
    };
    // The length is that of the text as sent, as the schema's `maxLength` counts it.
    if text.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError::new("name", "must be at most 100 characters"));
    } else if text.trim_matches(is_schema_space).is_empty() {
        errors.push(FieldError::new("name", "must not be blank"));
    } else {
        return Some(text.trim_matches(is_schema_space).to_owned());
    }
    None
}

/// Whitespace as the schema's `\S` pattern means it: ECMA-262's `\s` (its WhiteSpace and
/// LineTerminator), which is what clients validating against the document use. Rust's own
/// `trim` differs at the edges (it trims U+0085, and keeps U+FEFF), and a name blank to one but
/// not the other would be refused while the schema allows it, or the reverse.
fn is_schema_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | '\u{20}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

fn description(value: &Value, errors: &mut Vec<FieldError>) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) if text.chars().count() <= MAX_DESCRIPTION_CHARS => Some(text.clone()),
        Value::String(_) => {
            errors.push(FieldError::new(
                "description",
                "must be at most 2000 characters",
            ));
            None
        }
        _ => {
            errors.push(FieldError::new("description", "must be a string or null"));
            None
        }
    }
}
