//! Test support: boot the whole system on port 0 against a real SQLite file or
//! a fresh PostgreSQL database, and talk to it over real HTTP and gRPC.

pub mod fault_proxy;

use std::time::{Duration, Instant};

use brigade::{System, SystemConfig};
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use serde_json::Value;
use tonic::transport::Channel;

/// The PostgreSQL server tests use; `DATABASE_URL` overrides it.
pub fn postgres_admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test: a temp dir for SQLite, or a fresh PostgreSQL
/// database that is dropped afterwards.
pub struct TestDatabase {
    pub dir: tempfile::TempDir,
    pub url: Option<String>,
    postgres_name: Option<String>,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

async fn admin_pool() -> Option<sqlx::PgPool> {
    let url = postgres_admin_url();
    match sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
    {
        Ok(pool) => Some(pool),
        Err(e) => {
            assert!(!in_ci(), "PostgreSQL at {url} is unreachable in CI: {e}");
            eprintln!("SKIPPING PostgreSQL test: {url} is unreachable ({e}); set DATABASE_URL or start PostgreSQL");
            None
        }
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

impl TestDatabase {
    /// `None` only when PostgreSQL is unreachable outside CI (the test then skips, loudly).
    pub async fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => Some(Self {
                dir,
                url: None,
                postgres_name: None,
            }),
            Backend::Postgres => {
                let pool = admin_pool().await?;
                let name = format!("brigade_t_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&pool)
                    .await
                    .expect("create test database");
                Some(Self {
                    dir,
                    url: Some(with_database(&postgres_admin_url(), &name)),
                    postgres_name: Some(name),
                })
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.postgres_name.take() {
            // Dropped on a separate thread with its own runtime: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(pool) = sqlx::PgPool::connect(&postgres_admin_url()).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&pool)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// The whole system, started for one test.
pub struct TestApp {
    pub system: Option<System>,
    pub base: String,
    pub http: reqwest::Client,
    pub db: TestDatabase,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let db = TestDatabase::new(backend).await?;
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let system = System::start(SystemConfig {
            gateway_addr: any,
            job_queue_addr: any,
            recipe_types_addr: any,
            database_url: db.url.clone(),
            data_dir: db.dir.path().to_path_buf(),
        })
        .await
        .expect("system starts");
        let base = format!("http://{}", system.gateway.addr);
        Some(Self {
            system: Some(system),
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            db,
        })
    }

    pub fn system(&self) -> &System {
        self.system.as_ref().expect("running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn job_queue(&self) -> JobQueueClient<Channel> {
        JobQueueClient::connect(self.system().job_queue.url())
            .await
            .expect("connect job-queue")
    }

    pub async fn recipe_types(&self) -> RecipeTypesClient<Channel> {
        RecipeTypesClient::connect(self.system().recipe_types.url())
            .await
            .expect("connect recipe-types")
    }

    pub fn job_queue_url(&self) -> String {
        self.system().job_queue.url()
    }

    pub fn recipe_types_url(&self) -> String {
        self.system().recipe_types.url()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).send().await.expect("GET");
        read(r).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.http.post(self.url(path)).json(body).send().await.expect("POST");
        read(r).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.http.patch(self.url(path)).json(body).send().await.expect("PATCH");
        read(r).await
    }

    /// Creates a service through REST and returns its id.
    pub async fn create_service(&self, name: &str, registration: Value, result: Value) -> String {
        let (status, body) = self
            .post(
                "/services",
                &serde_json::json!({
                    "name": name,
                    "description": format!("{name} for tests"),
                    "job_registration_schema": registration,
                    "job_result_schema": result,
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"]["id"].as_str().expect("id").to_owned()
    }

    pub fn system_mut(&mut self) -> &mut System {
        self.system.as_mut().expect("running")
    }
}

/// Status and JSON body (null when the body is empty or not JSON).
pub async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls `check` until it returns `Some`, or panics after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
