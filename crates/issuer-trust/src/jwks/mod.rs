//! The shared JWKS store: fetches the issuer's keys, parses them once, caches the parsed set and
//! refreshes it. It knows nothing of HTTP responses; it answers "which key verifies this token".
//!
//! Readers never lock: the current set sits behind an atomic pointer swap, and a refresh builds
//! the new set aside and swaps it in whole. A background task refreshes ahead of expiry, so no
//! request waits on a scheduled refresh; when the issuer fails, the last good set keeps serving
//! for a bounded staleness while the task retries with exponential backoff and jitter. Refetches are
//! single-flight, and those caused by tokens the set cannot serve (an unknown key, or a known kid
//! whose signature fails) are rate-limited by a cooldown so that bogus tokens cannot turn into a
//! fetch flood; requests that miss while such a refetch is in flight wait for it and are judged
//! on its result.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use reqwest::Url;
use reqwest::header::HeaderMap;

use super::fetch::{Answer, FetchError, Fetcher};
pub use super::keys::KeyLookupError;
use super::keys::{KeyName, KeySet, KeySetError, SkippedKey, VerificationKey};
use super::observer::Observer;

mod loaded;
mod refresher;

use loaded::LoadedSet;
pub use loaded::SetNumber;

/// Where the keys of one issuer come from and how long they are trusted.
#[derive(Debug, Clone)]
pub struct JwksSource {
    /// The exact `iss` of this issuer's tokens.
    pub issuer: String,
    /// Explicit JWKS URL; `None` uses discovery.
    pub jwks_uri: Option<Url>,
    /// Algorithms a key may verify at all.
    pub algorithms: Vec<Algorithm>,
    /// How long its sets live, how stale they may serve, how large they may be.
    pub limits: KeySetLimits,
    /// Keys handed over rather than fetched: then there is no discovery and no fetch.
    pub static_keys: Option<StaticKeys>,
    /// Sent with every discovery and key set request, e.g. an API key; values marked sensitive.
    pub fetch_headers: HeaderMap,
}

/// A key set handed to the service instead of fetched from its issuer. Every rule of fetched
/// sets applies to it: the algorithms a key fits, minimum sizes, selection by kid or thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticKeys {
    /// A JWKS document, or PEM public keys (each named by its RFC 7638 thumbprint), in a file,
    /// read again every `min_ttl`, so that a mounted Secret or
    /// ConfigMap updated in place is taken without a restart; a file that breaks leaves the
    /// last good set serving (within `max_stale`) and the reason in the store's status.
    File(PathBuf),
    /// A JWKS document given whole.
    Inline(String),
}

/// The bounds every key set of an issuer is held within, whatever its issuer sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySetLimits {
    /// Lifetime of a set whose response has no `Cache-Control: max-age`.
    pub default_ttl: Duration,
    /// The shortest lifetime of a set, whatever the issuer's `max-age` says.
    pub min_ttl: Duration,
    /// The longest lifetime of a set, whatever the issuer's `max-age` says.
    pub max_ttl: Duration,
    /// How long past its lifetime the last good set still serves while refreshes fail.
    pub max_stale: Duration,
    /// Sets with more keys than this are refused whole.
    pub max_keys: usize,
    /// Minimum time between refetches caused by tokens the set cannot serve.
    pub refetch_cooldown: Duration,
}

/// Ten minutes without `max-age`, between a minute and a day with it, a day of stale service
/// while the issuer fails, a hundred keys, a refetch every thirty seconds at most.
impl Default for KeySetLimits {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(600),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(86_400),
            max_stale: Duration::from_secs(86_400),
            max_keys: 100,
            refetch_cooldown: Duration::from_secs(30),
        }
    }
}

impl JwksSource {
    /// How long a set served with this `max-age` is used: clamped to the configured bounds,
    /// the default when the header is absent.
    pub fn lifetime(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.limits.default_ttl)
            .clamp(self.limits.min_ttl, self.limits.max_ttl)
    }
}

/// Why a refresh failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshError {
    Fetch(FetchError),
    /// A key file could not be read; names it and says why.
    File(String),
    KeySet(KeySetError),
}

impl std::fmt::Display for RefreshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fetch(error) => error.fmt(f),
            Self::File(why) => write!(f, "the key file cannot be read: {why}"),
            Self::KeySet(error) => error.fmt(f),
        }
    }
}

/// A snapshot of the store, for readiness and diagnostics; serialized as a readiness report
/// shows it (`keys`, `age_seconds`).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct StoreStatus {
    /// The issuer whose keys these are.
    pub issuer: String,
    /// Where the set was fetched from, once known.
    pub jwks_uri: Option<String>,
    /// The kids of the usable keys.
    pub kids: Vec<String>,
    /// How many keys are usable.
    #[serde(rename = "keys")]
    pub key_count: usize,
    /// How long ago the current set was fetched; `None` before any was.
    #[serde(rename = "age_seconds", serialize_with = "whole_seconds")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<u64>))]
    pub age: Option<Duration>,
    /// Whether the set is past its lifetime (still serving, within the staleness bound).
    pub stale: bool,
    /// The keys of the set that cannot be used, and why.
    pub skipped: Vec<SkippedKey>,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<String>,
}

fn whole_seconds<S: serde::Serializer>(age: &Option<Duration>, out: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&age.map(|age| age.as_secs()), out)
}

/// What the fetch lock guards: where the JWKS is (found once by discovery), and the number of
/// the last fetch to finish.
struct Fetching {
    resolved_uri: Option<Url>,
    finished: u64,
}

/// One refetch caused by a token the set could not serve. Every request that misses before it
/// is done waits for it; once done, it answers for the rest of the cooldown.
struct Refetch {
    started: Instant,
    done: tokio::sync::OnceCell<()>,
}

/// The keys of one issuer, shared by every worker.
pub struct JwksStore {
    source: JwksSource,
    fetcher: Fetcher,
    observer: Arc<dyn Observer>,
    current: ArcSwapOption<LoadedSet>,
    /// Held for the whole of a fetch: concurrent refreshes wait and then reuse its result.
    refresh: tokio::sync::Mutex<Fetching>,
    /// How many fetches have started; each is numbered by it.
    fetches_started: AtomicU64,
    last_refetch: Mutex<Option<Arc<Refetch>>>,
    last_error: Mutex<Option<String>>,
    /// Set once the service shuts down; the refresher then ends.
    stopping: std::sync::atomic::AtomicBool,
    stop: Arc<tokio::sync::Notify>,
}

impl JwksStore {
    /// A store of `source`'s keys, fetched with `fetcher`; empty until the first fetch
    /// ([`refresh`](Self::refresh), [`spawn_refresher`](Self::spawn_refresher), or a token
    /// naming a key).
    pub fn new(source: JwksSource, fetcher: Fetcher, observer: Arc<dyn Observer>) -> Self {
        Self {
            observer,
            refresh: tokio::sync::Mutex::new(Fetching {
                resolved_uri: source.jwks_uri.clone(),
                finished: 0,
            }),
            fetches_started: AtomicU64::new(0),
            source,
            fetcher,
            current: ArcSwapOption::empty(),
            last_refetch: Mutex::new(None),
            last_error: Mutex::new(None),
            stopping: std::sync::atomic::AtomicBool::new(false),
            stop: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The issuer this store serves.
    pub fn issuer(&self) -> &str {
        &self.source.issuer
    }

    /// Whether its keys are handed over (a file or inline) rather than fetched: reading them
    /// waits on no network, so a service can load them before it serves.
    pub fn keys_handed_over(&self) -> bool {
        self.source.static_keys.is_some()
    }

    /// Whether a key set within its staleness bound is loaded.
    pub fn is_ready(&self) -> bool {
        self.usable_snapshot().is_some()
    }

    /// Waits up to `deadline` for a usable key set; true once there is one.
    pub async fn wait_until_ready(&self, deadline: Duration) -> bool {
        let give_up = Instant::now() + deadline;
        while !self.is_ready() {
            if Instant::now() >= give_up {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Fetches and swaps in a new key set. Concurrent callers share one fetch, but only one that
    /// started after they called: a fetch already under way may have left before a key the
    /// caller needs was published.
    pub async fn refresh(&self) -> Result<(), RefreshError> {
        let started_before = self.fetches_started.load(Ordering::Acquire);
        let mut fetching = self.refresh.lock().await;
        if fetching.finished > started_before {
            return Ok(());
        }
        let number = self.fetches_started.fetch_add(1, Ordering::AcqRel) + 1;
        let outcome = self.fetch_set(&mut fetching.resolved_uri).await;
        fetching.finished = number;
        match &outcome {
            Ok(loaded) if loaded.revalidated => {
                self.observer.jwks_not_modified(&self.source.issuer)
            }
            _ => self
                .observer
                .jwks_fetched(&self.source.issuer, outcome.is_ok()),
        }
        match outcome {
            Ok(loaded) if loaded.revalidated => {
                log::debug!(
                    "issuer {}: key set unchanged at {}",
                    self.source.issuer,
                    loaded.jwks_uri
                );
                self.current.store(Some(Arc::new(loaded)));
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                Ok(())
            }
            Ok(loaded) => {
                for skipped in loaded.keys.skipped() {
                    // The kid is the issuer's text: escaped, so it cannot start a log line.
                    match &skipped.kid {
                        Some(kid) => log::warn!(
                            "issuer {}: skipped JWKS key \"{}\": {}",
                            self.source.issuer,
                            kid.escape_debug(),
                            skipped.reason
                        ),
                        None => log::warn!(
                            "issuer {}: skipped JWKS key (no kid): {}",
                            self.source.issuer,
                            skipped.reason
                        ),
                    }
                }
                log::info!(
                    "issuer {}: loaded {} signing key(s) from {}",
                    self.source.issuer,
                    loaded.keys.len(),
                    loaded.jwks_uri
                );
                self.current.store(Some(Arc::new(loaded)));
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                Ok(())
            }
            Err(error) => {
                log::warn!("issuer {}: key refresh failed: {error}", self.source.issuer);
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(error.to_string());
                Err(error)
            }
        }
    }

    async fn fetch_set(&self, resolved_uri: &mut Option<Url>) -> Result<LoadedSet, RefreshError> {
        if let Some(keys) = &self.source.static_keys {
            return self.read_static(keys).await;
        }
        let jwks_uri = match resolved_uri.clone() {
            Some(uri) => uri,
            None => {
                let uri = self
                    .fetcher
                    .discover_jwks_uri(&self.source.issuer, &self.source.fetch_headers)
                    .await
                    .map_err(RefreshError::Fetch)?;
                *resolved_uri = Some(uri.clone());
                uri
            }
        };
        let previous = self.snapshot();
        // Asked conditionally only of the address the current set came from.
        let validators = previous
            .as_ref()
            .filter(|set| set.jwks_uri == jwks_uri)
            .map(|set| set.validators.clone())
            .unwrap_or_default();
        let answer = self
            .fetcher
            .get_if_changed(
                &self.source.issuer,
                &jwks_uri,
                &self.source.fetch_headers,
                &validators,
            )
            .await
            .map_err(RefreshError::Fetch)?;
        let fetched = match (answer, &previous) {
            (Answer::Changed(fetched), _) => fetched,
            (Answer::NotModified { max_age }, Some(previous)) => {
                return Ok(previous.renewed(self.source.lifetime(max_age)));
            }
            // A 304 is only taken for a request that had validators, so of a set held.
            (Answer::NotModified { .. }, None) => {
                return Err(RefreshError::Fetch(FetchError::Status(304)));
            }
        };
        let keys = KeySet::parse(
            &fetched.body,
            &self.source.algorithms,
            self.source.limits.max_keys,
            previous.as_ref().map(|set| &*set.keys),
        )
        .map_err(RefreshError::KeySet)?;
        let lifetime = self.source.lifetime(fetched.max_age);
        Ok(
            LoadedSet::new(keys, jwks_uri, lifetime, previous.as_deref())
                .asked_with(fetched.validators),
        )
    }

    /// Keys handed over: a file read now (and kept for `min_ttl`, then read again), or the
    /// inline document (kept for `max_ttl`).
    async fn read_static(&self, keys: &StaticKeys) -> Result<LoadedSet, RefreshError> {
        let limits = &self.source.limits;
        let (body, origin, lifetime) = match keys {
            StaticKeys::File(path) => {
                let body = tokio::fs::read(path)
                    .await
                    .map_err(|error| RefreshError::File(format!("{}: {error}", path.display())))?;
                let origin = std::path::absolute(path)
                    .ok()
                    .and_then(|path| Url::from_file_path(path).ok())
                    .ok_or_else(|| RefreshError::File(format!("{}: no path", path.display())))?;
                (body, origin, limits.min_ttl)
            }
            StaticKeys::Inline(text) => {
                let origin = Url::parse("data:application/jwk-set+json,inline")
                    .map_err(|_| RefreshError::File("inline".to_owned()))?;
                (text.as_bytes().to_vec(), origin, limits.max_ttl)
            }
        };
        let previous = self.snapshot();
        let keys = crate::pem_keys::as_jwks(body)
            .and_then(|jwks| {
                KeySet::parse(
                    &jwks,
                    &self.source.algorithms,
                    limits.max_keys,
                    previous.as_ref().map(|set| &*set.keys),
                )
            })
            .map_err(RefreshError::KeySet)?;
        Ok(LoadedSet::new(keys, origin, lifetime, previous.as_deref()))
    }

    /// The key that must verify a token naming `name` and signed with `alg`.
    ///
    /// A key the set lacks triggers one refetch unless another happened within the cooldown.
    pub async fn key_for(
        &self,
        name: &KeyName,
        alg: Algorithm,
    ) -> Result<Arc<VerificationKey>, KeyLookupError> {
        match self.current_key(name, alg) {
            Err(KeyLookupError::UnknownKid) => {
                if Box::pin(self.refetch()).await {
                    self.current_key(name, alg)
                } else {
                    Err(KeyLookupError::UnknownKid)
                }
            }
            found => found,
        }
    }

    /// The key for this name and `alg` in the set held now, without any fetch.
    pub fn current_key(
        &self,
        name: &KeyName,
        alg: Algorithm,
    ) -> Result<Arc<VerificationKey>, KeyLookupError> {
        let set = self.usable_snapshot().ok_or(KeyLookupError::Unavailable)?;
        set.keys.find(name, alg).cloned()
    }

    /// After `key` failed to verify a signature: refetches (within the same cooldown as unknown
    /// keys) in case the issuer renewed the key under the same kid, and returns the new key if
    /// it did.
    pub async fn renewed_key(
        &self,
        name: &KeyName,
        alg: Algorithm,
        key: &Arc<VerificationKey>,
    ) -> Option<Arc<VerificationKey>> {
        if !Box::pin(self.refetch()).await {
            return None;
        }
        self.current_key(name, alg)
            .ok()
            .filter(|renewed| !Arc::ptr_eq(renewed, key))
    }

    /// Joins the refetch in flight, or starts one if the cooldown allows; false when the
    /// cooldown refuses, so the caller answers from the set it has.
    ///
    /// Callers box this future: it holds the HTTP fetch, which is large, and inline it would be
    /// part of every verification's future, which is built and moved a few times on every request,
    /// cache hits included. Boxed, it costs an allocation only when a refetch is asked for.
    async fn refetch(&self) -> bool {
        let attempt = {
            let mut last = self.last_refetch.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            match &*last {
                Some(attempt) if !attempt.done.initialized() => Arc::clone(attempt),
                Some(attempt)
                    if now.duration_since(attempt.started)
                        < self.source.limits.refetch_cooldown =>
                {
                    self.observer.jwks_refetch_refused(&self.source.issuer);
                    return false;
                }
                _ => {
                    self.observer.jwks_refetched(&self.source.issuer);
                    let attempt = Arc::new(Refetch {
                        started: now,
                        done: tokio::sync::OnceCell::new(),
                    });
                    *last = Some(Arc::clone(&attempt));
                    attempt
                }
            }
        };
        attempt
            .done
            .get_or_init(|| async {
                log::debug!(
                    "issuer {}: a token names a key the set cannot serve; refetching",
                    self.source.issuer
                );
                // A failed refetch leaves the current set in place.
                let _ = self.refresh().await;
            })
            .await;
        true
    }

    /// The number of the current set if it (within its staleness bound) would choose `key` for
    /// this name and algorithm; remembered with a verification, for [`JwksStore::still_serves`].
    pub fn set_serving(
        &self,
        name: &KeyName,
        alg: Algorithm,
        key: &Arc<VerificationKey>,
    ) -> Option<SetNumber> {
        let set = self.current.load();
        set.as_deref()
            .filter(|set| self.within_staleness(set))
            .and_then(|set| set.number_serving(name, alg, key))
    }

    /// Whether `key` is still the key the current set (within its staleness bound) would choose
    /// for this name and algorithm: a remembered verification stays good only while it is. When
    /// the current set is the one the verification was checked against (`checked_in`), it is,
    /// without a lookup.
    pub fn still_serves(
        &self,
        name: &KeyName,
        alg: Algorithm,
        key: &Arc<VerificationKey>,
        checked_in: Option<SetNumber>,
    ) -> bool {
        // Borrowed, not cloned: on the cached path of every worker at once, taking a reference
        // count on the shared set and key would make each hit contend for their cache lines.
        let set = self.current.load();
        set.as_deref().is_some_and(|set| {
            self.within_staleness(set) && set.still_serves(name, alg, key, checked_in)
        })
    }

    fn within_staleness(&self, set: &LoadedSet) -> bool {
        Instant::now() <= set.expires_at() + self.source.limits.max_stale
    }

    fn snapshot(&self) -> Option<Arc<LoadedSet>> {
        self.current.load_full()
    }

    /// The set, unless it is past its lifetime by more than the staleness bound.
    fn usable_snapshot(&self) -> Option<Arc<LoadedSet>> {
        self.snapshot().filter(|set| self.within_staleness(set))
    }

    /// What the store holds now.
    pub fn status(&self) -> StoreStatus {
        let set = self.usable_snapshot();
        StoreStatus {
            issuer: self.source.issuer.clone(),
            jwks_uri: set.as_ref().map(|s| s.jwks_uri.to_string()),
            kids: set.as_ref().map(|s| s.keys.kids()).unwrap_or_default(),
            key_count: set.as_ref().map_or(0, |s| s.keys.len()),
            age: set.as_ref().map(|s| s.fetched_at.elapsed()),
            stale: set
                .as_ref()
                .is_some_and(|s| Instant::now() > s.expires_at()),
            skipped: set
                .as_ref()
                .map(|s| s.keys.skipped().to_vec())
                .unwrap_or_default(),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}
