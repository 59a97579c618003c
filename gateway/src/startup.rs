//! Building and running the gateway.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use http::HeaderName;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::middleware::{self, Guard};
use crate::routes;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application, without a socket (tests may drive it directly).
pub fn app(config: &Config) -> anyhow::Result<Router> {
    let state = AppState::new(config)?;
    let guard = Guard {
        permits: Arc::new(Semaphore::new(config.limits.max_concurrent_requests as usize)),
        timeout: Duration::from_millis(config.limits.request_timeout_ms),
    };
    let trace = TraceLayer::new_for_http().make_span_with(|request: &http::Request<_>| {
        let id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "http",
            otel.name = %format!("{} {}", request.method(), request.uri().path()),
            otel.kind = "server",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %id,
        );
        // A caller's W3C traceparent makes this request part of its trace.
        let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(
            &span,
            brigade_common::trace::extract(request.headers()),
        );
        span
    });
    // Method handling wraps the routed application from outside, so it can
    // rewrite the method before routing and see the `Allow` header routing adds.
    let routed = routes::router(state)
        .layer(from_fn(middleware::http_metrics))
        .fallback(middleware::not_found);
    let with_methods = tower::Layer::layer(&from_fn(middleware::methods), routed);
    Ok(Router::new()
        .fallback_service(with_methods)
        .layer(from_fn_with_state(guard, middleware::guard))
        .layer(from_fn(middleware::request_scope))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid)))
}

/// This process's name in logs, errors and the metrics' `component` label.
pub const COMPONENT: &str = "gateway";

pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let listener = brigade_common::listen::listen(COMPONENT, &config.listen).await?;
        Self::build_on(config, listener)
    }

    /// [`Application::build`] on a listener bound by the caller.
    pub fn build_on(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        config.validate()?;
        let router = app(&config)?;
        let addr = listener.local_addr()?;
        Ok(Self { listener, addr, router })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "gateway serving");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await?;
        tracing::info!("gateway stopped");
        Ok(())
    }
}
