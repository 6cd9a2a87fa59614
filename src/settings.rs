//! Typed settings, loaded once at startup from layered TOML files and `APP__SECTION__KEY`
//! environment variables, and validated so that the rest of the service can trust every value.
//!
//! Layers, later ones winning: `default.toml`, `{APP_ENV}.toml` (each compiled in, with the file
//! of the same name in `APP_CONFIG_DIR`, default `./config`, over it where present), then the
//! environment. A bad value, or a key that names no setting, stops the service with one line
//! naming the key and the fix.

mod checks;
mod cors;
mod error;
mod issuers;
mod layers;
mod list;
mod unknown;
mod validate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonwebtoken::Algorithm;

use crate::logging::LogFormat;
use serde::Deserialize;

pub use crate::auth::{DpopMode, TokenLocation};
pub use cors::CorsSettings;
pub use error::SettingsError;
pub use list::split_commas;

/// The profile selected by `APP_ENV`. Defaults to `development`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
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

/// Everything the service needs to run, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub cors: CorsSettings,
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
    #[serde(default, deserialize_with = "list::optional_string")]
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
    #[serde(default, deserialize_with = "list::optional_number")]
    pub metrics_port: Option<u16>,
}

/// How tokens are verified.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The issuers whose tokens are accepted, each with its own audience and algorithms.
    /// From `APP__AUTH__ISSUER` (and its sibling keys) and any `[[auth.issuers]]` tables; in
    /// development with neither, the built-in issuer.
    pub issuers: Vec<IssuerSettings>,
    /// Tokens longer than this are rejected before any parsing. Defaults to 16384 bytes: Entra ID
    /// tokens with many groups reach ~12 KB.
    pub max_token_bytes: usize,
    /// How many verified tokens are remembered to skip repeated signature checks; 0 disables.
    /// Defaults to 10000.
    pub token_cache_size: usize,
    /// The bytes those tokens may hold, each weighed by its claims' text (twice: the text and
    /// what is read out of it) plus a fixed part, so large tokens are remembered fewer at a
    /// time. Defaults to 16777216 (16 MiB).
    pub token_cache_max_bytes: u64,
    /// Lifetime of a key set served without `Cache-Control: max-age`. Defaults to 600 s.
    pub jwks_ttl_seconds: u64,
    /// Shortest lifetime of a key set, whatever its `max-age`. Defaults to 60 s.
    pub jwks_min_ttl_seconds: u64,
    /// Longest lifetime of a key set, whatever its `max-age`. Defaults to 86400 s (24 h).
    pub jwks_max_ttl_seconds: u64,
    /// How long past its lifetime the last good key set keeps serving while the issuer fails.
    /// Defaults to 86400 s (24 h).
    pub max_stale_seconds: u64,
    /// Key sets with more keys are refused whole. Defaults to 100.
    pub max_jwks_keys: usize,
    /// With a value above 0, the service waits this long at startup for signing keys and exits
    /// if none arrive; with 0 it serves at once and answers 503 until they do. Defaults to 0.
    pub wait_for_keys_seconds: u64,
    /// Minimum time between refetches caused by tokens the key set cannot serve (an unknown key,
    /// or a known kid whose signature fails, in case the issuer renewed it). Requests that miss
    /// while one is in flight wait for it; within the cooldown after it, misses are refused at
    /// once. Defaults to 30 s.
    pub refetch_cooldown_seconds: u64,
    /// Connect and total timeout of each request to the issuer. Defaults to 5 s.
    pub http_timeout_seconds: u64,
    /// Largest JWKS or discovery document accepted. Defaults to 524288 bytes (512 KiB).
    pub max_jwks_bytes: usize,
    /// The `realm` of `WWW-Authenticate` challenges. Defaults to the package name.
    pub realm: String,
    /// The claim holding the caller's roles: a name, or a dotted path such as
    /// `realm_access.roles` (Keycloak). Defaults to `roles`.
    pub roles_claim: String,
    /// What a route declared with the configured step-up demands (RFC 9470).
    pub step_up: StepUpSettings,
    /// How DPoP proofs are judged (RFC 9449), for the issuers that accept them.
    pub dpop: DpopSettings,
}

/// How DPoP proofs are judged.
#[derive(Debug, Clone)]
pub struct DpopSettings {
    /// The algorithms a proof may be signed with. Defaults to every asymmetric one supported.
    pub algorithms: Vec<Algorithm>,
    /// How old a proof's `iat` may be. Defaults to 300 s.
    pub proof_max_age_seconds: u64,
    /// How far ahead of this clock a proof's `iat` may be. Defaults to 30 s.
    pub proof_max_skew_seconds: u64,
    /// How many used proofs each replica holds at once, each until its window (max age plus max
    /// skew) closes; when full, new proofs are refused with 503 rather than old ones forgotten.
    /// Divided by the window, the proofs a second a replica accepts. Defaults to
    /// [`DEFAULT_PROOFS_PER_SECOND`](Self::DEFAULT_PROOFS_PER_SECOND) times the window; at least
    /// one a second.
    pub replay_cache_size: usize,
    /// With a value, proofs must carry a server nonce (RFC 9449 §8) at most this old. Defaults
    /// to none.
    pub nonce_lifetime_seconds: Option<u64>,
}

impl DpopSettings {
    /// The DPoP proofs a second a replica's replay store holds by default, its size being this
    /// times the proof window.
    pub const DEFAULT_PROOFS_PER_SECOND: u64 = 500;
}

/// The `acr` values and the oldest authentication a step-up route accepts.
#[derive(Debug, Clone, Deserialize)]
pub struct StepUpSettings {
    /// Any one of these `acr` values. Defaults to `mfa`; empty: any.
    #[serde(deserialize_with = "list::string_list")]
    pub acr_values: Vec<String>,
    /// At most this many seconds since `auth_time`. Defaults to 900; empty: any age.
    #[serde(default, deserialize_with = "list::optional_number")]
    pub max_age_seconds: Option<u64>,
}

/// One trusted issuer.
#[derive(Debug, Clone)]
pub struct IssuerSettings {
    /// The exact `iss` to require; `None` stands for the development issuer, this server's own
    /// public URL.
    pub issuer: Option<String>,
    /// Accepted `aud` values; a token must name at least one.
    pub audience: Vec<String>,
    /// Where the issuer publishes its keys. Defaults to discovery, falling back to
    /// `{issuer}/.well-known/jwks.json`.
    pub jwks_uri: Option<reqwest::Url>,
    /// Allowed signature algorithms. Defaults to every asymmetric JWS algorithm supported.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Defaults to 30 s; at most 300 s.
    pub leeway_seconds: u64,
    /// A claim compared with the audiences when a token has no `aud`, e.g. `client_id` for
    /// Cognito access tokens; a present `aud` is always the one compared. Defaults to none:
    /// `aud` is required.
    pub audience_claim: Option<String>,
    /// Claims a token must carry with one of the given values (an array claim must contain
    /// one), sorted by claim name, e.g. Cognito's `token_use = "access"`. Defaults to none.
    pub required_claims: Vec<(String, Vec<String>)>,
    /// The claim holding this issuer's roles (a name or a dotted path). Defaults to
    /// `auth.roles_claim`.
    pub roles_claim: String,
    /// The `typ` every token must carry, compared as a media type, e.g. `at+jwt` (RFC 9068).
    /// Defaults to none (`typ` may be absent, `JWT` or `at+jwt`).
    pub require_typ: Option<String>,
    /// Tokens whose `exp − iat` exceeds this many seconds are refused, and `iat` is then
    /// required. Defaults to none.
    pub max_token_lifetime_seconds: Option<u64>,
    /// Where this issuer's tokens arrive. Defaults to `auth.token_header` and
    /// `auth.token_prefix`.
    pub token_location: TokenLocation,
    /// Whether this issuer's tokens may or must be DPoP-bound. Defaults to `auth.dpop`.
    pub dpop: DpopMode,
}

/// The built-in issuer that makes `make run` work offline.
#[derive(Debug, Clone, Deserialize)]
pub struct DevIssuerSettings {
    /// Serve a local issuer and trust it. Defaults to true in development; refused in
    /// production.
    pub enabled: bool,
    /// Where its private keys are kept between runs; empty keeps them in memory only.
    /// Defaults to `.dev-issuer/keys.json` (gitignored).
    #[serde(default, deserialize_with = "list::optional_string")]
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
        let raw: validate::RawSettings = unknown::deserialize(layered, &vars)?;
        raw.validate(environment)
    }
}
