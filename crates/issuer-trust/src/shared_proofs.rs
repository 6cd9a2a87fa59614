//! Used DPoP proofs remembered in Redis (or Valkey), shared by every replica, so that a proof
//! used at one is refused at every other (RFC 9449 §11.1). One `SET <key> 1 NX PX <window>` a
//! proof: atomic, so of many copies sent at once to any replicas exactly one is first, and the
//! key expires as the proof's window closes. A store that does not answer within its timeout
//! fails the request closed, as unavailable: never accepted without the check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::observer::Observer;

/// What the shared store said of a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedUse {
    /// Its first use anywhere: accepted.
    First,
    /// Used before, at this replica or another: a replay.
    Again,
    /// The store did not answer in time, or failed: the proof cannot be checked.
    Unavailable,
}

/// The store as readiness reports it. While it is down, DPoP requests are refused as
/// unavailable and bearer requests are served, so a replica stays ready once it has reached it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SharedStatus {
    /// Whether it answers.
    pub status: StoreState,
    /// Why it fails, while it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Whether the shared store answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StoreState {
    /// It answers.
    Up,
    /// It answered before and fails now.
    Down,
    /// It has not answered since the service started.
    Unreached,
}

/// How often [`SharedProofs::watch`] asks whether the store answers: every second until it
/// first does, then every few seconds.
const PING_UNREACHED: Duration = Duration::from_secs(1);
const PING: Duration = Duration::from_secs(5);

/// The replicas' shared memory of used proofs.
pub struct SharedProofs {
    connection: ConnectionManager,
    timeout: Duration,
    observer: Arc<dyn Observer>,
    reached: AtomicBool,
    failing: Mutex<Option<&'static str>>,
}

impl SharedProofs {
    /// Whether `url` can name a store, checked without connecting; the refusal never repeats
    /// the URL, which may hold a password.
    pub fn check_url(url: &str) -> Result<(), &'static str> {
        redis::Client::open(url)
            .map(drop)
            .map_err(|_| "it is not a redis:// or rediss:// URL")
    }

    /// A store at `url` (`redis://` or `rediss://`, credentials allowed), each command and each
    /// connection attempt bounded by `timeout`. It connects on first use and reconnects after a
    /// failure; `observer` hears how long each proof took it and whether it answered. `Err`
    /// when the URL cannot be read; the error never repeats the URL. Made within a Tokio
    /// runtime, which runs its connection.
    pub fn new(
        url: &str,
        timeout: Duration,
        observer: Arc<dyn Observer>,
    ) -> Result<Self, &'static str> {
        let client =
            redis::Client::open(url).map_err(|_| "it is not a redis:// or rediss:// URL")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(timeout);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|_| "no connection can be made to it")?;
        Ok(Self {
            connection,
            timeout,
            observer,
            reached: AtomicBool::new(false),
            failing: Mutex::new(None),
        })
    }

    /// Remembers `key` (a digest naming the proof) for `window`, unless it is remembered
    /// already.
    pub async fn record(&self, key: &[u8], window: Duration) -> SharedUse {
        let started = Instant::now();
        let name = format!("dpop-jti:{}", URL_SAFE_NO_PAD.encode(key));
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut command = redis::cmd("SET");
        command.arg(name).arg(1).arg("NX").arg("PX").arg(millis);
        let mut connection = self.connection.clone();
        let answer = tokio::time::timeout(
            self.timeout,
            command.query_async::<Option<String>>(&mut connection),
        )
        .await;
        let used = match answer {
            Ok(Ok(Some(_))) => self.answered(SharedUse::First),
            Ok(Ok(None)) => self.answered(SharedUse::Again),
            Ok(Err(error)) => self.failed(reason(&error)),
            Err(_) => self.failed("the store did not answer in time"),
        };
        self.observer
            .replay_store_checked(started.elapsed(), used != SharedUse::Unavailable);
        used
    }

    /// Asks the store whether it answers, as readiness and startup do.
    pub async fn ping(&self) -> bool {
        let mut connection = self.connection.clone();
        let answer = tokio::time::timeout(
            self.timeout,
            redis::cmd("PING").query_async::<String>(&mut connection),
        )
        .await;
        let failure = match answer {
            Ok(Ok(_)) => return self.answered(true),
            Ok(Err(error)) => reason(&error),
            Err(_) => "the store did not answer in time",
        };
        self.failed(failure);
        false
    }

    /// Whether the store answers, and why it fails if it does.
    pub fn status(&self) -> SharedStatus {
        let reason = *self.failing.lock().unwrap_or_else(|e| e.into_inner());
        let status = match (self.reached.load(Ordering::Acquire), reason) {
            (false, _) => StoreState::Unreached,
            (true, Some(_)) => StoreState::Down,
            (true, None) => StoreState::Up,
        };
        SharedStatus { status, reason }
    }

    /// Asks the store once now, then keeps asking in a task on the current runtime, so the
    /// status says when it is down and when it is back even without DPoP traffic.
    pub async fn watch(self: &Arc<Self>) {
        let mut reached = self.ping().await;
        let store = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(if reached { PING } else { PING_UNREACHED }).await;
                reached = store.ping().await || store.reached.load(Ordering::Acquire);
            }
        });
    }

    fn answered<T>(&self, answer: T) -> T {
        self.reached.store(true, Ordering::Release);
        *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = None;
        answer
    }

    fn failed(&self, why: &'static str) -> SharedUse {
        *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
        SharedUse::Unavailable
    }
}

/// A fixed phrase for a store error: its message may name the server, never shown.
fn reason(error: &redis::RedisError) -> &'static str {
    if error.is_timeout() {
        "the store did not answer in time"
    } else if error.is_connection_refusal() || error.is_connection_dropped() || error.is_io_error()
    {
        "the store cannot be reached"
    } else {
        "the store refused the command"
    }
}
