//! The `footprint` scenario: each service binary (job-queue, recipe-types,
//! gateway) started as its own process on a fresh database, timed from spawn
//! to SERVING (gRPC health for the services, `/readyz` for the gateway), then
//! its resident memory (`VmRSS`) after a second with nothing to do.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use brigade_tests::processes::free_port;
use brigade_tests::{Backend, TestDatabase};
use tokio::process::{Child, Command};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::drain::round1;

/// How long a process may take to serve before the run gives up.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// Between two readiness probes.
const PROBE: Duration = Duration::from_millis(2);

/// A binary beside this one (same profile): `cargo build --release --bins` builds them all.
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .map(|dir| dir.join(name))
        .ok_or_else(|| anyhow::anyhow!("the bench's own path has no directory"))?;
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build the binaries of this profile first (cargo build --release --bins)",
        path.display()
    );
    Ok(path)
}

fn command(name: &str, db: &TestDatabase, envs: &[(&str, String)]) -> anyhow::Result<Command> {
    let mut command = Command::new(sibling(name)?);
    command
        .env("BRIGADE_DATA_DIR", db.dir.path())
        .env("BRIGADE_AUTH", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = &db.url {
        command.env("DATABASE_URL", url);
    } else {
        command.env_remove("DATABASE_URL");
    }
    for (key, value) in envs {
        command.env(key, value);
    }
    Ok(command)
}

async fn grpc_serving(port: u16) -> bool {
    let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}")) else {
        return false;
    };
    let Ok(channel) = channel.connect().await else {
        return false;
    };
    HealthClient::new(channel)
        .check(HealthCheckRequest { service: String::new() })
        .await
        .is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
}

async fn http_ready(port: u16) -> bool {
    reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Resident memory of a process in MiB, from `/proc` (Linux).
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Spawns the process and waits until `ready`; returns it and the time taken.
async fn start<F, Fut>(mut command: Command, ready: F) -> anyhow::Result<(Child, Duration)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let began = Instant::now();
    let mut child = command.spawn()?;
    loop {
        if ready().await {
            return Ok((child, began.elapsed()));
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("exited with {status} before serving");
        }
        anyhow::ensure!(began.elapsed() < START_DEADLINE, "not serving after {START_DEADLINE:?}");
        tokio::time::sleep(PROBE).await;
    }
}

pub async fn run_backend(backend: Backend, label: &str) -> anyhow::Result<()> {
    let Some(db) = TestDatabase::new(backend).await else {
        return Ok(());
    };
    let (jq, rt, gw) = (free_port(), free_port(), free_port());
    let jq_url = format!("http://127.0.0.1:{jq}");
    let rt_url = format!("http://127.0.0.1:{rt}");
    let job_queue = command(
        "brigade-job-queue",
        &db,
        &[
            ("BRIGADE_JOB_QUEUE_ADDR", format!("127.0.0.1:{jq}")),
            ("BRIGADE_RECIPE_TYPES_URL", rt_url.clone()),
        ],
    )?;
    let recipe_types = command(
        "brigade-recipe-types",
        &db,
        &[
            ("BRIGADE_RECIPE_TYPES_ADDR", format!("127.0.0.1:{rt}")),
            ("BRIGADE_JOB_QUEUE_URL", jq_url.clone()),
        ],
    )?;
    let gateway = command(
        "brigade-gateway",
        &db,
        &[
            ("BRIGADE_GATEWAY_ADDR", format!("127.0.0.1:{gw}")),
            ("BRIGADE_JOB_QUEUE_URL", jq_url),
            ("BRIGADE_RECIPE_TYPES_URL", rt_url),
        ],
    )?;
    let mut running = Vec::new();
    let (child, took) = start(job_queue, || grpc_serving(jq)).await?;
    running.push(("brigade-job-queue", child, took));
    let (child, took) = start(recipe_types, || grpc_serving(rt)).await?;
    running.push(("brigade-recipe-types", child, took));
    let (child, took) = start(gateway, || http_ready(gw)).await?;
    running.push(("brigade-gateway", child, took));
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (name, child, took) in &running {
        let rss = child.id().and_then(rss_mib).map(round1);
        crate::report(
            "footprint",
            &[
                ("backend", (*label).into()),
                ("process", (*name).into()),
                ("startup_to_serving_ms", (took.as_secs_f64() * 1e3).round().into()),
                ("idle_rss_mib", rss.into()),
            ],
        );
    }
    for (_, mut child, _) in running {
        child.start_kill()?;
        let _ = child.wait().await;
    }
    Ok(())
}
