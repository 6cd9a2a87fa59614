//! The verified claims of the current request, handed to handlers through an extractor (see
//! [`Caller`](super::Caller)) so that no handler ever parses a token again.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

/// Claims of a token whose signature, issuer, audience and lifetime have been verified.
/// Cloning is cheap: the claims are parsed once and shared.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct VerifiedClaims(Arc<Map<String, Value>>);

impl VerifiedClaims {
    pub(crate) fn new(claims: Map<String, Value>) -> Self {
        Self(Arc::new(claims))
    }

    /// The `sub` claim, when the issuer sets one.
    pub fn subject(&self) -> Option<&str> {
        self.0.get("sub").and_then(Value::as_str)
    }

    /// The `iss` claim (always present and verified).
    pub fn issuer(&self) -> &str {
        self.0
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Any claim by name, for custom fields.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}
