//! Building and running the recipe-types process.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use brigade_common::auth::{AuthLayer, ClientCredentials, methods, remote_authenticator};
use brigade_common::db::{self, DatabaseTarget};
use brigade_common::grpc::GrpcServer;
use brigade_common::listen::listen;
use brigade_proto::recipetypes::v1::recipe_types_server::RecipeTypesServer;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::RecipeTypesGrpc;
use crate::job_types::GrpcJobTypes;
use crate::jobs::GrpcJobs;
use crate::repository::{PostgresRepository, Repository, SqliteRepository};
use crate::service::recipes::Recipes;
use crate::service::{Limits, RecipeTypes};

pub const SERVICE_NAME: &str = "brigade.recipetypes.v1.RecipeTypes";

/// This process's name in logs, errors and the metrics' `component` label.
pub const COMPONENT: &str = "recipe-types";

const MAX_MESSAGE_BYTES: usize = 16 << 20;

pub struct Application {
    server: GrpcServer,
    service: Arc<RecipeTypes>,
    recipes: Arc<Recipes>,
}

/// Opens the configured database and applies migrations.
pub async fn open_repository(target: &DatabaseTarget, max_connections: u32) -> anyhow::Result<Arc<dyn Repository>> {
    let repo: Arc<dyn Repository> = match target {
        DatabaseTarget::Sqlite(path) => Arc::new(SqliteRepository::new(db::open_sqlite(path, max_connections).await?)),
        DatabaseTarget::Postgres(url) => {
            Arc::new(PostgresRepository::new(db::open_postgres(url, max_connections).await?))
        }
    };
    repo.migrate().await?;
    Ok(repo)
}

static RECIPES_BY_STATUS: std::sync::LazyLock<prometheus::IntGaugeVec> =
    std::sync::LazyLock::new(|| brigade_common::metrics::gauge("brigade_recipes", "Recipes by status", &["status"]));

/// Database pool usage and recipes by status, read before each scrape.
fn pool_metrics(service: Arc<RecipeTypes>, recipes: Arc<Recipes>) -> brigade_common::grpc::MetricsRefresh {
    Arc::new(move || {
        let (size, idle) = service.repository().pool_stats();
        let recipes = recipes.clone();
        Box::pin(async move {
            brigade_common::metrics::set_pool(COMPONENT, size, idle);
            match recipes.count_by_status().await {
                Ok(counts) => {
                    for (status, n) in counts {
                        RECIPES_BY_STATUS.with_label_values(&[status.as_str()]).set(n);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "recipe counts not refreshed"),
            }
        })
    })
}

/// Readiness: the database answers a trivial query.
fn database_probe(repo: Arc<dyn crate::repository::Repository>) -> brigade_common::readiness::Probe {
    Arc::new(move || {
        let repo = repo.clone();
        Box::pin(async move { repo.ping().await.is_ok() })
    })
}

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
        let client_tls = config.tls.client()?;
        tracing::info!(database = %target.redacted(), "opening recipe-types database");
        let repo = open_repository(&target, config.storage.db_max_connections).await?;
        let job_queue =
            brigade_common::tls::channel(&config.job_queue_url, client_tls.as_ref(), Duration::from_secs(2))?;
        let credentials = ClientCredentials::new(config.auth.service_token().as_ref())
            .map_err(|_| anyhow::anyhow!("BRIGADE_SERVICE_TOKEN: not a valid header value"))?;
        // Tokens the file does not know are asked of job-queue, with this process's own token.
        let authenticator = remote_authenticator(&config.auth, job_queue.clone(), COMPONENT)?;
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
        let job_types = Arc::new(GrpcJobTypes::with_channel(job_queue.clone(), credentials.clone()));
        let limits = Limits {
            max_definition_bytes: usize::try_from(config.limits.max_definition_bytes).unwrap_or(usize::MAX),
            max_nodes: config.limits.max_definition_nodes as usize,
            ..Limits::default()
        };
        let service = Arc::new(RecipeTypes::new(repo.clone(), job_types, limits));
        let jobs = Arc::new(GrpcJobs::with_channel(job_queue, credentials));
        let recipes = Arc::new(Recipes::new(repo, service.clone(), jobs));
        let api = RecipeTypesServer::new(RecipeTypesGrpc::new(service.clone(), recipes.clone()))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let server = GrpcServer::new(
            listener,
            COMPONENT,
            Routes::new(api),
            SERVICE_NAME,
            brigade_proto::FILE_DESCRIPTOR_SET,
            Some(pool_metrics(service.clone(), recipes.clone())),
        )?
        .with_readiness(
            brigade_common::readiness::Readiness::new("the recipe-types database"),
            database_probe(service.repository().clone()),
        )
        .with_auth(AuthLayer::new(authenticator, methods::recipe_types()))
        .with_tls(tls);
        Ok(Self {
            server,
            service,
            recipes,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn service(&self) -> Arc<RecipeTypes> {
        self.service.clone()
    }

    pub fn recipes(&self) -> Arc<Recipes> {
        self.recipes.clone()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "recipe-types serving");
        // The engine's background task: retries unfinished intents and steps
        // recipes with events not yet acted on. Stopping it mid-transaction
        // rolls that transaction back; nothing is lost.
        let background = tokio::spawn(self.recipes.clone().run_background(std::future::pending::<()>()));
        let served = self.server.serve(shutdown).await;
        background.abort();
        served?;
        tracing::info!("recipe-types stopped");
        Ok(())
    }
}
