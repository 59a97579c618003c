//! The real binaries as child processes: job-queue and recipe-types on ports
//! picked at run time against one database, each of which a test can kill -9
//! and start again.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use tokio::process::{Child, Command};
use tonic::transport::Channel;

use crate::{TestDatabase, eventually, try_grpc_channel};

/// A binary of this workspace's debug build, which must have been built first.
pub fn binary(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/debug")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    l.local_addr().expect("addr").port()
}

/// A channel to a gRPC server on a loopback port, waiting for it to accept.
pub async fn connect(port: u16) -> Channel {
    eventually(
        Duration::from_secs(30),
        "a server to accept connections",
        || async move { try_grpc_channel(format!("http://127.0.0.1:{port}")).await.ok() },
    )
    .await
}

/// job-queue and recipe-types as child processes on one database; their
/// ports stay the same across restarts, so clients reconnect by themselves.
pub struct Processes {
    pub db_url: String,
    pub data_dir: PathBuf,
    pub jq_port: u16,
    pub rt_port: u16,
    job_queue: Option<Child>,
    recipe_types: Option<Child>,
}

impl Processes {
    /// Ports picked, nothing started yet.
    pub fn new(db: &TestDatabase) -> Self {
        Self {
            db_url: db.url.clone().expect("a PostgreSQL url"),
            data_dir: db.dir.path().to_path_buf(),
            jq_port: free_port(),
            rt_port: free_port(),
            job_queue: None,
            recipe_types: None,
        }
    }

    pub fn spawn_job_queue(&mut self) {
        self.job_queue = Some(
            Command::new(binary("brigade-job-queue"))
                .env("DATABASE_URL", &self.db_url)
                .env("BRIGADE_DATA_DIR", &self.data_dir)
                .env("BRIGADE_JOB_QUEUE_ADDR", format!("127.0.0.1:{}", self.jq_port))
                .env("BRIGADE_RECIPE_TYPES_URL", format!("http://127.0.0.1:{}", self.rt_port))
                .env("BRIGADE_REAPER_INTERVAL_MS", "100")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn job-queue"),
        );
    }

    pub fn spawn_recipe_types(&mut self) {
        self.recipe_types = Some(
            Command::new(binary("brigade-recipe-types"))
                .env("DATABASE_URL", &self.db_url)
                .env("BRIGADE_DATA_DIR", &self.data_dir)
                .env("BRIGADE_RECIPE_TYPES_ADDR", format!("127.0.0.1:{}", self.rt_port))
                .env("BRIGADE_JOB_QUEUE_URL", format!("http://127.0.0.1:{}", self.jq_port))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn recipe-types"),
        );
    }

    /// Kills job-queue with SIGKILL (no drain, no shutdown hook) and starts it again.
    pub async fn restart_job_queue_after_kill_9(&mut self) {
        kill_9(&mut self.job_queue).await;
        self.spawn_job_queue();
    }

    /// Kills recipe-types with SIGKILL and starts it again.
    pub async fn restart_recipe_types_after_kill_9(&mut self) {
        kill_9(&mut self.recipe_types).await;
        self.spawn_recipe_types();
    }

    /// The process id of the running job-queue (to read its memory).
    pub fn job_queue_pid(&self) -> Option<u32> {
        self.job_queue.as_ref().and_then(Child::id)
    }

    pub async fn job_queue(&self) -> JobQueueClient<Channel> {
        JobQueueClient::new(connect(self.jq_port).await)
    }

    pub async fn recipe_types(&self) -> RecipeTypesClient<Channel> {
        RecipeTypesClient::new(connect(self.rt_port).await)
    }
}

async fn kill_9(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        c.start_kill().expect("kill -9");
        let _ = c.wait().await;
    }
}
