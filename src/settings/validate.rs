//! Turns the loosely typed layers into [`Settings`], refusing every value the service could not
//! run safely with. Each refusal names the environment variable to change and how.

use serde::Deserialize;

use super::checks::{check_url, parse_algorithms, positive};
use super::cors::RawCors;
use super::issuers::{RawClaimRules, RawIssuer, Shorthand, trusted_issuers};
use super::{
    AuthSettings, DevIssuerSettings, DpopSettings, Environment, ServerSettings, Settings,
    SettingsError, list,
};

/// The longest production serves a key set past its lifetime while the issuer fails.
const MAX_STALE_SECONDS: u64 = 7 * 24 * 3600;

/// The longest clock skew production allows a DPoP proof's `iat` (RFC 9449 §11.1 suggests
/// seconds to minutes).
const MAX_DPOP_SKEW_SECONDS: u64 = 300;

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
    token_cache_max_bytes: u64,
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
    token_header: String,
    token_prefix: String,
    step_up: super::StepUpSettings,
    #[serde(default, deserialize_with = "list::optional_string")]
    dpop: Option<String>,
    #[serde(default, deserialize_with = "list::string_list")]
    dpop_algorithms: Vec<String>,
    dpop_proof_max_age_seconds: u64,
    dpop_proof_max_skew_seconds: u64,
    #[serde(default, deserialize_with = "list::optional_number")]
    dpop_replay_cache_size: Option<u64>,
    #[serde(default, deserialize_with = "list::optional_number")]
    dpop_nonce_lifetime_seconds: Option<u64>,
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
        positive(
            "APP__AUTH__TOKEN_CACHE_MAX_BYTES",
            auth.token_cache_max_bytes,
        )?;
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

        positive(
            "APP__AUTH__DPOP_PROOF_MAX_AGE_SECONDS",
            auth.dpop_proof_max_age_seconds,
        )?;
        if production && auth.refetch_cooldown_seconds == 0 {
            return Err(SettingsError::new(
                "APP__AUTH__REFETCH_COOLDOWN_SECONDS",
                "0 lets every token naming an unknown key fetch the issuer's key set",
                "use at least 1 s in production (the default is 30 s)",
            ));
        }
        if production && auth.max_stale_seconds > MAX_STALE_SECONDS {
            return Err(SettingsError::new(
                "APP__AUTH__MAX_STALE_SECONDS",
                format!(
                    "{} s keeps serving a key set the issuer may have revoked for too long",
                    auth.max_stale_seconds
                ),
                format!("use at most {MAX_STALE_SECONDS} s (7 days) in production"),
            ));
        }
        if production && auth.dpop_proof_max_skew_seconds > MAX_DPOP_SKEW_SECONDS {
            return Err(SettingsError::new(
                "APP__AUTH__DPOP_PROOF_MAX_SKEW_SECONDS",
                format!(
                    "{} s lets a proof be made long before it is used",
                    auth.dpop_proof_max_skew_seconds
                ),
                format!("use at most {MAX_DPOP_SKEW_SECONDS} s in production"),
            ));
        }
        let window = auth
            .dpop_proof_max_age_seconds
            .saturating_add(auth.dpop_proof_max_skew_seconds);
        let replay_cache_size = auth
            .dpop_replay_cache_size
            .unwrap_or_else(|| DpopSettings::DEFAULT_PROOFS_PER_SECOND.saturating_mul(window));
        if replay_cache_size < window {
            return Err(SettingsError::new(
                "APP__AUTH__DPOP_REPLAY_CACHE_SIZE",
                format!(
                    "{replay_cache_size} proofs cannot hold one proof a second for the {window} s \
                     a proof stays open (proof max age plus max skew)"
                ),
                format!(
                    "use at least {window}, or leave it empty for {} a second",
                    DpopSettings::DEFAULT_PROOFS_PER_SECOND
                ),
            ));
        }
        let dpop = DpopSettings {
            algorithms: parse_algorithms("APP__AUTH__DPOP_ALGORITHMS", &auth.dpop_algorithms)?,
            proof_max_age_seconds: auth.dpop_proof_max_age_seconds,
            proof_max_skew_seconds: auth.dpop_proof_max_skew_seconds,
            replay_cache_size: usize::try_from(replay_cache_size).unwrap_or(usize::MAX),
            nonce_lifetime_seconds: auth.dpop_nonce_lifetime_seconds,
        };
        if let Some(lifetime) = auth.dpop_nonce_lifetime_seconds {
            positive("APP__AUTH__DPOP_NONCE_LIFETIME_SECONDS", lifetime)?;
        }

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
                    token_header: Some(auth.token_header),
                    token_prefix: Some(auth.token_prefix),
                    dpop: auth.dpop,
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
                token_cache_max_bytes: auth.token_cache_max_bytes,
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
                step_up: auth.step_up,
                dpop,
            },
            cors: self.cors.validate()?,
            log: self.log,
            dev_issuer: self.dev_issuer,
        })
    }
}
