//! Test support: the whole Brigade system in-process on SQLite in a temp dir
//! (or on PostgreSQL, see [`POSTGRES_VAR`]).

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use brigade::{System, SystemConfig};
use brigade_client::{Client, ConnectOptions, ServiceDefinition};
use serde_json::{Value, json};

/// Set to a PostgreSQL server's URL to run this suite on PostgreSQL instead
/// of SQLite (scripts/test.sh runs it both ways).
pub const POSTGRES_VAR: &str = "BRIGADE_CLIENT_TEST_POSTGRES";

/// With [`POSTGRES_VAR`] set, a database of the test directory's own on that
/// server (named from the directory, so a restarted system finds it again),
/// created when missing; otherwise `None`, which is SQLite in the directory.
async fn postgres_for(dir: &std::path::Path) -> Option<String> {
    use std::hash::{Hash, Hasher};
    let admin = std::env::var(POSTGRES_VAR).ok().filter(|v| !v.is_empty())?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    let name = format!("brigade_client_{:016x}", hasher.finish());
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_VAR}={admin}: cannot connect: {e}"));
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&pool)
        .await
        .expect("look the database up");
    if !exists {
        // The name is ours: a fixed prefix and hex digits.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create the test database");
    }
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').expect("a database URL ends in /name");
    Some(format!("{base}/{name}"))
}

/// Brigade on port 0 with its own database (SQLite in a temp dir, or see [`POSTGRES_VAR`]).
pub struct TestSystem {
    pub system: Option<System>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestSystem {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let system = start_system(dir.path(), "127.0.0.1:0".parse().expect("addr")).await;
        Self {
            system: Some(system),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            _dir: dir,
        }
    }

    pub fn system(&self) -> &System {
        self.system.as_ref().expect("running")
    }

    pub fn grpc_url(&self) -> String {
        self.system().job_queue.url()
    }

    pub fn rest_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.system().gateway.addr)
    }

    pub async fn client(&self) -> Client {
        Client::connect_with(self.grpc_url(), ConnectOptions::default().max_attempts(3))
            .await
            .expect("connect to the job-queue")
    }

    /// Submits a job over REST (TopChef API) and returns its id.
    pub async fn rest_submit(&self, service_id: &str, parameters: Value) -> String {
        let response = self
            .http
            .post(self.rest_url(&format!("/services/{service_id}/jobs")))
            .json(&json!({ "parameters": parameters }))
            .send()
            .await
            .expect("POST job");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("JSON body");
        assert_eq!(status, 201, "{body}");
        body["data"]["id"].as_str().expect("job id").to_owned()
    }

    /// The job's `data` as REST shows it.
    pub async fn rest_job(&self, job_id: &str) -> Value {
        let response = self
            .http
            .get(self.rest_url(&format!("/jobs/{job_id}")))
            .send()
            .await
            .expect("GET job");
        assert_eq!(response.status().as_u16(), 200);
        let mut body: Value = response.json().await.expect("JSON body");
        body["data"].take()
    }

    pub async fn stop(mut self) {
        if let Some(system) = self.system.take() {
            system.stop().await.expect("system stops");
        }
    }
}

pub async fn start_system(dir: &std::path::Path, job_queue_addr: std::net::SocketAddr) -> System {
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    System::start(SystemConfig {
        gateway_addr: any,
        job_queue_addr,
        recipe_types_addr: any,
        database_url: postgres_for(dir).await,
        data_dir: dir.to_path_buf(),
    })
    .await
    .expect("system starts")
}

/// Polls `check` until it returns `Some`, panicking with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for `future` at most `timeout`, panicking with `what` otherwise.
pub async fn within<T>(timeout: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(timeout, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Parameters `{"n": integer}`; results `{"square": integer, "worker"?: string}`.
pub fn squares(name: &str) -> ServiceDefinition {
    ServiceDefinition::new(
        name,
        json!({
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        }),
        json!({
            "type": "object",
            "properties": {"square": {"type": "integer"}, "worker": {"type": "string"}},
            "required": ["square"],
            "additionalProperties": false,
        }),
    )
    .description("squares numbers, for tests")
}

pub fn n_of(parameters: &Value) -> i64 {
    parameters["n"].as_i64().expect("n is an integer")
}
