//! Test support: boot the whole system on port 0 against a real SQLite file or
//! a fresh PostgreSQL database, and talk to it over real HTTP and gRPC.
//!
//! Unreachable PostgreSQL fails a PostgreSQL test; a run without PostgreSQL must
//! opt out explicitly with `BRIGADE_TEST_SKIP_POSTGRES=1`.

pub mod fault_proxy;
pub mod processes;

use std::io::Write as _;
use std::time::{Duration, Instant};

use brigade::{System, SystemConfig};
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use serde_json::Value;
use tonic::transport::{Channel, Endpoint};

/// Set to `1` (or `true`) to run without PostgreSQL: the PostgreSQL tests then
/// skip, each saying so on stderr. Without it an unreachable PostgreSQL fails them.
pub const SKIP_POSTGRES_VAR: &str = "BRIGADE_TEST_SKIP_POSTGRES";

/// The longest a test waits for one gRPC call, one stream message or one child
/// process before failing: a hung server fails the test instead of hanging CI.
pub const DEADLINE: Duration = Duration::from_secs(30);

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

/// Whether this run opted out of PostgreSQL (see [`SKIP_POSTGRES_VAR`]).
pub fn postgres_skipped() -> bool {
    std::env::var(SKIP_POSTGRES_VAR).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

async fn admin_pool() -> Option<sqlx::PgPool> {
    let url = postgres_admin_url();
    if postgres_skipped() {
        // Straight to stderr: the test harness captures eprintln! of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPING PostgreSQL test: {SKIP_POSTGRES_VAR} is set (would use {url})"
        );
        return None;
    }
    match sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
    {
        Ok(pool) => Some(pool),
        Err(e) => panic!(
            "PostgreSQL at {url} is unreachable ({e}): start it, point DATABASE_URL at one, \
             or set {SKIP_POSTGRES_VAR}=1 to skip the PostgreSQL tests"
        ),
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
    /// `None` only for PostgreSQL when the run opted out with [`SKIP_POSTGRES_VAR`]
    /// (the test then returns, saying so); an unreachable PostgreSQL panics.
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
    /// `None` only under [`SKIP_POSTGRES_VAR`], as [`TestDatabase::new`].
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
        JobQueueClient::new(grpc_channel(self.system().job_queue.url()).await)
    }

    pub async fn recipe_types(&self) -> RecipeTypesClient<Channel> {
        RecipeTypesClient::new(grpc_channel(self.system().recipe_types.url()).await)
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

/// A gRPC channel whose every call (and every stream's opening) fails after
/// [`DEADLINE`]; the messages of a stream are bounded by [`next_within`].
pub async fn grpc_channel(url: String) -> Channel {
    try_grpc_channel(url.clone())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

/// [`grpc_channel`], or the connection error (to poll a server that is starting).
pub async fn try_grpc_channel(url: String) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(url)?
        .connect_timeout(Duration::from_secs(5))
        .timeout(DEADLINE)
        .connect()
        .await
}

/// The next message of `stream`, failing the test if none (and no end) comes within `deadline`.
pub async fn next_within<S>(stream: &mut S, deadline: Duration, what: &str) -> Option<S::Item>
where
    S: futures::Stream + Unpin,
{
    use futures::StreamExt as _;
    tokio::time::timeout(deadline, stream.next())
        .await
        .unwrap_or_else(|_| panic!("no {what} within {deadline:?}"))
}

/// Runs a child process to completion, killing it and failing the test if it
/// has not exited within `deadline`.
pub async fn output_within(
    command: &mut tokio::process::Command,
    deadline: Duration,
    what: &str,
) -> std::process::Output {
    let child = command.kill_on_drop(true).output();
    tokio::time::timeout(deadline, child)
        .await
        .unwrap_or_else(|_| panic!("{what} did not exit within {deadline:?}"))
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"))
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
    eventually_saying(deadline, what, || {
        let next = check();
        async move { next.await.ok_or_else(String::new) }
    })
    .await
}

/// [`eventually`], where `check` says what it saw when it is not there yet
/// (`Err`); the panic after `deadline` quotes the last of it.
pub async fn eventually_saying<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        let seen = match check().await {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}{}",
            if seen.is_empty() {
                String::new()
            } else {
                format!("; last seen {seen}")
            }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A gateway in this process in front of job-queue and recipe-types at the
/// given URLs, with its settings tuned by `tune`; answers its base URL.
pub async fn gateway_on(
    job_queue_url: String,
    recipe_types_url: String,
    tune: impl FnOnce(&mut brigade_gateway::config::Config),
) -> String {
    let any = "127.0.0.1:0".parse().expect("addr");
    let mut config = brigade_gateway::config::Config::local(any, job_queue_url, recipe_types_url);
    tune(&mut config);
    let listener = tokio::net::TcpListener::bind(any).await.expect("bind");
    let gateway = brigade_gateway::Application::build_on(config, listener).expect("gateway");
    let base = format!("http://{}", gateway.local_addr());
    tokio::spawn(gateway.run_until_stopped(std::future::pending()));
    base
}
