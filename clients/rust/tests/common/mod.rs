//! Test support: the whole Brigade system in-process on SQLite in a temp dir.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use brigade::{System, SystemConfig};
use brigade_client::{Client, ConnectOptions, ServiceDefinition};
use serde_json::{Value, json};

/// Brigade on port 0 with its own SQLite database.
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
        database_url: None,
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
