//! Prometheus metrics, exposed at `GET /metrics` in the text format: the requests served, by
//! route pattern (never a raw path), method and status, beside the verifier's own metrics.

use std::sync::Arc;

use actix_web::http::Method;
use issuer_trust::Verifier;
use issuer_trust::metrics::VerifierMetrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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
    /// What the verifier counts, also its observer.
    pub verifier: Arc<VerifierMetrics>,
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
        let verifier = Arc::new(VerifierMetrics::register(&mut registry));
        Self {
            registry,
            http_requests,
            http_duration,
            verifier,
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

    /// The text exposition, with the verifier's gauges read at this moment.
    pub fn render(&self, verifier: &Verifier) -> String {
        self.verifier.read(verifier);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
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
