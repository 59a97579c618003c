//! Prometheus metrics shared by the three processes: one registry (the
//! process's default), labelled by component (`job-queue`, `recipe-types`,
//! `gateway`) so the all-in-one binary keeps them apart, with the `process_*`
//! family on Linux. Every port of a process serves the same, fresh, numbers:
//! database-backed gauges are refreshed on each scrape, whichever port it hits.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex, Once, Weak};
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

fn gateway_counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let opts = Opts::new(name, help).const_label("component", GATEWAY);
    let c = IntCounterVec::new(opts, labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    let _ = prometheus::register(Box::new(c.clone()));
    c
}

fn gateway_histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).const_label("component", GATEWAY);
    let h = HistogramVec::new(opts, labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    let _ = prometheus::register(Box::new(h.clone()));
    h
}

pub static GRPC_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "brigade_grpc_requests_total",
        "gRPC calls served, by component, method and status code name (OK, NOT_FOUND, ...)",
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
    gateway_counter(
        "brigade_http_requests_total",
        "REST requests served by the gateway, by route, method and status",
        &["route", "method", "status"],
    )
});

/// The component label of the gateway's families (they carry no other).
const GATEWAY: &str = "gateway";

pub static HTTP_LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    gateway_histogram(
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

/// Reads a component's database-backed gauges.
pub type RefreshFn = dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// Updates database-backed gauges before a scrape.
pub type MetricsRefresh = Arc<RefreshFn>;

/// The refreshers of the components serving in this process; a component's
/// entry lapses when it stops (its server holds the only strong reference).
static REFRESHERS: Mutex<Vec<Weak<RefreshFn>>> = Mutex::new(Vec::new());

/// Makes `refresh` run before every scrape of this process, on any port, for
/// as long as `refresh` (the caller's `Arc`) lives.
pub fn register_refresh(refresh: &MetricsRefresh) {
    let mut all = REFRESHERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.retain(|r| r.strong_count() > 0);
    all.push(Arc::downgrade(refresh));
}

/// Refreshes every live component's gauges, then renders (what `/metrics` serves).
pub async fn render_fresh() -> String {
    let live: Vec<MetricsRefresh> = REFRESHERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for refresh in live {
        refresh().await;
    }
    render()
}

/// The `process_*` family (CPU, memory, open files, start time), where the
/// platform provides it.
fn register_process_metrics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(target_os = "linux")]
        let _ = prometheus::register(Box::new(prometheus::process_collector::ProcessCollector::for_self()));
    });
}

/// The process's metrics in the Prometheus text format, as they stand.
pub fn render() -> String {
    register_process_metrics();
    let mut buffer = Vec::new();
    let _ = TextEncoder::new().encode(&prometheus::gather(), &mut buffer);
    String::from_utf8(buffer).unwrap_or_default()
}

/// The conventional name of a `grpc-status` value (`5` → `NOT_FOUND`).
pub fn grpc_code_name(status: &str) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    status
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| NAMES.get(n).copied())
        .unwrap_or("UNKNOWN")
}

/// Counts and times every gRPC call. The code comes from the `grpc-status`
/// header of a trailers-only (error) response; otherwise the call started well
/// and is counted as `OK` — an error later in a stream is not seen here.
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
                Ok(response) => grpc_code_name(
                    response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("0"),
                ),
                Err(_) => "UNAVAILABLE",
            };
            GRPC_REQUESTS.with_label_values(&[component, &method, code]).inc();
            GRPC_LATENCY
                .with_label_values(&[component, &method])
                .observe(start.elapsed().as_secs_f64());
            result
        })
    }
}

/// Answers plain-HTTP `GET /metrics` on a gRPC port, in front of grpc-web
/// (which would refuse an HTTP/1.1 request that is not grpc-web).
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsEndpointLayer;

impl<S> tower::Layer<S> for MetricsEndpointLayer {
    type Service = MetricsEndpoint<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsEndpoint { inner }
    }
}

#[derive(Clone, Debug)]
pub struct MetricsEndpoint<S> {
    inner: S,
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
        Box::pin(async move {
            let body = tonic::body::Body::new(http_body_util::Full::new(bytes::Bytes::from(render_fresh().await)));
            let mut response = http::Response::new(body);
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_are_named() {
        assert_eq!(grpc_code_name("0"), "OK");
        assert_eq!(grpc_code_name("5"), "NOT_FOUND");
        assert_eq!(grpc_code_name("16"), "UNAUTHENTICATED");
        assert_eq!(grpc_code_name("99"), "UNKNOWN");
    }

    #[test]
    fn process_metrics_are_rendered_on_linux() {
        let text = render();
        if cfg!(target_os = "linux") {
            assert!(text.contains("process_resident_memory_bytes"), "{text}");
        }
    }
}
