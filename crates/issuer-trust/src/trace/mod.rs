//! Traces (feature `opentelemetry`): the verifier's spans, W3C Trace Context sent to the issuer
//! on every fetch, and the export of a service's spans over OTLP/HTTP.
//!
//! A verification is a span, a child of whatever span is current (a service's server span,
//! which the actix adapter's `trace_requests` opens from the gateway's `traceparent`); each
//! discovery and key-set fetch it waits on is a client span below it, and the issuer receives
//! that span's `traceparent`. The spans go to OpenTelemetry's global tracer provider, which
//! [`install_from_env`] sets when the standard `OTEL_*` variables ask for export (a service
//! with a provider of its own calls [`record_spans`]). Without one, no span is made, and a
//! gateway's trace context still passes through to the issuer and into [`current_ids`].
//!
//! A service installs the export first and flushes it last:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! #[tokio::main]
//! async fn main() {
//!     // `None` unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces one) is set.
//!     let export = match issuer_trust::trace::install_from_env("orders-api") {
//!         Ok(export) => export,
//!         Err(refused) => {
//!             eprintln!("{refused}");
//!             std::process::exit(2);
//!         }
//!     };
//!     // … build the verifier, serve (with actix-web, wrap the app in
//!     // `from_fn(issuer_trust::actix::trace_requests)`), and at shutdown:
//!     if let Some(export) = export {
//!         let _ = export.shutdown(Duration::from_secs(5));
//!     }
//! }
//! ```

mod export;
mod plan;
pub(crate) mod spans;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;

pub use export::{DroppedSpans, TraceExport, dropped_spans, install_from_env};
pub use plan::{ExportError, describe_export};

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

/// Whether spans are recorded in this process: set by [`install_from_env`] when it starts the
/// export, or by [`record_spans`]. Until then a span would go to no provider, so none is made,
/// and a request that carries no trace context costs one header lookup.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// Makes the verifier's spans with whatever tracer provider the service installed globally
/// itself, rather than through [`install_from_env`]; call it after installing the provider.
pub fn record_spans() {
    RECORDING.store(true, Ordering::Release);
}

/// Whether spans are recorded in this process.
pub(crate) fn recording() -> bool {
    RECORDING.load(Ordering::Acquire)
}
