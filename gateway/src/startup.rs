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
    header_read_timeout: Duration,
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
        let header_read_timeout = Duration::from_millis(config.limits.header_read_timeout_ms);
        Ok(Self {
            listener,
            addr,
            router,
            header_read_timeout,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    ///
    /// Each connection is served on its own with a deadline for its request headers
    /// (hyper's `header_read_timeout`); bodies have theirs in `body::read_bytes`. So a
    /// client that stalls holds only its own connection, never a slot of the global limit
    /// for longer than those deadlines.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
        use hyper_util::server::conn::auto::Builder;
        use hyper_util::service::TowerToHyperService;

        tracing::info!(addr = %self.local_addr(), "gateway serving");
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        builder.http2().timer(TokioTimer::new());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let service = TowerToHyperService::new(self.router);
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: back off briefly, keep serving.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service.clone())
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "connection ended");
                }
            });
        }
        drop(self.listener);
        graceful.shutdown().await;
        tracing::info!("gateway stopped");
        Ok(())
    }
}
