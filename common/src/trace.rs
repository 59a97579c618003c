//! W3C trace context and request ids carried across gRPC calls, so one REST
//! call shows as one trace (and one request id) in every process.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use opentelemetry::propagation::{Extractor, Injector};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    /// The request id of the request this task serves.
    pub static REQUEST_ID: String;
}

/// The current request id, if this task serves a request.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(k, v);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The remote parent named by `traceparent` in these headers (empty when none).
pub fn extract(headers: &http::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Client side: puts the current span's context and request id on every call.
#[derive(Clone, Copy, Debug, Default)]
pub struct Propagate;

impl tonic::service::Interceptor for Propagate {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let context = tracing::Span::current().context();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&context, &mut MetadataInjector(request.metadata_mut()));
        });
        if let Some(id) = current_request_id()
            && let Ok(v) = tonic::metadata::MetadataValue::try_from(id.as_str())
        {
            request.metadata_mut().insert(REQUEST_ID_HEADER, v);
        }
        Ok(request)
    }
}

/// A channel whose calls carry trace context and the request id.
pub type TracedChannel = tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Propagate>;

/// Server side: one span per call, child of the caller's span, with the
/// request id recorded and kept for calls this one makes.
#[derive(Clone, Copy, Debug)]
pub struct ServerTraceLayer {
    component: &'static str,
}

impl ServerTraceLayer {
    pub fn new(component: &'static str) -> Self {
        Self { component }
    }
}

impl<S> tower::Layer<S> for ServerTraceLayer {
    type Service = ServerTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerTrace {
            inner,
            component: self.component,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ServerTrace<S> {
    inner: S,
    component: &'static str,
}

impl<S, B> tower::Service<http::Request<B>> for ServerTrace<S>
where
    S: tower::Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let request_id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let span = tracing::info_span!(
            "grpc",
            otel.name = %request.uri().path().trim_start_matches('/'),
            otel.kind = "server",
            component = self.component,
            rpc.method = %request.uri().path(),
            request_id = %request_id,
        );
        let _ = span.set_parent(extract(request.headers()));
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        let future = future.instrument(span);
        if request_id.is_empty() {
            Box::pin(future)
        } else {
            Box::pin(REQUEST_ID.scope(request_id, future))
        }
    }
}
