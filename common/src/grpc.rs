//! Serving a gRPC service the same way in every process: health, reflection,
//! grpc-web, and a graceful drain on shutdown.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Updates database-backed gauges before a scrape.
pub type MetricsRefresh = std::sync::Arc<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A bound gRPC listener with its health reporter, ready to serve.
pub struct GrpcServer {
    refresh: Option<MetricsRefresh>,
    listener: TcpListener,
    routes: Routes,
    health: HealthReporter,
    service_name: &'static str,
}

impl GrpcServer {
    /// Binds `addr` (port 0 picks a free port) and prepares `routes` with health,
    /// reflection for `descriptor_set`, grpc-web, and `GET /metrics` (Prometheus
    /// text; `refresh` updates gauges that are read from the database first).
    pub async fn bind(
        addr: SocketAddr,
        routes: Routes,
        service_name: &'static str,
        descriptor_set: &'static [u8],
        refresh: Option<MetricsRefresh>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let (health, health_service) = tonic_health::server::health_reporter();
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(std::io::Error::other)?;
        let routes = routes.add_service(health_service).add_service(reflection);
        Ok(Self {
            refresh,
            listener,
            routes,
            health,
            service_name,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Serves until `shutdown` resolves, then reports NOT_SERVING, stops
    /// accepting, and waits for in-flight calls to finish.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), tonic::transport::Error> {
        let health = self.health.clone();
        let name = self.service_name;
        set_status(&health, name, ServingStatus::Serving).await;
        let signal = async move {
            shutdown.await;
            set_status(&health, name, ServingStatus::NotServing).await;
            tracing::info!(service = name, "draining in-flight calls");
        };
        Server::builder()
            .accept_http1(true)
            .layer(crate::metrics::MetricsEndpointLayer::new(self.refresh))
            .layer(crate::metrics::GrpcMetricsLayer::new(name))
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

/// Sets both the named service's and the overall ("") status.
async fn set_status(health: &HealthReporter, name: &str, status: ServingStatus) {
    health.set_service_status(name, status).await;
    health.set_service_status("", status).await;
}
