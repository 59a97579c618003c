//! Serving a gRPC service the same way in every process: health, reflection,
//! grpc-web, and a graceful drain on shutdown.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::{AuthLayer, Authenticator, MethodScopes};
use crate::readiness::{PROBE_INTERVAL, Probe, Readiness, ReadinessGateLayer, ready_after};
use crate::tls::ServerTls;

pub use crate::metrics::MetricsRefresh;

/// A bound gRPC listener with its health reporter, ready to serve.
pub struct GrpcServer {
    /// Held while serving: the metrics registry only keeps a weak reference.
    refresh: Option<MetricsRefresh>,
    component: &'static str,
    addr: SocketAddr,
    listener: TcpListener,
    routes: Routes,
    health: HealthReporter,
    service_name: &'static str,
    readiness: Option<(Readiness, Probe)>,
    auth: AuthLayer,
    tls: Option<ServerTls>,
}

impl GrpcServer {
    /// Prepares `routes` on a bound `listener` (see [`crate::listen::listen`])
    /// with health, reflection for `descriptor_set`, grpc-web, and `GET /metrics`
    /// (Prometheus text; `refresh` updates gauges read from the database before
    /// any scrape of the process). `component` labels this server's metrics.
    pub fn new(
        listener: TcpListener,
        component: &'static str,
        routes: Routes,
        service_name: &'static str,
        descriptor_set: &'static [u8],
        refresh: Option<MetricsRefresh>,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let (health, health_service) = tonic_health::server::health_reporter();
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(std::io::Error::other)?;
        let routes = routes.add_service(health_service).add_service(reflection);
        if let Some(refresh) = &refresh {
            crate::metrics::register_refresh(refresh);
        }
        Ok(Self {
            refresh,
            component,
            addr,
            listener,
            routes,
            health,
            service_name,
            readiness: None,
            auth: AuthLayer::new(Authenticator::off(component), MethodScopes::default()),
            tls: None,
        })
    }

    /// Probes a dependency every second while serving: when it fails, health
    /// turns NOT_SERVING and calls answer UNAVAILABLE at once, until it answers again.
    pub fn with_readiness(mut self, readiness: Readiness, probe: Probe) -> Self {
        self.readiness = Some((readiness, probe));
        self
    }

    /// Checks every call's token and its method's scope (see [`AuthLayer`]).
    /// Without it every caller is the anonymous admin.
    pub fn with_auth(mut self, auth: AuthLayer) -> Self {
        self.auth = auth;
        self
    }

    /// Serves TLS (and verifies client certificates when the config has a
    /// client CA); a verified certificate's identity reaches the [`AuthLayer`].
    pub fn with_tls(mut self, tls: Option<ServerTls>) -> Self {
        self.tls = tls;
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Serves until `shutdown` resolves, then reports NOT_SERVING, stops
    /// accepting, and waits for in-flight calls to finish.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), tonic::transport::Error> {
        let health = self.health.clone();
        let name = self.service_name;
        let _refresh = self.refresh;
        set_status(&health, name, ServingStatus::Serving).await;
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        let gate = self.readiness.as_ref().map(|(r, _)| r.clone());
        if let Some((readiness, probe)) = self.readiness {
            tokio::spawn(watch_readiness(readiness, probe, health.clone(), name, stopped));
        }
        let signal = async move {
            shutdown.await;
            let _ = stopping.send(true);
            set_status(&health, name, ServingStatus::NotServing).await;
            tracing::info!(service = name, "draining in-flight calls");
        };
        let mut builder = Server::builder();
        if let Some(tls) = &self.tls {
            builder = builder.tls_config(tls.tonic())?;
        }
        builder
            .accept_http1(true)
            .layer(ReadinessGateLayer::new(gate))
            .layer(crate::metrics::MetricsEndpointLayer)
            .layer(crate::metrics::GrpcMetricsLayer::new(self.component))
            // Inside the metrics layer so refusals are counted with their
            // code; outside tracing so a refused call opens no span.
            .layer(self.auth)
            .layer(crate::trace::ServerTraceLayer::new(name))
            .layer(tonic_web::GrpcWebLayer::new())
            .add_routes(self.routes)
            // Without TCP_NODELAY, small responses wait for the peer's delayed ACK (~40 ms a call).
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(self.listener).with_nodelay(Some(true)),
                signal,
            )
            .await
    }
}

/// Runs the probe every [`PROBE_INTERVAL`] until shutdown, following its
/// result with the health status (shutdown's NOT_SERVING always wins).
async fn watch_readiness(
    readiness: Readiness,
    probe: Probe,
    health: HealthReporter,
    name: &'static str,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(PROBE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let ok = Readiness::check(&probe).await;
        if *stopped.borrow() {
            return;
        }
        failures = if ok { 0 } else { failures + 1 };
        let ready = ready_after(readiness.is_ready(), ok, failures);
        if readiness.set(ready) {
            if ready {
                tracing::info!(service = name, "dependency reachable again: serving");
                set_status(&health, name, ServingStatus::Serving).await;
            } else {
                tracing::warn!(service = name, "dependency unreachable: not serving");
                set_status(&health, name, ServingStatus::NotServing).await;
            }
        }
    }
}

/// Sets both the named service's and the overall ("") status.
async fn set_status(health: &HealthReporter, name: &str, status: ServingStatus) {
    health.set_service_status(name, status).await;
    health.set_service_status("", status).await;
}
