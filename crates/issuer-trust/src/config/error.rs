//! The one error type of configuration: the key to change, what is wrong with it, and how to
//! fix it, printed as one line at startup. A service refuses its own settings with it too.

use std::fmt;

/// A configuration value the service refuses, with the key to change and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    key: String,
    problem: String,
    fix: String,
}

impl SettingsError {
    /// `key` (a setting as the service names it) refused: what is wrong, and how to fix it.
    pub fn new(key: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// The variable (or file) at fault, e.g. `APP__AUTH__AUDIENCE`.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {}: {}; fix: {}",
            self.key, self.problem, self.fix
        )
    }
}

impl std::error::Error for SettingsError {}
