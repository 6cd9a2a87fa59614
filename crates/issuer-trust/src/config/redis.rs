//! Where the Redis (or Valkey) the replicas share is, for the DPoP replay store, read with
//! serde from a service's `[redis]` settings and checked without connecting.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::checks::positive;
use super::{SettingsError, values};
use crate::Observer;
use crate::dpop::SharedProofs;

/// The shared store's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` (TLS), user and password allowed, never logged or shown.
    /// Defaults to none.
    #[serde(deserialize_with = "values::optional_string")]
    pub url: Option<String>,
    /// The longest a connection attempt or a command may take; a DPoP request whose proof the
    /// store does not check in time is refused as unavailable. Defaults to a quarter of a second.
    pub timeout_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            timeout_ms: 250,
        }
    }
}

impl RedisConfig {
    /// The URL, which a shared store needs, checked without connecting; `key` names a setting
    /// (`url`, `timeout_ms`) in a refusal, which never repeats the URL.
    pub fn check(&self, key: &dyn Fn(&str) -> String) -> Result<&str, SettingsError> {
        positive(&key("timeout_ms"), self.timeout_ms)?;
        let Some(url) = self.url.as_deref() else {
            return Err(SettingsError::new(
                &key("url"),
                "the DPoP replay store is redis, and no URL is set",
                "set it to redis://<host>:6379 (or rediss:// for TLS), or use the memory store",
            ));
        };
        SharedProofs::check_url(url).map_err(|problem| {
            SettingsError::new(
                &key("url"),
                problem,
                "give redis://[user:password@]host:port[/db], or rediss:// for TLS",
            )
        })?;
        Ok(url)
    }

    /// The store these settings name, telling `observer` how each proof went; it connects on
    /// first use. Made within a Tokio runtime.
    pub fn shared_proofs(
        &self,
        observer: Arc<dyn Observer>,
        key: &dyn Fn(&str) -> String,
    ) -> Result<Arc<SharedProofs>, SettingsError> {
        let url = self.check(key)?;
        let timeout = Duration::from_millis(self.timeout_ms);
        SharedProofs::new(url, timeout, observer)
            .map(Arc::new)
            .map_err(|problem| {
                SettingsError::new(
                    &key("url"),
                    problem,
                    "give redis://[user:password@]host:port[/db], or rediss:// for TLS",
                )
            })
    }
}
