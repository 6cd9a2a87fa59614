//! The verifier's spans: one for each verification, and a client span for each discovery or
//! key-set fetch, whose W3C `traceparent` goes to the issuer. They carry the configured
//! issuer, the algorithm, whether the cache answered and why a token was refused; never the
//! token or a claim's value. Until spans are recorded (see `trace::record_spans`) no
//! verification span is made; a request not sampled makes spans that record nothing.

use std::sync::LazyLock;

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{FutureExt, Span, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::Url;
use reqwest::header::HeaderMap;

use crate::{AuthError, Caller, Verifier};

/// The tracer of this library, taken from the global provider at the first span: a service
/// installs its provider (see [`install_from_env`](super::install_from_env)) before it serves.
pub(crate) static TRACER: LazyLock<BoxedTracer> = LazyLock::new(|| {
    global::tracer_with_scope(
        InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    )
});

/// W3C Trace Context, the propagation gateways speak: `traceparent` and `tracestate`.
pub(crate) static PROPAGATOR: LazyLock<TraceContextPropagator> =
    LazyLock::new(TraceContextPropagator::new);

/// Attribute names beside the semantic conventions' own: the conventions have none for tokens.
const ISSUER: &str = "auth.issuer";
const ALGORITHM: &str = "auth.token.algorithm";
const CACHE_HIT: &str = "auth.token.cache_hit";
const REFUSAL: &str = "auth.refusal_reason";
const DOCUMENT: &str = "auth.document";

/// A verification's span, while it records.
pub(crate) struct Verification(Context);

impl Verification {
    /// The span of a verification starting now, as a child of the current span; `None` when
    /// it would record nothing.
    pub(crate) fn start() -> Option<Self> {
        if !super::recording() {
            return None;
        }
        let span = TRACER.start("verify token");
        span.is_recording()
            .then(|| Self(Context::current_with_span(span)))
    }

    /// Runs the verification with this span current, so that a fetch it waits on is its child,
    /// then describes the outcome.
    pub(crate) async fn run(self, verifier: &Verifier, token: &str) -> Result<Caller, AuthError> {
        let mut cache_hit = None;
        let outcome = verifier
            .verify_noting(token, &mut cache_hit)
            .with_context(self.0.clone())
            .await;
        let span = self.0.span();
        if let Some(hit) = cache_hit {
            span.set_attribute(KeyValue::new(CACHE_HIT, hit));
        }
        match &outcome {
            Ok(caller) => {
                let provenance = caller.provenance();
                span.set_attribute(KeyValue::new(ISSUER, provenance.trusted_issuer.to_string()));
                span.set_attribute(KeyValue::new(ALGORITHM, format!("{:?}", provenance.alg)));
            }
            Err(error) => {
                let (issuer, alg) = verifier.described(token);
                if let Some(issuer) = issuer {
                    span.set_attribute(KeyValue::new(ISSUER, issuer.to_owned()));
                }
                if let Some(alg) = alg {
                    span.set_attribute(KeyValue::new(ALGORITHM, format!("{alg:?}")));
                }
                span.set_attribute(KeyValue::new(REFUSAL, error.reason()));
                span.set_attribute(KeyValue::new("error.type", error.reason()));
                span.set_status(Status::error(error.reason()));
            }
        }
        span.end();
        outcome
    }
}

/// A GET of an issuer's document, as a client span described by the HTTP conventions.
pub(crate) struct Fetch(Context);

impl Fetch {
    /// The span of a GET of `url` starting now, its `traceparent` (and `tracestate`) added to
    /// `headers`. Injected even when it records nothing, so the issuer sees the gateway's trace.
    pub(crate) fn start(issuer: &str, url: &Url, headers: &mut HeaderMap) -> Self {
        let mut span = TRACER
            .span_builder("GET")
            .with_kind(SpanKind::Client)
            .start(&*TRACER);
        if span.is_recording() {
            span.set_attributes([
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("url.full", without_secrets(url)),
                KeyValue::new(
                    "server.address",
                    url.host_str().unwrap_or_default().to_owned(),
                ),
                KeyValue::new(
                    "server.port",
                    i64::from(url.port_or_known_default().unwrap_or(0)),
                ),
                KeyValue::new(ISSUER, issuer.to_owned()),
                KeyValue::new(DOCUMENT, document(url)),
            ]);
        }
        let cx = Context::current_with_span(span);
        PROPAGATOR.inject_context(&cx, &mut HeaderInjector(headers));
        Self(cx)
    }

    /// The context to send the request in.
    pub(crate) fn context(&self) -> Context {
        self.0.clone()
    }

    /// Describes the answer (its status and size, or the failure's kind and words) and ends
    /// the span.
    pub(crate) fn finish(
        self,
        status: Option<u16>,
        bytes: Option<usize>,
        failure: Option<(&'static str, String)>,
    ) {
        let span = self.0.span();
        if let Some(status) = status {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Some(bytes) = bytes {
            span.set_attribute(KeyValue::new("http.response.body.size", bytes as i64));
        }
        if let Some((kind, words)) = failure {
            span.set_attribute(KeyValue::new("error.type", kind));
            span.set_status(Status::error(words));
        }
        span.end();
    }
}

/// Which document a URL is, for the span: discovery's own path, else the key set.
fn document(url: &Url) -> &'static str {
    if url.path().ends_with("/.well-known/openid-configuration") {
        "discovery"
    } else {
        "jwks"
    }
}

/// The URL without its query and user information, where a key endpoint's credentials
/// could be.
fn without_secrets(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetched_url_is_shown_without_credentials_or_query() {
        let url = Url::parse("https://user:pw@issuer.example.com/keys?api_key=s3cret").unwrap();
        assert_eq!(without_secrets(&url), "https://issuer.example.com/keys");
    }

    #[test]
    fn discovery_and_key_sets_are_told_apart() {
        let discovery =
            Url::parse("https://issuer.example.com/.well-known/openid-configuration").unwrap();
        assert_eq!(document(&discovery), "discovery");
        let keys = Url::parse("https://issuer.example.com/.well-known/jwks.json").unwrap();
        assert_eq!(document(&keys), "jwks");
    }
}
