//! The server span of each request (feature `opentelemetry`): it continues the W3C trace the
//! gateway sent in `traceparent` and `tracestate`, or starts one when they are absent or
//! malformed (as the W3C specification says: ignored, never an error), and is named and
//! described by OpenTelemetry's HTTP server conventions.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use opentelemetry::KeyValue;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{FutureExt, Span, SpanKind, Status, TraceContextExt, Tracer};

use crate::trace::spans::{PROPAGATOR, TRACER};

/// Serves `req` under its server span; wrap it (`actix_web::middleware::from_fn`) outside every
/// other middleware, so that their log lines and the verification belong to the span.
pub async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !crate::trace::recording() && !req.headers().contains_key("traceparent") {
        return next.call(req).await;
    }
    let parent = PROPAGATOR.extract(&Headers::of(req.headers()));
    let mut span = TRACER
        .span_builder("HTTP")
        .with_kind(SpanKind::Server)
        .start_with_context(&*TRACER, &parent);
    if !span.is_recording() {
        // Nothing to record. A context still there (the gateway's, or a trace not sampled)
        // reaches the logs and the fetches, so that they follow the same decision.
        if !span.span_context().is_valid() {
            return next.call(req).await;
        }
        return next.call(req).with_context(parent.with_span(span)).await;
    }
    let scheme = req.connection_info().scheme().to_owned();
    span.set_attributes([
        KeyValue::new("http.request.method", req.method().to_string()),
        KeyValue::new("url.scheme", scheme),
        KeyValue::new("url.path", req.path().to_owned()),
    ]);
    let cx = parent.with_span(span);
    let served = next.call(req).with_context(cx.clone()).await;
    let span = cx.span();
    let (request, status) = match &served {
        Ok(response) => (response.request(), response.status()),
        Err(error) => {
            span.set_status(Status::error(error.to_string()));
            span.end();
            return served;
        }
    };
    let method = request.method();
    match request.match_pattern() {
        Some(route) => {
            span.update_name(format!("{method} {route}"));
            span.set_attribute(KeyValue::new("http.route", route));
        }
        None => span.update_name(method.to_string()),
    }
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status.as_u16()),
    ));
    if status.is_server_error() {
        span.set_attribute(KeyValue::new("error.type", status.as_str().to_owned()));
        span.set_status(Status::error(""));
    }
    span.end();
    served
}

/// The trace context a request carries, as the propagator reads it: `traceparent` only when
/// there is exactly one and it has the W3C shape, and the `tracestate` lines joined, as a list
/// split over several lines means the same as one.
struct Headers<'a> {
    traceparent: Option<&'a str>,
    tracestate: Option<String>,
}

impl<'a> Headers<'a> {
    fn of(headers: &'a HeaderMap) -> Self {
        let mut parents = headers.get_all("traceparent");
        let traceparent = match (parents.next(), parents.next()) {
            (Some(only), None) => only.to_str().ok().filter(|value| well_formed(value)),
            _ => None,
        };
        let states: Vec<&str> = headers
            .get_all("tracestate")
            .filter_map(|value| value.to_str().ok())
            .collect();
        Self {
            traceparent,
            tracestate: (!states.is_empty()).then(|| states.join(",")),
        }
    }
}

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => self.traceparent,
            "tracestate" => self.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        let present = [
            self.traceparent.map(|_| "traceparent"),
            self.tracestate.as_ref().map(|_| "tracestate"),
        ];
        present.into_iter().flatten().collect()
    }
}

/// The W3C `traceparent` shape, which the SDK's parser checks only in part (it takes ids of
/// any length): a version other than `ff`, then a trace id of 32, a parent id of 16 and flags
/// of 2 lowercase hex digits; version `00` ends there, a later one may continue after a `-`.
fn well_formed(value: &str) -> bool {
    let bytes = value.as_bytes();
    let hex = |from: usize, to: usize| {
        bytes
            .get(from..to)
            .is_some_and(|part| part.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    };
    let dash = |at: usize| bytes.get(at) == Some(&b'-');
    let fields = hex(0, 2) && dash(2) && hex(3, 35) && dash(35) && hex(36, 52) && dash(52);
    let ends = match &bytes[..2.min(bytes.len())] {
        b"00" => bytes.len() == 55,
        b"ff" => false,
        _ => bytes.len() == 55 || dash(55),
    };
    fields && hex(53, 55) && ends
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn only_the_w3c_traceparent_shape_is_taken() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(well_formed(good));
        assert!(well_formed(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
        ));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7x01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
