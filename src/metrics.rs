//! Prometheus metrics, exposed at `GET /metrics` in the text format. Every label value comes
//! from a bounded set: route patterns (never raw paths), methods, status codes, fixed rejection
//! reasons and the configured issuers; never a kid, a subject or a token.

use std::cell::RefCell;
use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::web;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

mod histogram;
mod spread;

use histogram::SpreadHistogram;

type Labels = Vec<(&'static str, String)>;

/// A counter every request (or every authenticated one) moves, spread so cores do not contend.
type HotCounter = Counter<u64, spread::Spread>;

/// Every metric this service exposes. Shared by all workers; updates are atomic.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<Labels, HotCounter>,
    http_duration: Family<Labels, SpreadHistogram>,
    auth_outcomes: Family<Labels, HotCounter>,
    jwks_fetches: Family<Labels, Counter>,
    unknown_kid_refetches: Family<Labels, Counter>,
    refetches_refused: Family<Labels, Counter>,
    dpop_replay_store_full: Counter,
    token_cache_bytes: Gauge,
    keys_loaded: Family<Labels, Gauge>,
    key_set_age: Family<Labels, Gauge>,
    /// The series every authenticated request moves, resolved once: an increment is then one
    /// atomic add on this thread's line, with no label set built, hashed or looked up.
    accepted: HotCounter,
    cache_hits: HotCounter,
    cache_misses: HotCounter,
}

/// The request counter and histogram of one route, method and status.
#[derive(Clone)]
struct Series {
    count: HotCounter,
    duration: SpreadHistogram,
}

impl Series {
    fn record(&self, seconds: f64) {
        self.count.inc();
        self.duration.observe(seconds);
    }
}

/// A fast hasher: the keys are route patterns and status codes, never a client's choice.
type Fast = foldhash::fast::RandomState;

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<Labels, HotCounter>::default();
        registry.register(
            "http_requests",
            "Requests by route pattern, method and status",
            http_requests.clone(),
        );
        let http_duration = Family::<Labels, SpreadHistogram>::default();
        registry.register(
            "http_request_duration_seconds",
            "Request latency by route pattern, method and status",
            http_duration.clone(),
        );
        let auth_outcomes = Family::<Labels, HotCounter>::default();
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
        let token_cache = Family::<Labels, HotCounter>::default();
        registry.register(
            "token_cache_lookups",
            "Verified-token cache lookups by result",
            token_cache.clone(),
        );
        let series = |family: &Family<Labels, HotCounter>, name, value: &str| {
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
    /// The series of a route, method and status, created the first time any worker asks.
    fn request_series(&self, route: &str, method: &'static str, status: u16) -> Series {
        let labels = vec![
            ("route", route.to_owned()),
            ("method", method.to_owned()),
            ("status", status.to_string()),
        ];
        Series {
            count: self.http_requests.get_or_create(&labels).clone(),
            duration: self.http_duration.get_or_create(&labels).clone(),
        }
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

/// One worker's recorder of requests. Each route, method and status's series is resolved from
/// the families the first time the worker serves it and kept in the worker's own map: a request
/// then costs one lookup there and three atomic updates on its thread's lines, with no lock
/// taken, no label set built and nothing allocated. (One map for every worker behind a
/// read-write lock, and a histogram behind a mutex, wrote a lock word every core shares on
/// every request.)
pub struct RequestRecorder {
    metrics: web::Data<Metrics>,
    known: RefCell<HashMap<SeriesKey, Known, Fast>>,
}

/// Where a route's name and its method's label are held, and its status: three words to
/// hash, where the texts took a hash each. A route's name is held by its resource for the
/// worker's life, so its address is steady; the text is still compared on every hit (see
/// [`Known`]), so the address only finds the entry and never decides it. Method labels are
/// constants: one address, one label.
#[derive(PartialEq, Eq, Hash)]
struct SeriesKey {
    route_at: usize,
    method_at: usize,
    status: u16,
}

/// A series and the route name it was resolved for.
struct Known {
    route: Box<str>,
    series: Series,
}

impl RequestRecorder {
    pub fn new(metrics: web::Data<Metrics>) -> Self {
        Self {
            metrics,
            known: RefCell::default(),
        }
    }

    /// A request served by `route` (its pattern, or `unmatched`) that answered `status`.
    pub fn record(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let method = method_label(method);
        let key = SeriesKey {
            route_at: route.as_ptr() as usize,
            method_at: method.as_ptr() as usize,
            status,
        };
        let mut known = self.known.borrow_mut();
        match known.get(&key) {
            Some(known) if *known.route == *route => known.series.record(seconds),
            // New, or another name now held where an earlier one was: resolved by its text.
            _ => {
                let series = self.metrics.request_series(route, method, status);
                series.record(seconds);
                let route = route.into();
                known.insert(key, Known { route, series });
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn count(metrics: &Metrics, route: &str) -> Option<String> {
        let series =
            format!(r#"http_requests_total{{route="{route}",method="GET",status="200"}} "#);
        let text = metrics.render([], 0);
        let line = text.lines().find(|line| line.starts_with(&series))?;
        Some(line[series.len()..].to_owned())
    }

    #[test]
    fn a_route_name_counts_under_its_text_wherever_it_is_held() {
        let metrics = web::Data::new(Metrics::default());
        let recorder = RequestRecorder::new(metrics.clone());
        let mut name = String::from("/a");
        recorder.record(&name, &Method::GET, 200, 0.001);
        recorder.record(&name, &Method::GET, 200, 0.001);
        // Another name held where the first one was.
        name.replace_range(.., "/b");
        recorder.record(&name, &Method::GET, 200, 0.001);
        // The first name again, held elsewhere.
        recorder.record(&String::from("/a"), &Method::GET, 200, 0.001);
        assert_eq!(count(&metrics, "/a").as_deref(), Some("3"));
        assert_eq!(count(&metrics, "/b").as_deref(), Some("1"));
    }
}
