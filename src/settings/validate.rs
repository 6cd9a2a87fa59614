//! Turns the loosely typed layers into [`Settings`], refusing every value the service could not
//! run safely with. Each refusal names the environment variable to change and how.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use jsonwebtoken::Algorithm;
use reqwest::Url;
use serde::Deserialize;

use super::cors::RawCors;
use super::issuers::{RawClaimRules, RawIssuer, Shorthand, trusted_issuers};
use super::{AuthSettings, DevIssuerSettings, Environment, ServerSettings, Settings, list};

/// Every asymmetric JWS algorithm the crypto backend verifies; the default allowlist.
pub const ASYMMETRIC_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// A configuration value the service refuses, with the key to change and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    key: String,
    problem: String,
    fix: String,
}

impl SettingsError {
    pub(super) fn new(key: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// Wraps a file or type error from the `config` crate, whose message names the key.
    pub(super) fn from_source(error: config::ConfigError) -> Self {
        Self::new(
            "configuration",
            error.to_string(),
            "correct the value in config/*.toml or the APP__* environment variable",
        )
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

#[derive(Debug, Deserialize)]
pub(super) struct RawSettings {
    server: ServerSettings,
    auth: RawAuth,
    cors: RawCors,
    log: super::LogSettings,
    dev_issuer: DevIssuerSettings,
}

#[derive(Debug, Deserialize)]
struct RawAuth {
    #[serde(default, deserialize_with = "list::optional_string")]
    issuer: Option<String>,
    #[serde(default)]
    issuers: Vec<RawIssuer>,
    #[serde(default, deserialize_with = "list::string_list")]
    audience: Vec<String>,
    #[serde(default, deserialize_with = "list::optional_string")]
    jwks_uri: Option<String>,
    #[serde(default, deserialize_with = "list::string_list")]
    algorithms: Vec<String>,
    leeway_seconds: u64,
    max_token_bytes: usize,
    token_cache_size: usize,
    jwks_ttl_seconds: u64,
    jwks_min_ttl_seconds: u64,
    jwks_max_ttl_seconds: u64,
    max_stale_seconds: u64,
    max_jwks_keys: usize,
    wait_for_keys_seconds: u64,
    refetch_cooldown_seconds: u64,
    http_timeout_seconds: u64,
    max_jwks_bytes: usize,
    #[serde(default, deserialize_with = "list::optional_string")]
    realm: Option<String>,
    roles_claim: String,
    #[serde(default, deserialize_with = "list::optional_string")]
    audience_claim: Option<String>,
    #[serde(default)]
    required_claims: std::collections::BTreeMap<String, list::StringList>,
    #[serde(default, deserialize_with = "list::optional_string")]
    require_typ: Option<String>,
    #[serde(default, deserialize_with = "list::optional_number")]
    max_token_lifetime_seconds: Option<u64>,
}

impl RawSettings {
    pub(super) fn validate(self, environment: Environment) -> Result<Settings, SettingsError> {
        let production = environment == Environment::Production;
        let auth = self.auth;

        if production && self.dev_issuer.enabled {
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
        positive("APP__AUTH__MAX_TOKEN_BYTES", auth.max_token_bytes as u64)?;
        positive("APP__AUTH__JWKS_TTL_SECONDS", auth.jwks_ttl_seconds)?;
        positive("APP__AUTH__JWKS_MIN_TTL_SECONDS", auth.jwks_min_ttl_seconds)?;
        positive("APP__AUTH__MAX_JWKS_KEYS", auth.max_jwks_keys as u64)?;
        if auth.jwks_max_ttl_seconds < auth.jwks_min_ttl_seconds {
            return Err(SettingsError::new(
                "APP__AUTH__JWKS_MAX_TTL_SECONDS",
                "it is below APP__AUTH__JWKS_MIN_TTL_SECONDS",
                "make the maximum key set lifetime at least the minimum",
            ));
        }
        positive("APP__AUTH__HTTP_TIMEOUT_SECONDS", auth.http_timeout_seconds)?;
        positive("APP__AUTH__MAX_JWKS_BYTES", auth.max_jwks_bytes as u64)?;

        let issuers = trusted_issuers(
            Shorthand {
                issuer: auth.issuer,
                audience: auth.audience,
                jwks_uri: auth.jwks_uri,
                algorithms: auth.algorithms,
                leeway_seconds: auth.leeway_seconds,
                claims: RawClaimRules {
                    audience_claim: auth.audience_claim,
                    required_claims: auth.required_claims,
                    roles_claim: Some(auth.roles_claim.clone()),
                    require_typ: auth.require_typ,
                    max_token_lifetime_seconds: auth.max_token_lifetime_seconds,
                },
            },
            auth.issuers,
            self.dev_issuer.enabled,
            production,
        )?;

        Ok(Settings {
            environment,
            server: self.server,
            auth: AuthSettings {
                issuers,
                max_token_bytes: auth.max_token_bytes,
                token_cache_size: auth.token_cache_size,
                jwks_ttl_seconds: auth.jwks_ttl_seconds,
                jwks_min_ttl_seconds: auth.jwks_min_ttl_seconds,
                jwks_max_ttl_seconds: auth.jwks_max_ttl_seconds,
                max_stale_seconds: auth.max_stale_seconds,
                max_jwks_keys: auth.max_jwks_keys,
                wait_for_keys_seconds: auth.wait_for_keys_seconds,
                refetch_cooldown_seconds: auth.refetch_cooldown_seconds,
                http_timeout_seconds: auth.http_timeout_seconds,
                max_jwks_bytes: auth.max_jwks_bytes,
                realm: auth
                    .realm
                    .unwrap_or_else(|| env!("CARGO_PKG_NAME").to_owned()),
                roles_claim: auth.roles_claim,
            },
            cors: self.cors.validate()?,
            log: self.log,
            dev_issuer: self.dev_issuer,
        })
    }
}

pub(super) fn positive(key: &str, value: u64) -> Result<(), SettingsError> {
    if value == 0 {
        return Err(SettingsError::new(
            key,
            "0 is not allowed",
            "use a positive number",
        ));
    }
    Ok(())
}

/// An absolute http(s) URL; with `require_https`, plain http only to a loopback host.
pub(super) fn check_url(key: &str, value: &str, require_https: bool) -> Result<(), SettingsError> {
    let url = Url::parse(value).map_err(|error| {
        SettingsError::new(
            key,
            format!("`{value}` is not an absolute URL ({error})"),
            "use a full URL such as https://issuer.example.com/",
        )
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if !require_https || is_loopback(&url) => Ok(()),
        "http" => Err(SettingsError::new(
            key,
            format!("`{value}` is plain http in production"),
            "use an https URL (plain http is allowed only to a loopback host)",
        )),
        scheme => Err(SettingsError::new(
            key,
            format!("the `{scheme}` scheme is not supported"),
            "use an https URL",
        )),
    }
}

/// True for `localhost` and addresses in 127.0.0.0/8 or `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

pub(super) fn parse_algorithms(
    key: &str,
    names: &[String],
) -> Result<Vec<Algorithm>, SettingsError> {
    if names.is_empty() {
        return Ok(ASYMMETRIC_ALGORITHMS.to_vec());
    }
    let supported = || {
        let names: Vec<String> = ASYMMETRIC_ALGORITHMS
            .iter()
            .map(|a| format!("{a:?}"))
            .collect();
        format!("choose from {}", names.join(", "))
    };
    let mut algorithms = Vec::with_capacity(names.len());
    for name in names {
        let algorithm = Algorithm::from_str(name)
            .ok()
            .filter(|alg| ASYMMETRIC_ALGORITHMS.contains(alg))
            .ok_or_else(|| {
                SettingsError::new(
                    key,
                    format!("`{name}` is not an accepted asymmetric signature algorithm"),
                    supported(),
                )
            })?;
        if !algorithms.contains(&algorithm) {
            algorithms.push(algorithm);
        }
    }
    Ok(algorithms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_and_none_are_refused_as_algorithms() {
        for name in ["HS256", "none", "NONE", "ES512"] {
            let error = parse_algorithms("APP__AUTH__ALGORITHMS", &[name.to_owned()]).unwrap_err();
            assert_eq!(error.key(), "APP__AUTH__ALGORITHMS", "{name}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://localhost:1/",
            "http://127.0.0.9/",
            "http://[::1]:8/",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        assert!(!is_loopback(&Url::parse("http://10.0.0.1/").unwrap()));
        assert!(!is_loopback(
            &Url::parse("http://localhost.evil.com/").unwrap()
        ));
    }
}
