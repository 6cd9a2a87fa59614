//! Traces (feature `opentelemetry`): the verifier's spans, W3C Trace Context sent to the issuer
//! on every fetch, and the export of a service's spans over OTLP/HTTP.
//!
//! A verification is a span, a child of whatever span is current (a service's server span,
//! which the actix adapter's `trace_requests` opens from the gateway's `traceparent`); each
//! discovery and key-set fetch it waits on is a client span below it, and the issuer receives
//! that span's `traceparent`. The spans go to OpenTelemetry's global tracer provider, which
//! [`install_from_env`] sets when the standard `OTEL_*` variables ask for export. Without one,
//! nothing is recorded, and a gateway's trace context still passes through to the issuer and
//! into [`current_ids`].

mod export;
pub(crate) mod spans;

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;

pub use export::{DroppedSpans, ExportError, TraceExport, dropped_spans, install_from_env};

/// The ids of the current span, as lowercase hex (trace, then span), when there is one: for
/// log lines, so that each can be found from its trace.
pub fn current_ids() -> Option<(String, String)> {
    Context::map_current(|cx| {
        let span = cx.span();
        let context = span.span_context();
        context.is_valid().then(|| {
            (
                context.trace_id().to_string(),
                context.span_id().to_string(),
            )
        })
    })
}
