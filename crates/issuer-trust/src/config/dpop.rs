//! A service's DPoP settings (RFC 9449), read with serde beside its other settings and checked
//! into the rules proofs are judged by: the algorithms, how old and how far ahead a proof may
//! be, how many used proofs a replica holds, server nonces with the key replicas may share for
//! them, and where used proofs are remembered.

use std::time::Duration;

use serde::Deserialize;

use super::checks::{parse_algorithms, positive};
use super::{SettingsError, values};
use crate::dpop::{NonceKeys, ProofRules};

/// The used proofs a second a replica's replay store holds by default, its size being this
/// times the proof window.
const DEFAULT_PROOFS_PER_SECOND: u64 = 500;

/// The longest clock skew production allows a proof's `iat` (RFC 9449 §11.1 suggests seconds
/// to minutes).
const MAX_SKEW_SECONDS: u64 = 300;

/// Where used proofs are remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayStore {
    /// In each replica's memory: a proof used at one replica replays at another within its
    /// window.
    Memory,
    /// In Redis (or Valkey), shared by every replica.
    Redis,
}

/// The DPoP settings as a service's configuration holds them, each named as its key there.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DpopConfig {
    /// The algorithms a proof may be signed with. Defaults to every asymmetric one supported.
    #[serde(deserialize_with = "values::string_list")]
    pub dpop_algorithms: Vec<String>,
    /// How old a proof's `iat` may be. Defaults to 300 s.
    pub dpop_proof_max_age_seconds: u64,
    /// How far ahead of this clock a proof's `iat` may be. Defaults to 30 s; at most 300 s in
    /// production.
    pub dpop_proof_max_skew_seconds: u64,
    /// How many used proofs each replica holds at once, each until its window (max age plus max
    /// skew) closes; when full, new proofs are refused with 503 rather than old ones forgotten.
    /// Divided by the window, the proofs a second a replica accepts. Defaults to 500 times the
    /// window; at least one a second.
    #[serde(deserialize_with = "values::optional_number")]
    pub dpop_replay_cache_size: Option<u64>,
    /// Where used proofs are remembered: `memory` (each replica its own) or `redis` (shared by
    /// every replica). Defaults to `memory`.
    pub dpop_replay_store: String,
    /// With a value, proofs must carry a server nonce (RFC 9449 §8) at most this old. Defaults
    /// to none.
    #[serde(deserialize_with = "values::optional_number")]
    pub dpop_nonce_lifetime_seconds: Option<u64>,
    /// A file holding the key server nonces are signed with, shared by every replica (a mounted
    /// Secret), so a nonce one replica issued is accepted at every other. Defaults to none:
    /// each replica makes its own key.
    #[serde(deserialize_with = "values::optional_string")]
    pub dpop_nonce_secret_file: Option<String>,
    /// The key before it, still accepted while nonces signed with it are fresh, for rotation.
    /// Defaults to none.
    #[serde(deserialize_with = "values::optional_string")]
    pub dpop_nonce_secret_previous_file: Option<String>,
    /// Shares the nonce key though replicas each remember used proofs alone: an explicit
    /// choice, since a proof can then be replayed at every other replica. Defaults to false.
    pub dpop_nonce_secret_without_shared_store: bool,
}

impl Default for DpopConfig {
    fn default() -> Self {
        Self {
            dpop_algorithms: Vec::new(),
            dpop_proof_max_age_seconds: 300,
            dpop_proof_max_skew_seconds: 30,
            dpop_replay_cache_size: None,
            dpop_replay_store: "memory".to_owned(),
            dpop_nonce_lifetime_seconds: None,
            dpop_nonce_secret_file: None,
            dpop_nonce_secret_previous_file: None,
            dpop_nonce_secret_without_shared_store: false,
        }
    }
}

impl DpopConfig {
    /// Where used proofs are remembered; `key` names a setting in a refusal, by its field name.
    pub fn replay_store(&self, key: &dyn Fn(&str) -> String) -> Result<ReplayStore, SettingsError> {
        match self.dpop_replay_store.trim().to_ascii_lowercase().as_str() {
            "memory" => Ok(ReplayStore::Memory),
            "redis" => Ok(ReplayStore::Redis),
            other => Err(SettingsError::new(
                &key("dpop_replay_store"),
                format!("`{}` is not a replay store", other.escape_debug()),
                "use memory (the default; each replica its own) or redis (shared by every replica)",
            )),
        }
    }

    /// The rules proofs are judged by, checked; the nonce key files are read now.
    pub fn rules(
        &self,
        production: bool,
        key: &dyn Fn(&str) -> String,
    ) -> Result<ProofRules, SettingsError> {
        let (max_age, max_skew) = (
            self.dpop_proof_max_age_seconds,
            self.dpop_proof_max_skew_seconds,
        );
        positive(&key("dpop_proof_max_age_seconds"), max_age)?;
        if let Some(lifetime) = self.dpop_nonce_lifetime_seconds {
            positive(&key("dpop_nonce_lifetime_seconds"), lifetime)?;
        }
        if production && max_skew > MAX_SKEW_SECONDS {
            return Err(SettingsError::new(
                &key("dpop_proof_max_skew_seconds"),
                format!("{max_skew} s lets a proof be made long before it is used"),
                format!("use at most {MAX_SKEW_SECONDS} s in production"),
            ));
        }
        let window = max_age.saturating_add(max_skew);
        let replay_cache_size = self
            .dpop_replay_cache_size
            .unwrap_or_else(|| DEFAULT_PROOFS_PER_SECOND.saturating_mul(window));
        if replay_cache_size < window {
            return Err(SettingsError::new(
                &key("dpop_replay_cache_size"),
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
            algorithms: parse_algorithms(&key("dpop_algorithms"), &self.dpop_algorithms)?,
            max_age: Duration::from_secs(max_age),
            max_skew: Duration::from_secs(max_skew),
            replay_cache_size: usize::try_from(replay_cache_size).unwrap_or(usize::MAX),
            nonce_lifetime: self.dpop_nonce_lifetime_seconds.map(Duration::from_secs),
            nonce_keys: self.nonce_keys(key)?,
        })
    }

    /// The nonce keys the replicas share, read from their files; none: each replica makes its
    /// own. Sharing them without sharing the used proofs would let a proof whose nonce one
    /// replica issued be replayed at every other, so that needs the shared replay store or an
    /// explicit choice.
    fn nonce_keys(&self, key: &dyn Fn(&str) -> String) -> Result<NonceKeys, SettingsError> {
        let (current_key, previous_key) = (
            key("dpop_nonce_secret_file"),
            key("dpop_nonce_secret_previous_file"),
        );
        let Some(current) = &self.dpop_nonce_secret_file else {
            if self.dpop_nonce_secret_previous_file.is_some() {
                return Err(SettingsError::new(
                    &previous_key,
                    "it is set without a current key",
                    format!("set {current_key} to the key nonces are signed with now"),
                ));
            }
            return Ok(NonceKeys::default());
        };
        if self.dpop_nonce_lifetime_seconds.is_none() {
            return Err(SettingsError::new(
                &current_key,
                "server nonces are off, so the key would sign nothing",
                format!(
                    "set {}, or remove the key file",
                    key("dpop_nonce_lifetime_seconds")
                ),
            ));
        }
        if self.replay_store(key)? == ReplayStore::Memory
            && !self.dpop_nonce_secret_without_shared_store
        {
            return Err(SettingsError::new(
                &current_key,
                "a nonce key shared by replicas that each remember used proofs alone lets a proof \
                 be replayed at every replica but the one that took it",
                format!(
                    "set {}=redis, or {}=true to accept that",
                    key("dpop_replay_store"),
                    key("dpop_nonce_secret_without_shared_store")
                ),
            ));
        }
        let previous = self
            .dpop_nonce_secret_previous_file
            .as_deref()
            .map(|path| secret(&previous_key, path))
            .transpose()?;
        NonceKeys::new(secret(&current_key, current)?, previous).ok_or_else(|| {
            SettingsError::new(
                &current_key,
                format!("a nonce key is shorter than {} bytes", NonceKeys::MIN_BYTES),
                "write at least 32 random bytes, e.g. `openssl rand -base64 48`",
            )
        })
    }
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
