//! The verifier's events as Prometheus metrics (feature `prometheus`): a service registers them
//! beside its own and hands them to the verifier as its [`Observer`]. Every label value comes
//! from a bounded set: fixed outcomes and reasons and the configured issuers; never a kid, a
//! subject or a token.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::{Observer, Verifier};

type Labels = Vec<(&'static str, String)>;

/// The verifier's counters and gauges, registered once in a service's registry.
pub struct VerifierMetrics {
    auth_outcomes: Family<Labels, Counter>,
    jwks_fetches: Family<Labels, Counter>,
    unknown_kid_refetches: Family<Labels, Counter>,
    refetches_refused: Family<Labels, Counter>,
    dpop_replay_store_full: Counter,
    replay_store_seconds: Histogram,
    replay_store_errors: Counter,
    token_cache_bytes: Gauge,
    keys_loaded: Family<Labels, Gauge>,
    key_set_age: Family<Labels, Gauge>,
    /// The series every authenticated request moves, resolved once rather than per request.
    accepted: Counter,
    cache_hits: Counter,
    cache_misses: Counter,
}

impl VerifierMetrics {
    /// Registers every metric in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let auth_outcomes = Family::<Labels, Counter>::default();
        registry.register(
            "auth_outcomes",
            "Authentication outcomes by reason",
            auth_outcomes.clone(),
        );
        let jwks_fetches = Family::<Labels, Counter>::default();
        registry.register(
            "jwks_fetches",
            "JWKS fetches by issuer and outcome (ok, error, or not_modified: a conditional fetch answered 304)",
            jwks_fetches.clone(),
        );
        let unknown_kid_refetches = Family::<Labels, Counter>::default();
        registry.register(
            "jwks_unknown_kid_refetches",
            "Refetches caused by tokens the key set could not serve (unknown key, or a failed signature on a known kid)",
            unknown_kid_refetches.clone(),
        );
        let refetches_refused = Family::<Labels, Counter>::default();
        registry.register(
            "jwks_refetches_refused",
            "Refetches refused because one was made within the cooldown",
            refetches_refused.clone(),
        );
        let dpop_replay_store_full = Counter::default();
        registry.register(
            "dpop_replay_store_full",
            "DPoP requests refused (503) because the replay store held as many open proofs as it may",
            dpop_replay_store_full.clone(),
        );
        // From a tenth of a millisecond to about three seconds, past any store timeout.
        let replay_store_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 15));
        registry.register(
            "dpop_replay_store_seconds",
            "Time the shared DPoP replay store took to check a proof, failures included",
            replay_store_seconds.clone(),
        );
        let replay_store_errors = Counter::default();
        registry.register(
            "dpop_replay_store_errors",
            "DPoP proofs the shared replay store did not check in time or failed on (each a 503)",
            replay_store_errors.clone(),
        );
        let token_cache_bytes = Gauge::default();
        registry.register(
            "token_cache_bytes",
            "Bytes the verified-token cache holds, as its entries are weighed against its byte bound",
            token_cache_bytes.clone(),
        );
        let keys_loaded = Family::<Labels, Gauge>::default();
        registry.register(
            "jwks_keys_loaded",
            "Usable keys in the current set",
            keys_loaded.clone(),
        );
        let key_set_age = Family::<Labels, Gauge>::default();
        registry.register(
            "jwks_key_set_age_seconds",
            "Age of the current key set",
            key_set_age.clone(),
        );
        let token_cache = Family::<Labels, Counter>::default();
        registry.register(
            "token_cache_lookups",
            "Verified-token cache lookups by result",
            token_cache.clone(),
        );
        #[cfg(feature = "opentelemetry")]
        registry.register_collector(Box::new(DroppedSpans));
        let series = |family: &Family<Labels, Counter>, name, value: &str| {
            family
                .get_or_create(&vec![(name, value.to_owned())])
                .clone()
        };
        Self {
            accepted: series(&auth_outcomes, "outcome", "accepted"),
            cache_hits: series(&token_cache, "result", "hit"),
            cache_misses: series(&token_cache, "result", "miss"),
            auth_outcomes,
            jwks_fetches,
            unknown_kid_refetches,
            refetches_refused,
            dpop_replay_store_full,
            replay_store_seconds,
            replay_store_errors,
            token_cache_bytes,
            keys_loaded,
            key_set_age,
        }
    }

    /// Sets the gauges from `verifier` as it is now: each issuer's usable keys and the age of
    /// its set (-1 with none loaded), and the bytes its token cache holds. Call it as metrics
    /// are scraped: a set's age grows between refreshes.
    pub fn read(&self, verifier: &Verifier) {
        self.token_cache_bytes
            .set(i64::try_from(verifier.cached_bytes()).unwrap_or(i64::MAX));
        for store in verifier.stores() {
            let status = store.status();
            let issuer = vec![("issuer", status.issuer)];
            let keys = i64::try_from(status.key_count).unwrap_or(i64::MAX);
            self.keys_loaded.get_or_create(&issuer).set(keys);
            let age = status.age.map_or(-1, |age| age.as_secs() as i64);
            self.key_set_age.get_or_create(&issuer).set(age);
        }
    }
}

impl VerifierMetrics {
    fn count_fetch(&self, issuer: &str, outcome: &str) {
        self.jwks_fetches
            .get_or_create(&vec![
                ("issuer", issuer.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }
}

/// The verifier's events, counted.
impl Observer for VerifierMetrics {
    fn jwks_fetched(&self, issuer: &str, ok: bool) {
        self.count_fetch(issuer, if ok { "ok" } else { "error" });
    }

    fn jwks_not_modified(&self, issuer: &str) {
        self.count_fetch(issuer, "not_modified");
    }

    fn jwks_refetched(&self, issuer: &str) {
        self.unknown_kid_refetches
            .get_or_create(&vec![("issuer", issuer.to_owned())])
            .inc();
    }

    fn jwks_refetch_refused(&self, issuer: &str) {
        self.refetches_refused
            .get_or_create(&vec![("issuer", issuer.to_owned())])
            .inc();
    }

    fn token_cache_lookup(&self, hit: bool) {
        if hit {
            self.cache_hits.inc();
        } else {
            self.cache_misses.inc();
        }
    }

    fn request_accepted(&self) {
        self.accepted.inc();
    }

    fn request_refused(&self, reason: &'static str) {
        self.auth_outcomes
            .get_or_create(&vec![("outcome", reason.replace(' ', "_"))])
            .inc();
    }

    fn replay_store_full(&self) {
        self.dpop_replay_store_full.inc();
    }

    fn replay_store_checked(&self, elapsed: std::time::Duration, answered: bool) {
        self.replay_store_seconds.observe(elapsed.as_secs_f64());
        if !answered {
            self.replay_store_errors.inc();
        }
    }
}

/// The spans the trace export lost, by reason, read from it as metrics are scraped.
#[cfg(feature = "opentelemetry")]
#[derive(Debug)]
struct DroppedSpans;

#[cfg(feature = "opentelemetry")]
impl prometheus_client::collector::Collector for DroppedSpans {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::MetricType;
        use prometheus_client::metrics::counter::ConstCounter;

        let dropped = crate::trace::dropped_spans();
        let mut family = encoder.encode_descriptor(
            "trace_spans_dropped",
            "Spans never exported: ended while the export queue was full, or in a batch the collector did not take",
            None,
            MetricType::Counter,
        )?;
        for (reason, count) in [
            ("queue_full", dropped.queue_full),
            ("export_failed", dropped.export_failed),
        ] {
            ConstCounter::new(count).encode(family.encode_family(&[("reason", reason)])?)?;
        }
        Ok(())
    }
}
