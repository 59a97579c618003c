//! Structured logging with `tracing`, and OpenTelemetry trace export when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use std::io::IsTerminal as _;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat};

/// Keeps the trace pipeline alive; dropping it flushes what is buffered.
#[derive(Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends every finished span now (tests and shutdown).
    pub fn flush(&self) {
        if let Some(p) = &self.provider {
            let _ = p.force_flush();
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.force_flush();
            let _ = p.shutdown();
        }
    }
}

fn exporter_endpoint() -> Option<String> {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
}

/// Installs the global subscriber once (later calls are no-ops) and the W3C
/// trace-context propagator. Must run inside the Tokio runtime: the OTLP
/// exporter's gRPC channel lives on it.
///
/// `log.filter` (`RUST_LOG`) selects levels (default `info`); `log.format`
/// (`BRIGADE_LOG_FORMAT=json`) writes one JSON object per line. Text is coloured
/// only when stderr is a terminal. Spans carry ids (request id, job id), never payloads.
pub fn init(service_name: &str, log: &LogConfig) -> Telemetry {
    init_with(service_name, log, exporter_endpoint())
}

/// [`init`] with default log settings and the OTLP endpoint given rather than
/// read from the environment.
pub fn init_with_endpoint(service_name: &str, endpoint: Option<String>) -> Telemetry {
    init_with(service_name, &LogConfig::default(), endpoint)
}

fn init_with(service_name: &str, log: &LogConfig, endpoint: Option<String>) -> Telemetry {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    // The value was checked when the configuration was read.
    let filter = log
        .filter
        .as_deref()
        .and_then(|f| EnvFilter::builder().parse(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // Logs go to stderr: stdout is for what a program reports (the all-in-one binary's URLs).
    let fmt = match log.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .flatten_event(true)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .compact()
            .boxed(),
    };
    let provider = endpoint.and_then(|endpoint| {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build();
        match exporter {
            Ok(exporter) => Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(Resource::builder().with_service_name(service_name.to_owned()).build())
                    .build(),
            ),
            Err(e) => {
                eprintln!("OTEL_EXPORTER_OTLP_ENDPOINT is set but the exporter failed: {e}");
                None
            }
        }
    });
    let otel = provider.as_ref().map(|p| {
        opentelemetry::global::set_tracer_provider(p.clone());
        tracing_opentelemetry::layer().with_tracer(p.tracer("brigade"))
    });
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .is_ok();
    Telemetry {
        provider: provider.filter(|_| installed),
    }
}

use tracing_subscriber::Layer as _;
