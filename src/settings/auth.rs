//! The `[auth]` section: how tokens are verified, the key sets fetched, and DPoP proofs judged.
//! The issuer keys in it (`APP__AUTH__ISSUER`, `_AUDIENCE`, …) are the single-issuer shorthand,
//! read as an [`IssuerConfig`] of their own; each `[[auth.issuers]]` table is another.

use std::time::Duration;

use issuer_trust::Fetcher;
use issuer_trust::config::{
    ForwardedCertificates, HttpConfig, IssuerConfig, KeySetLimits, MtlsConfig, TrustedIssuer,
    parse_algorithms, positive, trust_all, values,
};
use serde::Deserialize;

use super::{SettingsError, StepUpSettings};
use crate::auth::ProofRules;
use crate::auth::dpop::NonceKeys;

/// The longest production serves a key set past its lifetime while the issuer fails.
const MAX_STALE_SECONDS: u64 = 7 * 24 * 3600;

/// The longest clock skew production allows a DPoP proof's `iat` (RFC 9449 §11.1 suggests
/// seconds to minutes).
const MAX_DPOP_SKEW_SECONDS: u64 = 300;

/// The DPoP proofs a second a replica's replay store holds by default, its size being this
/// times the proof window.
const DEFAULT_PROOFS_PER_SECOND: u64 = 500;

/// How tokens are verified.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// The single-issuer shorthand, the issuer keys of `[auth]` itself: one issuer, and the
    /// defaults of every listed one. Read from the same table as the rest of the section.
    #[serde(skip)]
    pub shorthand: IssuerConfig,
    /// The `[[auth.issuers]]` tables, each an issuer trusted beside the shorthand's.
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
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
    /// How issuers are reached through a company network: a private CA's roots, a proxy.
    #[serde(default)]
    pub http: HttpConfig,
    /// Certificate-bound tokens (RFC 8705): where the gateway forwards the client certificate.
    #[serde(default)]
    pub mtls: MtlsConfig,
    /// The `realm` of `WWW-Authenticate` challenges. Defaults to the package name.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub realm: Option<String>,
    /// What a route declared with the configured step-up demands (RFC 9470).
    pub step_up: StepUpSettings,
    /// The algorithms a DPoP proof may be signed with. Defaults to every asymmetric one
    /// supported.
    #[serde(default, deserialize_with = "values::string_list")]
    pub dpop_algorithms: Vec<String>,
    /// How old a proof's `iat` may be. Defaults to 300 s.
    pub dpop_proof_max_age_seconds: u64,
    /// How far ahead of this clock a proof's `iat` may be. Defaults to 30 s.
    pub dpop_proof_max_skew_seconds: u64,
    /// How many used proofs each replica holds at once, each until its window (max age plus max
    /// skew) closes; when full, new proofs are refused with 503 rather than old ones forgotten.
    /// Divided by the window, the proofs a second a replica accepts. Defaults to 500 times the
    /// window; at least one a second.
    #[serde(default, deserialize_with = "values::optional_number")]
    pub dpop_replay_cache_size: Option<u64>,
    /// Where used proofs are remembered: `memory` (each replica its own) or `redis` (shared
    /// by every replica, at `APP__REDIS__URL`). Defaults to `memory`.
    pub dpop_replay_store: String,
    /// A file holding the key server nonces are signed with, shared by every replica (a
    /// mounted Secret), so a nonce one replica issued is accepted at every other. Defaults to
    /// none: each replica makes its own key.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub dpop_nonce_secret_file: Option<String>,
    /// The key before it, still accepted while nonces signed with it are fresh, for rotation.
    /// Defaults to none.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub dpop_nonce_secret_previous_file: Option<String>,
    /// Shares the nonce key though replicas each remember used proofs alone: an explicit
    /// choice, since a proof can then be replayed at every other replica. Defaults to false.
    #[serde(default)]
    pub dpop_nonce_secret_without_shared_store: bool,
    /// With a value, proofs must carry a server nonce (RFC 9449 §8) at most this old. Defaults
    /// to none.
    #[serde(default, deserialize_with = "values::optional_number")]
    pub dpop_nonce_lifetime_seconds: Option<u64>,
}

/// Where used DPoP proofs are remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayStore {
    /// In each replica's memory: a proof used at one replica replays at another within its
    /// window.
    Memory,
    /// In Redis (or Valkey), shared by every replica.
    Redis,
}

/// A nonce key file's bytes, a final line break dropped (as `echo` and editors leave one).
fn secret(key: &str, path: &str) -> Result<Vec<u8>, SettingsError> {
    let mut bytes = std::fs::read(path).map_err(|error| {
        SettingsError::new(
            key,
            format!("`{path}` cannot be read ({error})"),
            "give the path of the mounted key file",
        )
    })?;
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    Ok(bytes)
}

impl AuthSettings {
    /// Where used DPoP proofs are remembered.
    pub fn replay_store(&self) -> Result<ReplayStore, SettingsError> {
        match self.dpop_replay_store.trim().to_ascii_lowercase().as_str() {
            "memory" => Ok(ReplayStore::Memory),
            "redis" => Ok(ReplayStore::Redis),
            other => Err(SettingsError::new(
                "APP__AUTH__DPOP_REPLAY_STORE",
                format!("`{}` is not a replay store", other.escape_debug()),
                "use memory (the default; each replica its own) or redis (shared by every replica)",
            )),
        }
    }

    /// The HTTP client every key store and the doctor use, bounded by these settings, through
    /// the company network's roots and proxy when set.
    pub fn fetcher(&self) -> Result<Fetcher, SettingsError> {
        self.http.fetcher(
            Duration::from_secs(self.http_timeout_seconds),
            self.max_jwks_bytes,
            &|field| format!("APP__AUTH__HTTP__{}", field.to_ascii_uppercase()),
        )
    }

    /// Refuses every value the service could not run safely with; `dev_issuer` is where the
    /// development issuer would be reached, when it is on.
    pub(super) fn check(
        &self,
        dev_issuer: Option<&str>,
        production: bool,
    ) -> Result<(), SettingsError> {
        positive("APP__AUTH__MAX_TOKEN_BYTES", self.max_token_bytes as u64)?;
        positive(
            "APP__AUTH__TOKEN_CACHE_MAX_BYTES",
            self.token_cache_max_bytes,
        )?;
        positive("APP__AUTH__JWKS_TTL_SECONDS", self.jwks_ttl_seconds)?;
        positive("APP__AUTH__JWKS_MIN_TTL_SECONDS", self.jwks_min_ttl_seconds)?;
        positive("APP__AUTH__MAX_JWKS_KEYS", self.max_jwks_keys as u64)?;
        if self.jwks_max_ttl_seconds < self.jwks_min_ttl_seconds {
            return Err(SettingsError::new(
                "APP__AUTH__JWKS_MAX_TTL_SECONDS",
                "it is below APP__AUTH__JWKS_MIN_TTL_SECONDS",
                "make the maximum key set lifetime at least the minimum",
            ));
        }
        positive("APP__AUTH__HTTP_TIMEOUT_SECONDS", self.http_timeout_seconds)?;
        positive("APP__AUTH__MAX_JWKS_BYTES", self.max_jwks_bytes as u64)?;
        self.fetcher()?;
        if production && self.refetch_cooldown_seconds == 0 {
            return Err(SettingsError::new(
                "APP__AUTH__REFETCH_COOLDOWN_SECONDS",
                "0 lets every token naming an unknown key fetch the issuer's key set",
                "use at least 1 s in production (the default is 30 s)",
            ));
        }
        if production && self.max_stale_seconds > MAX_STALE_SECONDS {
            return Err(SettingsError::new(
                "APP__AUTH__MAX_STALE_SECONDS",
                format!(
                    "{} s keeps serving a key set the issuer may have revoked for too long",
                    self.max_stale_seconds
                ),
                format!("use at most {MAX_STALE_SECONDS} s (7 days) in production"),
            ));
        }
        if production && self.dpop_proof_max_skew_seconds > MAX_DPOP_SKEW_SECONDS {
            return Err(SettingsError::new(
                "APP__AUTH__DPOP_PROOF_MAX_SKEW_SECONDS",
                format!(
                    "{} s lets a proof be made long before it is used",
                    self.dpop_proof_max_skew_seconds
                ),
                format!("use at most {MAX_DPOP_SKEW_SECONDS} s in production"),
            ));
        }
        self.proof_rules()?;
        let trusted = self.trusted_issuers(dev_issuer, production)?;
        self.forwarded_certificates(&trusted).map(drop)
    }

    /// Where the client certificate of certificate-bound tokens is read, and each trusted
    /// issuer's mode.
    pub fn forwarded_certificates(
        &self,
        trusted: &[TrustedIssuer],
    ) -> Result<ForwardedCertificates, SettingsError> {
        self.mtls.forwarded(trusted, &|field| {
            format!("APP__AUTH__MTLS__{}", field.to_ascii_uppercase())
        })
    }

    /// Every trusted issuer, as the verifier takes it; `dev_issuer` is where the development
    /// issuer is reached, when it is on.
    pub fn trusted_issuers(
        &self,
        dev_issuer: Option<&str>,
        production: bool,
    ) -> Result<Vec<TrustedIssuer>, SettingsError> {
        let limits = KeySetLimits {
            default_ttl: Duration::from_secs(self.jwks_ttl_seconds),
            min_ttl: Duration::from_secs(self.jwks_min_ttl_seconds),
            max_ttl: Duration::from_secs(self.jwks_max_ttl_seconds),
            max_stale: Duration::from_secs(self.max_stale_seconds),
            max_keys: self.max_jwks_keys,
            refetch_cooldown: Duration::from_secs(self.refetch_cooldown_seconds),
        };
        let key = |issuer: Option<usize>, field: &str| match issuer {
            None => format!("APP__AUTH__{}", field.to_ascii_uppercase()),
            Some(index) => format!("auth.issuers[{index}].{field}"),
        };
        trust_all(
            &self.shorthand,
            &self.issuers,
            &limits,
            dev_issuer,
            production,
            &key,
        )
    }

    /// The rules DPoP proofs are judged by, checked.
    pub fn proof_rules(&self) -> Result<ProofRules, SettingsError> {
        positive(
            "APP__AUTH__DPOP_PROOF_MAX_AGE_SECONDS",
            self.dpop_proof_max_age_seconds,
        )?;
        if let Some(lifetime) = self.dpop_nonce_lifetime_seconds {
            positive("APP__AUTH__DPOP_NONCE_LIFETIME_SECONDS", lifetime)?;
        }
        let window = self
            .dpop_proof_max_age_seconds
            .saturating_add(self.dpop_proof_max_skew_seconds);
        let replay_cache_size = self
            .dpop_replay_cache_size
            .unwrap_or_else(|| DEFAULT_PROOFS_PER_SECOND.saturating_mul(window));
        if replay_cache_size < window {
            return Err(SettingsError::new(
                "APP__AUTH__DPOP_REPLAY_CACHE_SIZE",
                format!(
                    "{replay_cache_size} proofs cannot hold one proof a second for the {window} s \
                     a proof stays open (proof max age plus max skew)"
                ),
                format!(
                    "use at least {window}, or leave it empty for {DEFAULT_PROOFS_PER_SECOND} a \
                     second"
                ),
            ));
        }
        Ok(ProofRules {
            algorithms: parse_algorithms("APP__AUTH__DPOP_ALGORITHMS", &self.dpop_algorithms)?,
            max_age: Duration::from_secs(self.dpop_proof_max_age_seconds),
            max_skew: Duration::from_secs(self.dpop_proof_max_skew_seconds),
            replay_cache_size: usize::try_from(replay_cache_size).unwrap_or(usize::MAX),
            nonce_lifetime: self.dpop_nonce_lifetime_seconds.map(Duration::from_secs),
            nonce_keys: self.nonce_keys()?,
        })
    }

    /// The nonce keys the replicas share, read from their files; none: each replica makes its
    /// own. Sharing them without sharing the used proofs would let a proof whose nonce one
    /// replica issued be replayed at every other, so that needs the shared replay store or an
    /// explicit choice.
    fn nonce_keys(&self) -> Result<NonceKeys, SettingsError> {
        const CURRENT: &str = "APP__AUTH__DPOP_NONCE_SECRET_FILE";
        const PREVIOUS: &str = "APP__AUTH__DPOP_NONCE_SECRET_PREVIOUS_FILE";
        let Some(current) = &self.dpop_nonce_secret_file else {
            if self.dpop_nonce_secret_previous_file.is_some() {
                return Err(SettingsError::new(
                    PREVIOUS,
                    "it is set without a current key",
                    format!("set {CURRENT} to the key nonces are signed with now"),
                ));
            }
            return Ok(NonceKeys::default());
        };
        if self.dpop_nonce_lifetime_seconds.is_none() {
            return Err(SettingsError::new(
                CURRENT,
                "server nonces are off, so the key would sign nothing",
                "set APP__AUTH__DPOP_NONCE_LIFETIME_SECONDS, or remove the key file",
            ));
        }
        if self.replay_store()? == ReplayStore::Memory
            && !self.dpop_nonce_secret_without_shared_store
        {
            return Err(SettingsError::new(
                CURRENT,
                "a nonce key shared by replicas that each remember used proofs alone lets a proof \
                 be replayed at every replica but the one that took it",
                "set APP__AUTH__DPOP_REPLAY_STORE=redis, or \
                 APP__AUTH__DPOP_NONCE_SECRET_WITHOUT_SHARED_STORE=true to accept that",
            ));
        }
        let previous = self
            .dpop_nonce_secret_previous_file
            .as_deref()
            .map(|path| secret(PREVIOUS, path))
            .transpose()?;
        NonceKeys::new(secret(CURRENT, current)?, previous).ok_or_else(|| {
            SettingsError::new(
                CURRENT,
                format!("a nonce key is shorter than {} bytes", NonceKeys::MIN_BYTES),
                "write at least 32 random bytes, e.g. `openssl rand -base64 48`",
            )
        })
    }

    /// The `realm` every challenge names.
    pub fn realm(&self) -> &str {
        self.realm.as_deref().unwrap_or(env!("CARGO_PKG_NAME"))
    }
}
