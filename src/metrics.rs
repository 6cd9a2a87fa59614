//! Prometheus metrics, exposed at `GET /metrics` in the text format. Every label value comes
//! from a bounded set: route patterns (never raw paths), methods, status codes, fixed rejection
//! reasons and the configured issuers; never a kid, a subject or a token.

use actix_web::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// The series of one route pattern (or `unmatched`), method and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

/// A family of request-latency histograms, all with the same buckets.
type Latencies = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// Every metric this service exposes. Shared by all workers; updates are atomic.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Latencies,
    auth_outcomes: Family<Labels, Counter>,
    jwks_fetches: Family<Labels, Counter>,
    unknown_kid_refetches: Family<Labels, Counter>,
    refetches_refused: Family<Labels, Counter>,
    dpop_replay_store_full: Counter,
    token_cache_bytes: Gauge,
    keys_loaded: Family<Labels, Gauge>,
    key_set_age: Family<Labels, Gauge>,
    /// The series every authenticated request moves, resolved once rather than per request.
    accepted: Counter,
    cache_hits: Counter,
    cache_misses: Counter,
}

/// Latency buckets in seconds, each twice the one before, then +Inf.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests by route pattern, method and status",
            http_requests.clone(),
        );
        let http_duration: Latencies = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Request latency by route pattern, method and status",
            http_duration.clone(),
        );
        let auth_outcomes = Family::<Labels, Counter>::default();
        registry.register(
            "auth_outcomes",
            "Authentication outcomes by reason",
            auth_outcomes.clone(),
        );
        let jwks_fetches = Family::<Labels, Counter>::default();
        registry.register(
            "jwks_fetches",
            "JWKS fetches by issuer and outcome",
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
        let series = |family: &Family<Labels, Counter>, name, value: &str| {
            family
                .get_or_create(&vec![(name, value.to_owned())])
                .clone()
        };
        let accepted = series(&auth_outcomes, "outcome", "accepted");
        let cache_hits = series(&token_cache, "result", "hit");
        let cache_misses = series(&token_cache, "result", "miss");
        Self {
            registry,
            http_requests,
            http_duration,
            auth_outcomes,
            jwks_fetches,
            unknown_kid_refetches,
            refetches_refused,
            dpop_replay_store_full,
            token_cache_bytes,
            keys_loaded,
            key_set_age,
            accepted,
            cache_hits,
            cache_misses,
        }
    }
}

impl Metrics {
    /// A request served by `route` (its pattern, or `unmatched`) that answered `status`.
    pub fn record_request(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let labels = RequestLabels {
            route: route.to_owned(),
            method: method_label(method),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration.get_or_create(&labels).observe(seconds);
    }

    /// The text exposition, with the key-set gauges and the token cache's bytes read at this
    /// moment (a set's age grows between refreshes, so it is set when scraped rather than when
    /// fetched).
    pub fn render(
        &self,
        key_sets: impl IntoIterator<Item = KeySetGauges>,
        token_cache_bytes: u64,
    ) -> String {
        self.token_cache_bytes
            .set(i64::try_from(token_cache_bytes).unwrap_or(i64::MAX));
        for key_set in key_sets {
            let issuer = vec![("issuer", key_set.issuer)];
            self.keys_loaded
                .get_or_create(&issuer)
                .set(key_set.keys as i64);
            let age = key_set.age.map_or(-1, |age| age.as_secs() as i64);
            self.key_set_age.get_or_create(&issuer).set(age);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// The verifier's events, counted.
impl crate::auth::Observer for Metrics {
    fn jwks_fetched(&self, issuer: &str, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.jwks_fetches
            .get_or_create(&vec![
                ("issuer", issuer.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
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
}

/// What the key-set gauges show for one issuer.
pub struct KeySetGauges {
    pub issuer: String,
    pub keys: usize,
    /// How old the loaded set is; `None` (shown as -1) when none is loaded.
    pub age: Option<std::time::Duration>,
}

/// A method's label: the standard ones by name, any other as `other`, so that a client
/// inventing methods cannot grow the series without bound.
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    STANDARD
        .iter()
        .find(|(standard, _)| standard == method)
        .map_or("other", |(_, label)| label)
}
