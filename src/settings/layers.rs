//! The configuration layers, later ones winning: the profiles compiled into the binary, so it
//! starts from any directory; the files of the configuration directory over them, where present;
//! then the `APP__SECTION__KEY` environment variables.

use std::collections::HashMap;
use std::path::Path;

use config::{Config, File, FileFormat};

use super::{Environment, SettingsError};

const DEFAULT: &str = include_str!("../../config/default.toml");
const DEVELOPMENT: &str = include_str!("../../config/development.toml");
const TEST: &str = include_str!("../../config/test.toml");
const PRODUCTION: &str = include_str!("../../config/production.toml");

/// The profile's file as compiled in.
fn embedded(environment: Environment) -> &'static str {
    match environment {
        Environment::Development => DEVELOPMENT,
        Environment::Test => TEST,
        Environment::Production => PRODUCTION,
    }
}

/// Every layer for `environment`, with `dir`'s files over the compiled-in ones.
pub(super) fn build(
    dir: &Path,
    environment: Environment,
    vars: HashMap<String, String>,
) -> Result<Config, SettingsError> {
    let profile = format!("{}.toml", environment.as_str());
    Config::builder()
        .add_source(File::from_str(DEFAULT, FileFormat::Toml))
        .add_source(File::from(dir.join("default.toml")).required(false))
        .add_source(File::from_str(embedded(environment), FileFormat::Toml))
        .add_source(File::from(dir.join(profile)).required(false))
        .add_source(
            config::Environment::with_prefix("APP")
                .prefix_separator("__")
                .separator("__")
                .source(Some(vars)),
        )
        .build()
        .map_err(super::config_error)
}

/// The compiled-in defaults alone: every setting's name, for suggestions.
pub(super) fn defaults() -> Option<Config> {
    Config::builder()
        .add_source(File::from_str(DEFAULT, FileFormat::Toml))
        .build()
        .ok()
}
