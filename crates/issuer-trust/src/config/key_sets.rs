//! How long key sets live and how stale they may serve, read with serde beside a service's other
//! settings and checked into the [`KeySetLimits`] every issuer's store is held within.

use std::time::Duration;

use serde::Deserialize;

use super::checks::positive;
use super::{KeySetLimits, SettingsError};

/// The longest production serves a key set past its lifetime while the issuer fails.
const MAX_STALE_SECONDS: u64 = 7 * 24 * 3600;

/// The key set settings as a service's configuration holds them, each named as its key there.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct KeySetConfig {
    /// Lifetime of a key set served without `Cache-Control: max-age`. Defaults to 600 s.
    pub jwks_ttl_seconds: u64,
    /// Shortest lifetime of a key set, whatever its `max-age`. Defaults to 60 s.
    pub jwks_min_ttl_seconds: u64,
    /// Longest lifetime of a key set, whatever its `max-age`. Defaults to 86400 s (24 h).
    pub jwks_max_ttl_seconds: u64,
    /// How long past its lifetime the last good key set keeps serving while the issuer fails.
    /// Defaults to 86400 s (24 h); at most 7 days in production.
    pub max_stale_seconds: u64,
    /// Key sets with more keys are refused whole. Defaults to 100.
    pub max_jwks_keys: usize,
    /// Minimum time between refetches caused by tokens the key set cannot serve (an unknown key,
    /// or a known kid whose signature fails, in case the issuer renewed it). Requests that miss
    /// while one is in flight wait for it; within the cooldown after it, misses are refused at
    /// once. Defaults to 30 s; at least 1 s in production.
    pub refetch_cooldown_seconds: u64,
}

impl Default for KeySetConfig {
    fn default() -> Self {
        let limits = KeySetLimits::default();
        Self {
            jwks_ttl_seconds: limits.default_ttl.as_secs(),
            jwks_min_ttl_seconds: limits.min_ttl.as_secs(),
            jwks_max_ttl_seconds: limits.max_ttl.as_secs(),
            max_stale_seconds: limits.max_stale.as_secs(),
            max_jwks_keys: limits.max_keys,
            refetch_cooldown_seconds: limits.refetch_cooldown.as_secs(),
        }
    }
}

impl KeySetConfig {
    /// The limits these settings describe, checked; in `production`, a cooldown of 0 and more
    /// than a week of stale service are refused. `key` names a setting by its field name.
    pub fn limits(
        &self,
        production: bool,
        key: &dyn Fn(&str) -> String,
    ) -> Result<KeySetLimits, SettingsError> {
        positive(&key("jwks_ttl_seconds"), self.jwks_ttl_seconds)?;
        positive(&key("jwks_min_ttl_seconds"), self.jwks_min_ttl_seconds)?;
        positive(&key("max_jwks_keys"), self.max_jwks_keys as u64)?;
        if self.jwks_max_ttl_seconds < self.jwks_min_ttl_seconds {
            return Err(SettingsError::new(
                &key("jwks_max_ttl_seconds"),
                format!("it is below {}", key("jwks_min_ttl_seconds")),
                "make the maximum key set lifetime at least the minimum",
            ));
        }
        if production && self.refetch_cooldown_seconds == 0 {
            return Err(SettingsError::new(
                &key("refetch_cooldown_seconds"),
                "0 lets every token naming an unknown key fetch the issuer's key set",
                "use at least 1 s in production (the default is 30 s)",
            ));
        }
        if production && self.max_stale_seconds > MAX_STALE_SECONDS {
            return Err(SettingsError::new(
                &key("max_stale_seconds"),
                format!(
                    "{} s keeps serving a key set the issuer may have revoked for too long",
                    self.max_stale_seconds
                ),
                format!("use at most {MAX_STALE_SECONDS} s (7 days) in production"),
            ));
        }
        Ok(KeySetLimits {
            default_ttl: Duration::from_secs(self.jwks_ttl_seconds),
            min_ttl: Duration::from_secs(self.jwks_min_ttl_seconds),
            max_ttl: Duration::from_secs(self.jwks_max_ttl_seconds),
            max_stale: Duration::from_secs(self.max_stale_seconds),
            max_keys: self.max_jwks_keys,
            refetch_cooldown: Duration::from_secs(self.refetch_cooldown_seconds),
        })
    }
}
