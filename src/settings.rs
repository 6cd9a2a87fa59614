//! Typed settings, loaded once at startup from layered TOML files and `APP__SECTION__KEY`
//! environment variables, and validated so that the rest of the service can trust every value.
//!
//! Layers, later ones winning: `default.toml`, `{APP_ENV}.toml` (each compiled in, with the file
//! of the same name in `APP_CONFIG_DIR`, default `./config`, over it where present), then the
//! environment. A bad value, or a key that names no setting, stops the service with one line
//! naming the key and the fix.

mod auth;
mod cors;
mod layers;
mod unknown;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::logging::LogFormat;
use serde::Deserialize;

use issuer_trust::config::{check_url, positive, values};

pub use auth::AuthSettings;
pub use cors::CorsSettings;
pub use issuer_trust::config::{
    IssuerConfig, RedisConfig, ReplayStore, SettingsError, TrustedIssuer,
};
pub use values::split_commas;

/// A setting of the `[redis]` section as an environment variable names it, for refusals.
pub fn redis_key(field: &str) -> String {
    format!("APP__REDIS__{}", field.to_ascii_uppercase())
}

/// The profile selected by `APP_ENV`. Defaults to `development`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Environment {
    #[default]
    Development,
    Test,
    Production,
}

impl Environment {
    /// Reads `APP_ENV`; an unknown value is a configuration error, not a silent default.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, SettingsError> {
        match vars.get("APP_ENV") {
            None => Ok(Self::Development),
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "" | "development" | "dev" => Ok(Self::Development),
                "test" => Ok(Self::Test),
                "production" | "prod" => Ok(Self::Production),
                _ => Err(SettingsError::new(
                    "APP_ENV",
                    format!("`{value}` is not a known profile"),
                    "set it to development, test or production",
                )),
            },
        }
    }

    /// The name of the profile's file in `config/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

/// A file or type error from the `config` crate, whose message names the key.
fn config_error(error: config::ConfigError) -> SettingsError {
    SettingsError::new(
        "configuration",
        error.to_string(),
        "correct the value in config/*.toml or the APP__* environment variable",
    )
}

/// Everything the service needs to run, validated.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// From `APP_ENV`, not from the files.
    #[serde(skip)]
    pub environment: Environment,
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub cors: CorsSettings,
    /// The Redis the replicas share, for `APP__AUTH__DPOP_REPLAY_STORE=redis`.
    pub redis: RedisConfig,
    pub dev_issuer: DevIssuerSettings,
    pub log: LogSettings,
}

/// Log output.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `text` for people, `json` for log pipelines (one object per line with the request id).
    /// Defaults to `text`.
    pub format: LogFormat,
}

/// Where the service listens and how it names itself.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// Interface to bind. Defaults to 127.0.0.1 in development, 0.0.0.0 in production.
    pub host: String,
    /// Port to bind; 0 picks a free one. Defaults to 8080.
    pub port: u16,
    /// Public base URL used in metadata documents and challenges (e.g. `https://api.example.com`).
    /// Defaults to `http://{host}:{bound port}`.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub public_url: Option<String>,
    /// Worker threads. Defaults to 0, meaning one per CPU core.
    #[serde(default)]
    pub workers: usize,
    /// Largest JSON request body accepted. Defaults to 65536 bytes (64 KiB).
    pub max_json_bytes: usize,
    /// On SIGTERM, how long the service goes on accepting and serving requests while `/ready`
    /// answers 503, so that load balancers and Kubernetes endpoints stop sending it traffic
    /// before it stops accepting any; a second SIGTERM or SIGINT ends the wait. Defaults to
    /// 5 s (0 in development and test).
    pub shutdown_delay_seconds: u64,
    /// After that delay, how long in-flight requests may take to finish before the process
    /// exits. Defaults to 25 s (keep delay plus drain below the orchestrator's grace period).
    pub drain_seconds: u64,
    /// Serve `/metrics` on this port (same host) instead of beside the API, so it can stay
    /// unexposed by the gateway or ingress; 0 picks a free one. Defaults to none: `/metrics` is a
    /// public route of the API.
    #[serde(default, deserialize_with = "values::optional_number")]
    pub metrics_port: Option<u16>,
}

/// The `acr` values and the oldest authentication a step-up route accepts.
#[derive(Debug, Clone, Deserialize)]
pub struct StepUpSettings {
    /// Any one of these `acr` values. Defaults to `mfa`; empty: any.
    #[serde(deserialize_with = "values::string_list")]
    pub acr_values: Vec<String>,
    /// At most this many seconds since `auth_time`. Defaults to 900; empty: any age.
    #[serde(default, deserialize_with = "values::optional_number")]
    pub max_age_seconds: Option<u64>,
}

/// The built-in issuer that makes `make run` work offline.
#[derive(Debug, Clone, Deserialize)]
pub struct DevIssuerSettings {
    /// Serve a local issuer and trust it. Defaults to true in development; refused in
    /// production.
    pub enabled: bool,
    /// Where its private keys are kept between runs; empty keeps them in memory only.
    /// Defaults to `.dev-issuer/keys.json` (gitignored).
    #[serde(default, deserialize_with = "values::optional_string")]
    pub key_file: Option<String>,
}

impl DevIssuerSettings {
    /// The key file as a path, when keys are persisted.
    pub fn key_path(&self) -> Option<PathBuf> {
        self.key_file.as_ref().map(PathBuf::from)
    }
}

impl Settings {
    /// The public URL, without a trailing slash: configured, or derived from the bound port. It
    /// is also the development issuer's `iss`, since that issuer is this service.
    pub fn public_url(&self, port: u16) -> String {
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = match self.server.host.as_str() {
                    "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
                    host => host,
                };
                format!("http://{host}:{port}")
            }
        }
    }

    /// Loads the profile named by `APP_ENV`, with the files of `APP_CONFIG_DIR` (default
    /// `./config`) where present, and the process environment.
    pub fn load() -> Result<Self, SettingsError> {
        let dir = std::env::var_os("APP_CONFIG_DIR").unwrap_or_else(|| "config".into());
        Self::load_with(Path::new(&dir), std::env::vars().collect())
    }

    /// Loads from a configuration directory and an explicit set of environment variables, so
    /// tests can exercise every layer without touching the process environment.
    pub fn load_with(dir: &Path, vars: HashMap<String, String>) -> Result<Self, SettingsError> {
        let environment = Environment::from_vars(&vars)?;
        let layered = layers::build(dir, environment, vars.clone())?;
        let mut settings: Settings = unknown::deserialize(layered, &vars)?;
        settings.environment = environment;
        settings.check()?;
        Ok(settings)
    }

    /// Every trusted issuer, as the verifier takes it, for a service reached at `public_url`
    /// (the development issuer's `iss`, where it is on).
    pub fn trusted_issuers(&self, public_url: &str) -> Result<Vec<TrustedIssuer>, SettingsError> {
        let dev_issuer = self.dev_issuer.enabled.then_some(public_url);
        self.auth.trusted_issuers(dev_issuer, self.is_production())
    }

    fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// Refuses every value the service could not run safely with. Each refusal names the
    /// environment variable to change and how.
    fn check(&self) -> Result<(), SettingsError> {
        if self.is_production() && self.dev_issuer.enabled {
            return Err(SettingsError::new(
                "APP__DEV_ISSUER__ENABLED",
                "the development issuer is refused in production",
                "set APP__DEV_ISSUER__ENABLED=false and point APP__AUTH__ISSUER at your issuer",
            ));
        }
        if let Some(url) = &self.server.public_url {
            check_url("APP__SERVER__PUBLIC_URL", url, false)?;
        }
        positive(
            "APP__SERVER__MAX_JSON_BYTES",
            self.server.max_json_bytes as u64,
        )?;
        let public_url = self.public_url(self.server.port);
        let dev_issuer = self.dev_issuer.enabled.then_some(public_url.as_str());
        self.auth.check(dev_issuer, self.is_production())?;
        if self.auth.replay_store()? == ReplayStore::Redis {
            self.redis.check(&redis_key)?;
        }
        self.cors.check()
    }
}
