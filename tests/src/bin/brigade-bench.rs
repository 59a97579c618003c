//! Load generator, one scenario per run (`--scenario`):
//!
//! * `lifecycle` (the default): P producers and W workers drive jobs through
//!   submit → claim → complete with a validated result and print throughput and
//!   submit-to-complete latency, for SQLite and PostgreSQL; on PostgreSQL also the
//!   ceiling of the same database with plain SQL and the ratio.
//! * `recipes`: recipes of a chain and of a fan run by no-op workers over gRPC;
//!   prints recipes/s and the node scheduling overhead (a dependency's job
//!   COMPLETED → the next node's job REGISTERED, from the jobs' own timestamps).
//! * `validation`: a `--chain-length`-node chain posted to Scale's validation
//!   route through the gateway; prints the answer time's p50 and p99.
//! * `burn-down` and `steady`: the shared peer harness's two scenarios
//!   (`../shared/peers`) over gRPC, and on PostgreSQL its raw-SQL ceiling
//!   beside them with the ratio.
//! * `rest`: `--connections` HTTP clients submitting one job a request
//!   through the gateway, and on PostgreSQL as many connections inserting
//!   single rows, with the ratio; with `--replicas N`, also through a gateway
//!   balancing over N job-queue replicas, with the ratio to one.
//! * `footprint`: each service binary of the same profile (build them first)
//!   started on its own: time from spawn to SERVING, and idle resident memory.
//!
//! ```sh
//! cargo run --release -p brigade-tests --bin brigade-bench -- --jobs 20000 --producers 4 --workers 4 --batch 500
//! cargo run --release -p brigade-tests --bin brigade-bench -- --scenario recipes --backend postgres
//! cargo build --release --bins && cargo run --release -p brigade-tests --bin brigade-bench -- --scenario footprint
//! cargo run --release -p brigade-tests --bin brigade-bench -- --scenario burn-down --backend postgres --jobs 20000 --batch 1000
//! cargo run --release -p brigade-tests --bin brigade-bench -- --scenario steady --backend postgres --jobs 10000 --batch 10
//! cargo run --release -p brigade-tests --bin brigade-bench -- --scenario rest --backend both --jobs 20000
//! ```
//!
//! Every result is one line, `scenario key=value …`, or with `--json` one JSON
//! object with the same keys and `"scenario"`.

#[path = "../bench/drain.rs"]
mod drain;
#[path = "../bench/footprint.rs"]
mod footprint;
#[path = "../bench/lifecycle.rs"]
mod lifecycle;
#[path = "../bench/recipes.rs"]
mod recipes;
#[path = "../bench/rest.rs"]
mod rest;
#[path = "../bench/validation.rs"]
mod validation;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::OnceLock;
use std::time::Duration;

use brigade_tests::{Backend, TestDatabase};
use clap::{Parser, ValueEnum};

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Lifecycle,
    Recipes,
    Footprint,
    Validation,
    BurnDown,
    Steady,
    Rest,
}

#[derive(Parser, Debug, Clone)]
#[command(name = "brigade-bench", about = "Brigade load generator")]
struct Args {
    /// What to measure.
    #[arg(long, value_enum, default_value = "lifecycle")]
    scenario: Scenario,
    /// lifecycle: jobs to push through the whole lifecycle per backend.
    #[arg(long, default_value_t = 20_000)]
    jobs: usize,
    /// lifecycle: submitting tasks.
    #[arg(long, default_value_t = 4)]
    producers: usize,
    /// Claiming workers (recipes: per job type).
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Jobs per submit (lifecycle, recipes: also per claim and per completion call).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// burn-down, steady: jobs per claim.
    #[arg(long, default_value_t = 50)]
    claim: usize,
    /// rest: HTTP connections, each submitting one job a request.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// rest, PostgreSQL: also through a gateway balancing over this many job-queue
    /// replicas on the one database, with the ratio to one replica.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Print each result as one JSON object a line.
    #[arg(long)]
    json: bool,
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// lifecycle: target a running job-queue (gRPC URL) instead of starting one; `--backend` then only labels it.
    #[arg(long)]
    target: Option<String>,
    /// recipes: how many recipes of the chain.
    #[arg(long, default_value_t = 100)]
    chain_recipes: usize,
    /// recipes: job nodes in the chain, each depending on the one before.
    #[arg(long, default_value_t = 10)]
    chain_length: usize,
    /// recipes: how many recipes of the fan (1 → width → 1).
    #[arg(long, default_value_t = 10)]
    fan_recipes: usize,
    /// recipes: parallel nodes between the fan's source and its sink.
    #[arg(long, default_value_t = 100)]
    fan_width: usize,
}

impl Args {
    /// The command line that reproduces this run.
    fn command(&self) -> String {
        let base = "cargo run --release -p brigade-tests --bin brigade-bench --";
        match self.scenario {
            Scenario::Lifecycle => format!(
                "{base} --jobs {} --producers {} --workers {} --batch {} --backend {}",
                self.jobs, self.producers, self.workers, self.batch, self.backend
            ),
            Scenario::Recipes => format!(
                "{base} --scenario recipes --backend {} --workers {} --batch {} --chain-recipes {} --chain-length {} \
                 --fan-recipes {} --fan-width {}",
                self.backend,
                self.workers,
                self.batch,
                self.chain_recipes,
                self.chain_length,
                self.fan_recipes,
                self.fan_width
            ),
            Scenario::Footprint => format!("{base} --scenario footprint --backend {}", self.backend),
            Scenario::Validation => format!(
                "{base} --scenario validation --backend {} --chain-length {}",
                self.backend, self.chain_length
            ),
            Scenario::BurnDown | Scenario::Steady => format!(
                "{base} --scenario {} --backend {} --jobs {} --workers {} --claim {} --batch {}",
                if self.scenario == Scenario::Steady {
                    "steady"
                } else {
                    "burn-down"
                },
                self.backend,
                self.jobs,
                self.workers,
                self.claim,
                self.batch
            ),
            Scenario::Rest => format!(
                "{base} --scenario rest --backend {} --jobs {} --connections {} --replicas {}",
                self.backend, self.jobs, self.connections, self.replicas
            ),
        }
    }
}

/// Whether results are printed as JSON (`--json`), set once at start.
static JSON_OUTPUT: OnceLock<bool> = OnceLock::new();

/// Prints one result: `scenario key=value …`, or one JSON object with `--json`.
/// A `null` value prints as `-`.
fn report(scenario: &str, fields: &[(&str, serde_json::Value)]) {
    if JSON_OUTPUT.get().copied().unwrap_or(false) {
        let mut object = serde_json::Map::new();
        object.insert("scenario".into(), scenario.into());
        for (key, value) in fields {
            object.insert((*key).into(), value.clone());
        }
        println!("{}", serde_json::Value::Object(object));
        return;
    }
    let mut line = scenario.to_owned();
    for (key, value) in fields {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".to_owned(),
            other => other.to_string(),
        };
        line.push_str(&format!(" {key}={text}"));
    }
    println!("{line}");
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// A fresh PostgreSQL database for a ceiling run, with its URL (kept alive
/// by the returned handle); `None` when PostgreSQL is not configured.
async fn ceiling_database() -> anyhow::Result<Option<(TestDatabase, String)>> {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return Ok(None);
    };
    let url = db.url.clone().ok_or_else(|| anyhow::anyhow!("no PostgreSQL URL"))?;
    Ok(Some((db, url)))
}

/// job-queue's own tables on `url` with one service row, for plain-SQL
/// ceilings on the same table shape; the pool and the service id.
async fn job_queue_tables(url: &str, connections: usize) -> anyhow::Result<(sqlx::PgPool, String)> {
    let repo = brigade_job_queue::repository::PostgresRepository::new(
        brigade_common::db::open_postgres(url, connections as u32).await?,
    );
    brigade_job_queue::repository::Repository::migrate(&repo).await?;
    let pool = repo.pool().clone();
    let service_id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO jq_services (id, name, version, description, revision, job_registration_schema, job_result_schema, \
         timeout_seconds, is_available, last_checked_in, created, max_attempts, lease_seconds) \
         VALUES ($1, $1, '1.0.0', '', 1, '{}', '{}', 30, false, 0, 0, 3, 60)",
    )
    .bind(&service_id)
    .execute(&pool)
    .await?;
    Ok((pool, service_id))
}

/// A job type for a bench run over gRPC, with these two schemas; its id.
async fn bench_service(
    client: &mut brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient<tonic::transport::Channel>,
    registration: serde_json::Value,
    result: serde_json::Value,
) -> anyhow::Result<String> {
    Ok(client
        .create_service(brigade_proto::jobqueue::v1::CreateServiceRequest {
            name: format!("bench-{}", uuid::Uuid::new_v4().simple()),
            description: "brigade-bench".into(),
            job_registration_schema_json: registration.to_string(),
            job_result_schema_json: result.to_string(),
            lease_seconds: Some(60),
            ..Default::default()
        })
        .await?
        .into_inner()
        .service
        .ok_or_else(|| anyhow::anyhow!("no service"))?
        .id)
}

/// The all-in-one system on this database, every listener on port 0.
async fn start_system(db: &TestDatabase) -> anyhow::Result<brigade::System> {
    let any: std::net::SocketAddr = "127.0.0.1:0".parse()?;
    brigade::System::start(brigade::SystemConfig {
        gateway_addr: any,
        job_queue_addr: any,
        recipe_types_addr: any,
        database_url: db.url.clone(),
        data_dir: db.dir.path().to_path_buf(),
    })
    .await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    JSON_OUTPUT.get_or_init(|| args.json);
    // The system's own logs, when asked for (RUST_LOG=info), to see what a slow run waits on.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    anyhow::ensure!(
        args.jobs > 0
            && args.producers > 0
            && args.workers > 0
            && args.batch > 0
            && args.claim > 0
            && args.connections > 0
            && args.replicas > 0,
        "counts must be positive"
    );
    if !args.json {
        println!("# {}", args.command());
    }
    let mut backends = Vec::new();
    if matches!(args.backend.as_str(), "sqlite" | "both") {
        backends.push((Backend::Sqlite, "sqlite"));
    }
    if matches!(args.backend.as_str(), "postgres" | "both") {
        backends.push((Backend::Postgres, "postgres"));
    }
    anyhow::ensure!(!backends.is_empty(), "--backend is sqlite, postgres or both");
    match args.scenario {
        Scenario::Lifecycle => {
            let mut last = None;
            for (backend, label) in backends {
                let outcome = lifecycle::run_backend(backend, label, &args).await?;
                if backend == Backend::Postgres {
                    last = outcome;
                }
            }
            if let Some((jobs_per_s, Some(ceiling))) = last {
                report(
                    "ceiling",
                    &[
                        ("backend", "postgres".into()),
                        ("plain_sql_jobs_per_s", (ceiling.round() as i64).into()),
                    ],
                );
                report(
                    "lifecycle",
                    &[
                        ("backend", "postgres".into()),
                        ("jobs_per_s", (jobs_per_s.round() as i64).into()),
                        ("ceiling_per_s", (ceiling.round() as i64).into()),
                        ("ratio", ((jobs_per_s / ceiling * 100.0).round() / 100.0).into()),
                    ],
                );
            }
        }
        Scenario::Recipes => {
            anyhow::ensure!(args.target.is_none(), "--target is for the lifecycle scenario");
            for (backend, label) in backends {
                recipes::run_backend(backend, label, &args).await?;
            }
        }
        Scenario::Validation => {
            anyhow::ensure!(args.target.is_none(), "--target is for the lifecycle scenario");
            for (backend, label) in backends {
                validation::run_backend(backend, label, args.chain_length).await?;
            }
        }
        Scenario::BurnDown | Scenario::Steady => {
            anyhow::ensure!(args.target.is_none(), "--target is for the lifecycle scenario");
            for (backend, label) in backends {
                drain::run_backend(backend, label, &args).await?;
            }
        }
        Scenario::Rest => {
            anyhow::ensure!(args.target.is_none(), "--target is for the lifecycle scenario");
            for (backend, label) in backends {
                rest::run_backend(backend, label, &args).await?;
            }
        }
        Scenario::Footprint => {
            anyhow::ensure!(args.target.is_none(), "--target is for the lifecycle scenario");
            for (backend, label) in backends {
                footprint::run_backend(backend, label).await?;
            }
        }
    }
    Ok(())
}
