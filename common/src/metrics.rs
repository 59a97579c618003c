//! Prometheus metrics shared by the three processes: one registry (the
//! process's default), labelled by component so the all-in-one binary keeps
//! them apart.

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, TextEncoder};

// The constructors below fail only for an invalid metric name or label set,
// which are constants in the code: a panic at first use is a programming error.
// Registering twice (tests start several systems in one process) is harmless.

pub fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    let _ = prometheus::register(Box::new(c.clone()));
    c
}

pub fn histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    let _ = prometheus::register(Box::new(h.clone()));
    h
}

pub fn gauge(name: &str, help: &str, labels: &[&str]) -> prometheus::IntGaugeVec {
    let g =
        prometheus::IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    let _ = prometheus::register(Box::new(g.clone()));
    g
}

pub static GRPC_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "brigade_grpc_requests_total",
        "gRPC calls served, by component, method and grpc-status code",
        &["component", "method", "code"],
    )
});

pub static GRPC_LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    histogram(
        "brigade_grpc_request_duration_seconds",
        "Time to the response headers of gRPC calls, by component and method",
        &["component", "method"],
    )
});

pub static HTTP_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "brigade_http_requests_total",
        "REST requests served by the gateway, by route, method and status",
        &["route", "method", "status"],
    )
});

pub static HTTP_LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    histogram(
        "brigade_http_request_duration_seconds",
        "REST request latency, by route and method",
        &["route", "method"],
    )
});

static DB_POOL: LazyLock<prometheus::IntGaugeVec> = LazyLock::new(|| {
    gauge(
        "brigade_db_pool_connections",
        "Database pool connections, by component and state (idle or busy)",
        &["component", "state"],
    )
});

/// Records a pool's (open, idle) connection counts.
pub fn set_pool(component: &str, size: u32, idle: usize) {
    let idle = i64::try_from(idle).unwrap_or(i64::MAX);
    DB_POOL.with_label_values(&[component, "idle"]).set(idle);
    DB_POOL
        .with_label_values(&[component, "busy"])
        .set(i64::from(size) - idle);
}

/// The process's metrics in the Prometheus text format.
pub fn render() -> String {
    let mut buffer = Vec::new();
    let _ = TextEncoder::new().encode(&prometheus::gather(), &mut buffer);
    String::from_utf8(buffer).unwrap_or_default()
}

/// Counts and times every gRPC call. The code comes from the `grpc-status`
/// header of a trailers-only (error) response; otherwise the call started well
/// and is counted as OK (`0`) — an error later in a stream is not seen here.
#[derive(Clone, Copy, Debug)]
pub struct GrpcMetricsLayer {
    component: &'static str,
}

impl GrpcMetricsLayer {
    pub fn new(component: &'static str) -> Self {
        Self { component }
    }
}

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics {
            inner,
            component: self.component,
        }
    }
}

#[derive(Clone, Debug)]
pub struct GrpcMetrics<S> {
    inner: S,
    component: &'static str,
}

/// Keeps label cardinality bounded: only Brigade's and gRPC's own methods are named.
fn method_label(path: &str) -> String {
    if path.starts_with("/brigade.") || path.starts_with("/grpc.") {
        path.trim_start_matches('/').to_owned()
    } else if path == "/metrics" {
        "metrics".to_owned()
    } else {
        "other".to_owned()
    }
}

impl<S, B, RB> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = method_label(request.uri().path());
        let component = self.component;
        let start = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                Err(_) => "transport".to_owned(),
            };
            GRPC_REQUESTS.with_label_values(&[component, &method, &code]).inc();
            GRPC_LATENCY
                .with_label_values(&[component, &method])
                .observe(start.elapsed().as_secs_f64());
            result
        })
    }
}

/// Answers plain-HTTP `GET /metrics` on a gRPC port, in front of grpc-web
/// (which would refuse an HTTP/1.1 request that is not grpc-web).
#[derive(Clone)]
pub struct MetricsEndpointLayer {
    refresh: Option<crate::grpc::MetricsRefresh>,
}

impl MetricsEndpointLayer {
    pub fn new(refresh: Option<crate::grpc::MetricsRefresh>) -> Self {
        Self { refresh }
    }
}

impl<S> tower::Layer<S> for MetricsEndpointLayer {
    type Service = MetricsEndpoint<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsEndpoint {
            inner,
            refresh: self.refresh.clone(),
        }
    }
}

#[derive(Clone)]
pub struct MetricsEndpoint<S> {
    inner: S,
    refresh: Option<crate::grpc::MetricsRefresh>,
}

impl<S, B> tower::Service<http::Request<B>> for MetricsEndpoint<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.method() != http::Method::GET || request.uri().path() != "/metrics" {
            return Box::pin(self.inner.call(request));
        }
        let refresh = self.refresh.clone();
        Box::pin(async move {
            if let Some(refresh) = refresh {
                refresh().await;
            }
            let body = tonic::body::Body::new(http_body_util::Full::new(bytes::Bytes::from(render())));
            let mut response = http::Response::new(body);
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            Ok(response)
        })
    }
}
