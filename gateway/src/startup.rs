//! Building and running the gateway.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::serve::{Listener, ListenerExt as _};
use brigade_common::auth::Authenticator;
use brigade_common::tls::{TlsListener, TlsPeer, certificate_identity};
use http::HeaderName;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tonic::transport::Channel;
use tower::ServiceExt as _;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::middleware::{self, Guard};
use crate::routes;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Who the gateway's callers are: the tokens file (`BRIGADE_TOKENS_FILE`), then
/// job-queue's token table (`Authenticate` over `job_queue`, with the gateway's
/// own `BRIGADE_SERVICE_TOKEN`), so a token made or revoked there counts at once.
pub fn authenticator(config: &Config, job_queue: &Channel) -> anyhow::Result<Authenticator> {
    Ok(brigade_common::auth::remote_authenticator(
        &config.auth,
        job_queue.clone(),
        COMPONENT,
    )?)
}

/// The whole HTTP application, without a socket (tests may drive it directly).
pub fn app(config: &Config) -> anyhow::Result<Router> {
    let state = AppState::new(config)?;
    let authenticator = authenticator(config, &state.job_queue_channel)?;
    app_with(config, state, &authenticator)
}

/// [`app`] with the authenticator given (the all-in-one shares one).
pub fn app_with(config: &Config, state: AppState, authenticator: &Authenticator) -> anyhow::Result<Router> {
    let guard = Guard {
        permits: Arc::new(Semaphore::new(config.limits.max_concurrent_requests as usize)),
        timeout: Duration::from_millis(config.limits.request_timeout_ms),
        body: state.limits,
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
    let routed = routes::router(state, authenticator)
        .layer(from_fn(middleware::http_metrics))
        .fallback(middleware::not_found);
    let with_methods = tower::Layer::layer(&from_fn(middleware::methods), routed);
    let app = Router::new()
        .fallback_service(with_methods)
        .layer(from_fn_with_state(guard, middleware::guard))
        .layer(from_fn(middleware::request_scope))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    Ok(crate::cors::wrap(app, config.limits.cors_origins()?))
}

/// This process's name in logs, errors and the metrics' `component` label.
pub const COMPONENT: &str = "gateway";

/// Plain TCP, or TLS when the gateway has a certificate.
enum Incoming {
    Plain(TcpListener),
    Tls(TlsListener),
}

pub struct Application {
    listener: Incoming,
    addr: SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    draining: crate::state::Draining,
}

impl Application {
    /// Binds `BRIGADE_GATEWAY_ADDR`, refusing a non-loopback address without
    /// authentication (unless `BRIGADE_AUTH=off`).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        config.auth.check_exposure(config.listen.addrs())?;
        let listener = brigade_common::listen::listen(COMPONENT, &config.listen).await?;
        Self::build_on(config, listener)
    }

    /// [`Application::build`] on a listener bound by the caller.
    pub fn build_on(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        config.validate()?;
        let state = AppState::new(&config)?;
        let authenticator = authenticator(&config, &state.job_queue_channel)?;
        Self::build_with(config, listener, state, &authenticator)
    }

    /// [`Application::build_on`] with the authenticator given.
    pub fn build_with(
        config: Config,
        listener: TcpListener,
        state: AppState,
        authenticator: &Authenticator,
    ) -> anyhow::Result<Self> {
        config.validate()?;
        if !authenticator.is_enabled() {
            tracing::warn!("authentication is off: every caller may do everything");
        }
        let draining = state.draining.clone();
        let router = app_with(&config, state, authenticator)?;
        let addr = listener.local_addr()?;
        let listener = match config.tls.load()? {
            Some(tls) => Incoming::Tls(TlsListener::from_listener(listener, tls.rustls()?)?),
            None => Incoming::Plain(listener),
        };
        let header_read_timeout = Duration::from_millis(config.limits.header_read_timeout_ms);
        Ok(Self {
            listener,
            addr,
            router,
            header_read_timeout,
            draining,
        })
    }

    /// Whether the gateway serves HTTPS.
    pub fn is_tls(&self) -> bool {
        matches!(self.listener, Incoming::Tls(_))
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
        tracing::info!(addr = %self.local_addr(), tls = self.is_tls(), "gateway serving");
        let draining = self.draining;
        let shutdown = async move {
            shutdown.await;
            draining.start();
        };
        match self.listener {
            Incoming::Plain(listener) => {
                let listener = listener.tap_io(|stream| {
                    let _ = stream.set_nodelay(true);
                });
                serve(listener, self.router, self.header_read_timeout, shutdown).await;
            }
            Incoming::Tls(listener) => serve(listener, self.router, self.header_read_timeout, shutdown).await,
        }
        tracing::info!("gateway stopped");
        Ok(())
    }
}

/// What a connection says about its peer: a verified client certificate's identity.
trait Peer {
    fn peer(&self, remote_addr: SocketAddr) -> Option<TlsPeer>;
}

impl Peer for TcpStream {
    fn peer(&self, _: SocketAddr) -> Option<TlsPeer> {
        None
    }
}

impl Peer for tokio_rustls::server::TlsStream<TcpStream> {
    fn peer(&self, remote_addr: SocketAddr) -> Option<TlsPeer> {
        let (_, session) = self.get_ref();
        Some(TlsPeer {
            remote_addr,
            identity: session
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(certificate_identity),
        })
    }
}

async fn serve<L>(
    mut listener: L,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    L: Listener<Addr = SocketAddr>,
    L::Io: Peer,
{
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // The listener retries failed accepts itself (out of descriptors and the like).
        let (stream, remote_addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let peer = stream.peer(remote_addr);
        let service = router
            .clone()
            .map_request(move |mut request: http::Request<hyper::body::Incoming>| {
                if let Some(peer) = &peer {
                    request.extensions_mut().insert(peer.clone());
                }
                request
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
