//! Building and running the job-queue process.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use brigade_common::auth::{AuthLayer, ClientCredentials, methods};
use brigade_common::db::{self, DatabaseTarget};
use brigade_common::grpc::GrpcServer;
use brigade_common::listen::listen;
use brigade_common::shutdown::Shutdown;
use brigade_proto::jobqueue::v1::job_queue_server::JobQueueServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::background;
use crate::config::Config;
use crate::events::Events;
use crate::grpc::JobQueueGrpc;
use crate::repository::{PostgresRepository, Repository, SqliteRepository};
use crate::service::{DatabaseTokenStore, JobQueue, Limits};

pub const SERVICE_NAME: &str = "brigade.jobqueue.v1.JobQueue";

/// This process's name in logs, errors and the metrics' `component` label.
pub const COMPONENT: &str = "job-queue";

/// Largest gRPC message accepted; documents are bounded separately.
const MAX_MESSAGE_BYTES: usize = 16 << 20;

pub struct Application {
    server: GrpcServer,
    queue: Arc<JobQueue>,
    config: Config,
    /// Fired when shutdown begins: ends watch streams so the drain can finish.
    stop: Shutdown,
}

/// Opens the configured database and applies migrations; the PostgreSQL pool is
/// also returned, for change notifications between replicas.
pub async fn open_repository(
    target: &DatabaseTarget,
    max_connections: u32,
) -> anyhow::Result<(Arc<dyn Repository>, Option<PgPool>)> {
    let (repo, pg): (Arc<dyn Repository>, _) = match target {
        DatabaseTarget::Sqlite(path) => (
            Arc::new(SqliteRepository::new(db::open_sqlite(path, max_connections).await?)),
            None,
        ),
        DatabaseTarget::Postgres(url) => {
            let pool = db::open_postgres(url, max_connections).await?;
            let claims = db::open_postgres_relaxed(url, (max_connections / 2).max(2))?;
            (
                Arc::new(PostgresRepository::with_claims(pool.clone(), claims)),
                Some(pool),
            )
        }
    };
    repo.migrate().await?;
    Ok((repo, pg))
}

/// Readiness: the database answers a trivial query.
fn database_probe(repo: Arc<dyn crate::repository::Repository>) -> brigade_common::readiness::Probe {
    Arc::new(move || {
        let repo = repo.clone();
        Box::pin(async move { repo.ping().await.is_ok() })
    })
}

/// How often finished jobs past their retention are looked for.
const RETENTION_INTERVAL: Duration = Duration::from_secs(60);

impl Application {
    /// Binds the configured address, then opens the database (so a taken port
    /// leaves nothing on disk) and builds the service.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        config.auth.check_exposure(config.listen.addrs())?;
        let listener = listen(COMPONENT, &config.listen).await?;
        Self::build_on(config, listener).await
    }

    /// [`Application::build`] on a listener bound by the caller.
    pub async fn build_on(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let target = config.validate()?;
        config.auth.check_exposure(&[listener.local_addr()?])?;
        let tls = config.tls.load()?;
        config.tls.client()?; // a bad CA fails now, not at the first notice
        tracing::info!(database = %target.redacted(), "opening job-queue database");
        let (repo, pg) = open_repository(&target, config.storage.db_max_connections).await?;
        let (stop, stopping) = Shutdown::new();
        // SQLite takes one writer at a time; PostgreSQL takes several.
        let submit_lanes = if pg.is_some() { 4 } else { 1 };
        let events = match pg {
            Some(pool) => Events::shared(pool, repo.clone(), stop.waiter()).await,
            None => Events::local(),
        };
        let limits = Limits {
            max_document_bytes: usize::try_from(config.limits.max_document_bytes).unwrap_or(usize::MAX),
            max_page_size: config.limits.max_page_size,
            default_page_size: config.limits.max_page_size.min(Limits::default().default_page_size),
            submit_lanes,
            ..Limits::default()
        };
        let queue = Arc::new(JobQueue::new(repo, events, limits));
        // The tokens file first (service tokens work before any row exists), then the tokens table.
        let authenticator = config
            .auth
            .authenticator_then(COMPONENT, Some(Arc::new(DatabaseTokenStore(queue.clone()))))?;
        let mut grpc = JobQueueGrpc::new(queue.clone(), stopping);
        if let Some(store) = authenticator.store() {
            grpc = grpc.with_token_store(store.clone());
        }
        if authenticator.is_enabled() {
            tracing::info!(
                tls = tls.is_some(),
                "authentication is on: every call needs a token or a client certificate"
            );
        } else {
            tracing::info!(
                tls = tls.is_some(),
                "authentication is off: every caller is the anonymous admin"
            );
        }
        let api = JobQueueServer::new(grpc)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let server = GrpcServer::new(
            listener,
            COMPONENT,
            Routes::new(api),
            SERVICE_NAME,
            brigade_proto::FILE_DESCRIPTOR_SET,
            Some(crate::metrics::refresh(queue.clone())),
        )?
        .with_readiness(
            brigade_common::readiness::Readiness::new("the job-queue database"),
            database_probe(queue.repository().clone()),
        )
        .with_auth(AuthLayer::new(authenticator, methods::job_queue()))
        .with_tls(tls);
        Ok(Self {
            server,
            queue,
            config,
            stop,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Points the outbox relay at recipe-types once its address is known
    /// (the all-in-one binary binds both services on port 0 first).
    pub fn set_recipe_types_url(&mut self, url: String) {
        self.config.recipe_types_url = url;
    }

    pub fn queue(&self) -> Arc<JobQueue> {
        self.queue.clone()
    }

    /// Serves until `shutdown` resolves, then drains in-flight calls and stops
    /// the background tasks.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let stop = self.stop.clone();
        let reaper = tokio::spawn(background::run_reaper(
            self.queue.clone(),
            Duration::from_millis(self.config.limits.reaper_interval_ms),
            stop.waiter(),
        ));
        let client_tls = self.config.tls.client()?;
        let channel = background::recipe_types_channel(&self.config.recipe_types_url, client_tls.as_ref())?;
        let credentials = ClientCredentials::new(self.config.auth.service_token().as_ref())
            .map_err(|_| anyhow::anyhow!("BRIGADE_SERVICE_TOKEN: not a valid header value"))?;
        let relay = tokio::spawn(background::run_outbox_relay(
            self.queue.clone(),
            channel,
            credentials,
            stop.waiter(),
        ));
        // A zero retention keeps everything, as TopChef did.
        let retention = (!self.config.limits.job_retention.is_zero()).then(|| {
            let retention = self.config.limits.job_retention;
            // A tenth of the retention between passes (1 s to a minute), so a
            // finished job outlives its retention by at most a tenth of it.
            let interval = (retention / 10).clamp(Duration::from_secs(1), RETENTION_INTERVAL);
            tokio::spawn(background::run_retention(
                self.queue.clone(),
                retention,
                interval,
                stop.waiter(),
            ))
        });
        tracing::info!(addr = %self.local_addr(), "job-queue serving");
        let stopping = stop.clone();
        let result = self
            .server
            .serve(async move {
                shutdown.await;
                stopping.trigger();
            })
            .await;
        stop.trigger();
        let _ = tokio::join!(reaper, relay);
        if let Some(retention) = retention {
            let _ = retention.await;
        }
        tracing::info!("job-queue stopped");
        Ok(result?)
    }
}
