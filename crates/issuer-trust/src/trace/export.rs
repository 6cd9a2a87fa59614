//! Span export over OTLP/HTTP (protobuf), configured by OpenTelemetry's standard variables and
//! started only when they name an endpoint. Spans wait in a bounded queue that a thread of the
//! SDK sends in batches: a collector that is down or slow fills the queue, and what does not
//! fit is dropped and counted, never waited for by a request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::plan::{ExportError, Plan, variable};
use opentelemetry::Context;
use opentelemetry_otlp::{SpanExporter as OtlpExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, Span, SpanData, SpanExporter,
    SpanProcessor,
};

/// Spans dropped because the queue was full.
static DROPPED_QUEUE_FULL: AtomicU64 = AtomicU64::new(0);
/// Spans lost in batches the collector did not take.
static DROPPED_EXPORT_FAILED: AtomicU64 = AtomicU64::new(0);

/// Spans that never reached the collector, since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DroppedSpans {
    /// Ended while the queue was full.
    pub queue_full: u64,
    /// In a batch the collector refused or never answered.
    pub export_failed: u64,
}

/// The counts of spans lost so far: the export is process-wide, as OpenTelemetry's global
/// tracer provider is.
pub fn dropped_spans() -> DroppedSpans {
    DroppedSpans {
        queue_full: DROPPED_QUEUE_FULL.load(Ordering::Relaxed),
        export_failed: DROPPED_EXPORT_FAILED.load(Ordering::Relaxed),
    }
}

/// The running export; [`shutdown`](Self::shutdown) sends what is queued.
pub struct TraceExport {
    provider: SdkTracerProvider,
}

impl TraceExport {
    /// Sends the queued spans (waiting at most `timeout`) and stops the export. Blocks.
    pub fn shutdown(self, timeout: Duration) -> Result<(), ExportError> {
        self.provider
            .shutdown_with_timeout(timeout)
            .map_err(|error| ExportError::new(format!("trace export did not flush: {error}")))
    }
}

/// Installs the global tracer provider when the variables ask for export, and returns it;
/// `None` when they do not: `OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none`, or neither
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` nor `OTEL_EXPORTER_OTLP_ENDPOINT` set. The exporter
/// reads those and `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`, their `_TRACES_` forms, and
/// `OTEL_SERVICE_NAME` (defaulting to `default_service_name`), `OTEL_RESOURCE_ATTRIBUTES`,
/// `OTEL_TRACES_SAMPLER` / `_ARG` and the batch queue's `OTEL_BSP_*`. A value this service
/// cannot honour (another protocol, compression, an unknown sampler) is an error.
///
/// Call it before the first verification: the verifier's spans go to the provider installed
/// then.
pub fn install_from_env(default_service_name: &str) -> Result<Option<TraceExport>, ExportError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let Plan::Export { queue_size, .. } = Plan::from_env()? else {
        return Ok(None);
    };
    let exporter = OtlpExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()
        .map_err(|error| ExportError::new(format!("trace export cannot start: {error}")))?;
    // The SDK reads the other `OTEL_BSP_*` variables; the queue's size is given, as the bound
    // below must be the same.
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(queue_size)
        .build();
    let queued = Arc::new(AtomicUsize::new(0));
    let processor = Bounded {
        capacity: queue_size,
        queued: Arc::clone(&queued),
        batches: BatchSpanProcessor::new(Counted { exporter, queued }, config),
    };
    let mut resource = Resource::builder();
    if variable("OTEL_SERVICE_NAME").is_none()
        && !variable("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|set| set.contains("service.name="))
    {
        resource = resource.with_service_name(default_service_name.to_owned());
    }
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource.build())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    super::record_spans();
    Ok(Some(TraceExport { provider }))
}

/// The SDK's batch processor behind a count of the spans it holds: a span that would overflow
/// its queue is dropped here, where it can be counted, rather than inside it.
#[derive(Debug)]
struct Bounded {
    capacity: usize,
    queued: Arc<AtomicUsize>,
    batches: BatchSpanProcessor,
}

impl SpanProcessor for Bounded {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.batches.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            DROPPED_QUEUE_FULL.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.batches.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.batches.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.batches.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.batches.set_resource(resource);
    }
}

/// The OTLP exporter, releasing each batch's place in the queue once sent, or counting its
/// spans lost when the collector did not take them.
#[derive(Debug)]
struct Counted {
    exporter: OtlpExporter,
    queued: Arc<AtomicUsize>,
}

impl SpanExporter for Counted {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.exporter.export(batch).await;
        self.queued.fetch_sub(spans, Ordering::AcqRel);
        if result.is_err() {
            DROPPED_EXPORT_FAILED.fetch_add(spans as u64, Ordering::Relaxed);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.exporter.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporter.set_resource(resource);
    }
}
