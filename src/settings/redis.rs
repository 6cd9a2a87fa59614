//! The `[redis]` section: the Redis (or Valkey) the replicas share, where DPoP proofs are
//! remembered when `APP__AUTH__DPOP_REPLAY_STORE=redis`.

use issuer_trust::config::{SettingsError, positive, values};
use issuer_trust::dpop::SharedProofs;
use serde::Deserialize;

/// Where the shared store is, and how long it may take.
#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    /// `redis://` or `rediss://` (TLS), user and password allowed, never logged or shown.
    /// Defaults to none.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub url: Option<String>,
    /// The longest a connection attempt or a command may take; a DPoP request whose proof
    /// the store does not check in time is answered 503. Defaults to 250 ms.
    pub timeout_ms: u64,
}

impl RedisSettings {
    /// The URL, which a shared store needs, checked without connecting.
    pub fn check(&self) -> Result<&str, SettingsError> {
        positive("APP__REDIS__TIMEOUT_MS", self.timeout_ms)?;
        let Some(url) = self.url.as_deref() else {
            return Err(SettingsError::new(
                "APP__REDIS__URL",
                "the DPoP replay store is redis, and no URL is set",
                "set it to redis://<host>:6379 (or rediss:// for TLS), or use the memory store",
            ));
        };
        SharedProofs::check_url(url).map_err(|problem| {
            SettingsError::new(
                "APP__REDIS__URL",
                problem,
                "give redis://[user:password@]host:port[/db], or rediss:// for TLS",
            )
        })?;
        Ok(url)
    }
}
