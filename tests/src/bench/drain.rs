//! The `burn-down` and `steady` scenarios, shaped like the shared peer
//! harness's (`../shared/peers`): W workers claiming `--claim` jobs at a time
//! with a no-op handler, each completion's result validated.
//!
//! * `burn-down`: `--jobs` submitted in calls of `--batch`, then timed from
//!   the first claim until every completion is committed.
//! * `steady`: workers first (5 ms pause on an empty claim), then one producer
//!   submits `--jobs` in calls of `--batch`; latency is enqueue (the client's
//!   clock, in the parameters) → handler.
//!
//! On PostgreSQL each is also run as the harness's raw-SQL ceiling
//! (`ceiling.py`: its table, its three statements, one connection a worker)
//! on a database of its own, and the ratio printed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_tests::{Backend, TestDatabase};
use serde_json::json;
use tokio::sync::Mutex;
use tonic::transport::Channel;

use crate::{Args, Scenario, bench_service, ceiling_database, percentile, report, start_system};

/// What one run of a scenario measured.
#[derive(Clone, Copy)]
struct Drained {
    enqueue_per_s: f64,
    drain_per_s: f64,
    /// Steady only: enqueue → handler, ms.
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Latency samples, ms, from the `t` each job carries.
type Samples = Arc<Mutex<Vec<f64>>>;

async fn record(samples: &Samples, stamps: impl Iterator<Item = f64>) {
    let now = epoch_ms();
    samples.lock().await.extend(stamps.map(|t| now - t));
}

fn stamp(parameters: &str) -> f64 {
    serde_json::from_str::<serde_json::Value>(parameters)
        .ok()
        .and_then(|v| v["t"].as_f64())
        .unwrap_or(0.0)
}

fn summary(mut samples: Vec<f64>) -> (Option<f64>, Option<f64>) {
    if samples.is_empty() {
        return (None, None);
    }
    samples.sort_by(f64::total_cmp);
    let durations: Vec<Duration> = samples
        .iter()
        .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1e3))
        .collect();
    (Some(percentile(&durations, 0.50)), Some(percentile(&durations, 0.99)))
}

async fn brigade(url: String, args: &Args, steady: bool) -> anyhow::Result<Drained> {
    let channel = Channel::from_shared(url)?.connect().await?;
    let mut client = JobQueueClient::new(channel.clone());
    let service_id = bench_service(
        &mut client,
        json!({"type": "object", "properties": {"t": {"type": "number"}}, "required": ["t"]}),
        json!({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
    )
    .await?;
    let submit = |mut client: JobQueueClient<Channel>| {
        let (service_id, jobs, batch) = (service_id.clone(), args.jobs, args.batch);
        async move {
            let mut left = jobs;
            while left > 0 {
                let n = left.min(batch);
                let body = json!({"t": epoch_ms()}).to_string();
                client
                    .submit_jobs(pb::SubmitJobsRequest {
                        service_id: service_id.clone(),
                        parameters_json: vec![body; n],
                        ..Default::default()
                    })
                    .await?;
                left -= n;
            }
            anyhow::Ok(())
        }
    };
    let samples: Samples = Arc::default();
    let done = Arc::new(AtomicUsize::new(0));
    let workers = |channel: &Channel| {
        (0..args.workers)
            .map(|w| {
                let mut client = JobQueueClient::new(channel.clone());
                let (service_id, samples, done) = (service_id.clone(), samples.clone(), done.clone());
                let (claim, total) = (args.claim as i32, args.jobs);
                tokio::spawn(async move {
                    while done.load(Ordering::Relaxed) < total {
                        let leased = client
                            .claim_jobs(pb::ClaimJobsRequest {
                                service_id: service_id.clone(),
                                max_jobs: claim,
                                worker_id: format!("w{w}"),
                                ..Default::default()
                            })
                            .await?
                            .into_inner()
                            .jobs;
                        if leased.is_empty() {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            continue;
                        }
                        if steady {
                            record(
                                &samples,
                                leased
                                    .iter()
                                    .filter_map(|l| l.job.as_ref())
                                    .map(|j| stamp(&j.parameters_json)),
                            )
                            .await;
                        }
                        let completions = leased
                            .iter()
                            .map(|l| pb::CompleteJobRequest {
                                job_id: l.job.as_ref().map(|j| j.id.clone()).unwrap_or_default(),
                                lease_token: l.lease_token.clone(),
                                results_json: r#"{"ok":true}"#.to_owned(),
                            })
                            .collect();
                        let outcomes = client
                            .complete_jobs(pb::CompleteJobsRequest { completions })
                            .await?
                            .into_inner()
                            .outcomes;
                        for o in &outcomes {
                            anyhow::ensure!(o.code == 0, "completion failed: {}", o.message);
                        }
                        done.fetch_add(outcomes.len(), Ordering::Relaxed);
                    }
                    anyhow::Ok(())
                })
            })
            .collect::<Vec<_>>()
    };
    if steady {
        let tasks = workers(&channel);
        let began = Instant::now();
        submit(client).await?;
        let enqueued = began.elapsed();
        for t in tasks {
            t.await??;
        }
        let drained = began.elapsed();
        let (p50_ms, p99_ms) = summary(std::mem::take(&mut *samples.lock().await));
        return Ok(Drained {
            enqueue_per_s: args.jobs as f64 / enqueued.as_secs_f64(),
            drain_per_s: args.jobs as f64 / drained.as_secs_f64(),
            p50_ms,
            p99_ms,
        });
    }
    let began = Instant::now();
    submit(client).await?;
    let enqueued = began.elapsed();
    let drain_began = Instant::now();
    for t in workers(&channel) {
        t.await??;
    }
    Ok(Drained {
        enqueue_per_s: args.jobs as f64 / enqueued.as_secs_f64(),
        drain_per_s: args.jobs as f64 / drain_began.elapsed().as_secs_f64(),
        p50_ms: None,
        p99_ms: None,
    })
}

/// `ceiling.py`'s queue: the cheapest keep-history queue written by hand.
const CEILING_SCHEMA: &str = "CREATE TABLE jobs (id bigserial PRIMARY KEY, queue text NOT NULL DEFAULT 'noop', \
     status text NOT NULL DEFAULT 'queued', payload jsonb NOT NULL, attempts int NOT NULL DEFAULT 0, \
     created_at timestamptz NOT NULL DEFAULT now(), lease_until timestamptz, completed_at timestamptz); \
     CREATE INDEX jobs_ready ON jobs (queue, id) WHERE status = 'queued'";
const CEILING_INSERT: &str = "INSERT INTO jobs (payload) SELECT unnest($1::jsonb[])";
const CEILING_CLAIM: &str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, \
     lease_until = now() + interval '30 s' WHERE id IN (SELECT id FROM jobs WHERE queue = 'noop' \
     AND status = 'queued' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, payload::text";
const CEILING_COMPLETE: &str =
    "UPDATE jobs SET status = 'completed', completed_at = now(), lease_until = NULL WHERE id = ANY($1::bigint[])";

async fn ceiling(url: &str, args: &Args, steady: bool) -> anyhow::Result<Drained> {
    let pool = brigade_common::db::open_postgres(url, (args.workers + 1) as u32).await?;
    sqlx::raw_sql(CEILING_SCHEMA).execute(&pool).await?;
    let insert = |pool: sqlx::PgPool| {
        let (jobs, batch) = (args.jobs, args.batch);
        async move {
            let mut conn = pool.acquire().await?;
            let mut left = jobs;
            while left > 0 {
                let n = left.min(batch);
                let body = json!({"t": epoch_ms()}).to_string();
                sqlx::query(CEILING_INSERT)
                    .bind(vec![body; n])
                    .execute(&mut *conn)
                    .await?;
                left -= n;
            }
            anyhow::Ok(())
        }
    };
    let samples: Samples = Arc::default();
    let producing = Arc::new(std::sync::atomic::AtomicBool::new(steady));
    let workers = |pool: &sqlx::PgPool| {
        (0..args.workers)
            .map(|_| {
                let (pool, samples, producing, claim) =
                    (pool.clone(), samples.clone(), producing.clone(), args.claim as i64);
                tokio::spawn(async move {
                    let mut conn = pool.acquire().await?;
                    loop {
                        let rows: Vec<(i64, String)> =
                            sqlx::query_as(CEILING_CLAIM).bind(claim).fetch_all(&mut *conn).await?;
                        if rows.is_empty() {
                            if !producing.load(Ordering::Acquire) {
                                return anyhow::Ok(());
                            }
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            continue;
                        }
                        if steady {
                            record(&samples, rows.iter().map(|(_, p)| stamp(p))).await;
                        }
                        let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
                        sqlx::query(CEILING_COMPLETE).bind(ids).execute(&mut *conn).await?;
                    }
                })
            })
            .collect::<Vec<_>>()
    };
    let began = Instant::now();
    let (enqueued, drained) = if steady {
        let tasks = workers(&pool);
        insert(pool.clone()).await?;
        let enqueued = began.elapsed();
        producing.store(false, Ordering::Release);
        for t in tasks {
            t.await??;
        }
        (enqueued, began.elapsed())
    } else {
        insert(pool.clone()).await?;
        let enqueued = began.elapsed();
        let drain_began = Instant::now();
        for t in workers(&pool) {
            t.await??;
        }
        (enqueued, drain_began.elapsed())
    };
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status <> 'completed'")
        .fetch_one(&pool)
        .await?;
    anyhow::ensure!(left == 0, "the ceiling left {left} jobs");
    let (p50_ms, p99_ms) = summary(std::mem::take(&mut *samples.lock().await));
    Ok(Drained {
        enqueue_per_s: args.jobs as f64 / enqueued.as_secs_f64(),
        drain_per_s: args.jobs as f64 / drained.as_secs_f64(),
        p50_ms,
        p99_ms,
    })
}

fn print(scenario: &str, backend: &str, subject: &str, args: &Args, d: Drained) {
    report(
        scenario,
        &[
            ("backend", json!(backend)),
            ("subject", json!(subject)),
            ("jobs", json!(args.jobs)),
            ("workers", json!(args.workers)),
            ("claim", json!(args.claim)),
            ("batch", json!(args.batch)),
            ("enqueue_per_s", json!(d.enqueue_per_s.round() as i64)),
            ("drain_per_s", json!(d.drain_per_s.round() as i64)),
            ("p50_ms", json!(d.p50_ms.map(round1))),
            ("p99_ms", json!(d.p99_ms.map(round1))),
        ],
    );
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub async fn run_backend(backend: Backend, label: &str, args: &Args) -> anyhow::Result<()> {
    let steady = args.scenario == Scenario::Steady;
    let name = if steady { "steady" } else { "burn-down" };
    let Some(db) = TestDatabase::new(backend).await else {
        return Ok(());
    };
    let system = start_system(&db).await?;
    let measured = brigade(system.job_queue.url(), args, steady).await;
    system.stop().await?;
    let measured = measured?;
    print(name, label, "brigade", args, measured);
    if backend != Backend::Postgres {
        return Ok(());
    }
    let Some((_ceiling_db, url)) = ceiling_database().await? else {
        return Ok(());
    };
    let plain = ceiling(&url, args, steady).await?;
    print(name, label, "ceiling", args, plain);
    let mut ratio = vec![
        ("backend", json!(label)),
        (
            "drain_ratio",
            json!((measured.drain_per_s / plain.drain_per_s * 100.0).round() / 100.0),
        ),
    ];
    if let (Some(ours), Some(theirs)) = (measured.p99_ms, plain.p99_ms) {
        ratio.push(("p99_ratio", json!((ours / theirs * 100.0).round() / 100.0)));
    }
    report(&format!("{name}-ratio"), &ratio);
    Ok(())
}
