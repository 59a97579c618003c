//! The `lifecycle` scenario: P producers and W workers push jobs through
//! submit → claim → complete with a validated result; throughput and
//! submit-to-complete latency, and on PostgreSQL the plain-SQL ceiling.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_tests::{Backend, TestDatabase};
use serde_json::json;
use tokio::sync::Mutex;
use tonic::transport::Channel;

use crate::drain::round1;
use crate::{Args, bench_service, ceiling_database, job_queue_tables, percentile, start_system};

struct Outcome {
    jobs_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn lifecycle(url: String, args: &Args) -> anyhow::Result<Outcome> {
    let channel = Channel::from_shared(url)?.connect().await?;
    let mut client = JobQueueClient::new(channel.clone());
    let service_id = bench_service(
        &mut client,
        json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}),
        json!({"type": "object", "properties": {"square": {"type": "integer"}}, "required": ["square"]}),
    )
    .await?;
    let submitted: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::with_capacity(args.jobs)));
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::new(Mutex::new(Vec::with_capacity(args.jobs)));
    let completed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    let per_producer = args.jobs.div_ceil(args.producers);
    for p in 0..args.producers {
        let mut client = JobQueueClient::new(channel.clone());
        let (service_id, submitted, batch) = (service_id.clone(), submitted.clone(), args.batch);
        let count = per_producer.min(args.jobs.saturating_sub(p * per_producer));
        tasks.push(tokio::spawn(async move {
            let mut left = count;
            while left > 0 {
                let n = left.min(batch);
                let at = Instant::now();
                let jobs = client
                    .submit_jobs(pb::SubmitJobsRequest {
                        service_id: service_id.clone(),
                        parameters_json: (0..n).map(|i| json!({"n": i}).to_string()).collect(),
                        ..Default::default()
                    })
                    .await?
                    .into_inner()
                    .jobs;
                let mut map = submitted.lock().await;
                for j in jobs {
                    map.insert(j.id, at);
                }
                left -= n;
            }
            anyhow::Ok(())
        }));
    }
    for _ in 0..args.workers {
        let mut client = JobQueueClient::new(channel.clone());
        let (service_id, submitted, latencies, completed) = (
            service_id.clone(),
            submitted.clone(),
            latencies.clone(),
            completed.clone(),
        );
        let (batch, total) = (args.batch, args.jobs);
        tasks.push(tokio::spawn(async move {
            while completed.load(Ordering::Relaxed) < total {
                let leased = client
                    .claim_jobs(pb::ClaimJobsRequest {
                        service_id: service_id.clone(),
                        max_jobs: batch as i32,
                        ..Default::default()
                    })
                    .await?
                    .into_inner()
                    .jobs;
                if leased.is_empty() {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                let completions = leased
                    .iter()
                    .map(|l| {
                        let n: i64 = l
                            .job
                            .as_ref()
                            .and_then(|j| serde_json::from_str::<serde_json::Value>(&j.parameters_json).ok())
                            .and_then(|v| v["n"].as_i64())
                            .unwrap_or(0);
                        pb::CompleteJobRequest {
                            job_id: l.job.as_ref().map(|j| j.id.clone()).unwrap_or_default(),
                            lease_token: l.lease_token.clone(),
                            results_json: json!({"square": n * n}).to_string(),
                        }
                    })
                    .collect();
                let outcomes = client
                    .complete_jobs(pb::CompleteJobsRequest { completions })
                    .await?
                    .into_inner()
                    .outcomes;
                let done_at = Instant::now();
                let map = submitted.lock().await;
                let mut lat = latencies.lock().await;
                for o in outcomes {
                    anyhow::ensure!(o.code == 0, "completion failed: {}", o.message);
                    if let Some(at) = map.get(&o.job_id) {
                        lat.push(done_at - *at);
                    }
                    completed.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed();
    let mut lat = latencies.lock().await.clone();
    lat.sort();
    Ok(Outcome {
        jobs_per_s: args.jobs as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
    })
}

/// The same lifecycle with plain SQL on the same PostgreSQL table.
async fn ceiling(url: &str, args: &Args) -> anyhow::Result<f64> {
    let (pool, service_id) = job_queue_tables(url, args.producers + args.workers + 2).await?;
    let completed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    let per_producer = args.jobs.div_ceil(args.producers);
    for p in 0..args.producers {
        let (pool, service_id, batch) = (pool.clone(), service_id.clone(), args.batch);
        let count = per_producer.min(args.jobs.saturating_sub(p * per_producer));
        tasks.push(tokio::spawn(async move {
            let mut left = count;
            while left > 0 {
                let n = left.min(batch);
                let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
                    "INSERT INTO jq_jobs (id, service_id, status, parameters, date_submitted, attempts, max_attempts, \
                     service_revision, cancelled, updated) ",
                );
                let now = chrono::Utc::now().timestamp_micros();
                q.push_values(0..n, |mut row, i| {
                    row.push_bind(uuid::Uuid::new_v4().to_string())
                        .push_bind(service_id.clone())
                        .push_bind("REGISTERED")
                        .push_bind(json!({"n": i}).to_string())
                        .push_bind(now)
                        .push_bind(0_i32)
                        .push_bind(3_i32)
                        .push_bind(1_i64)
                        .push_bind(false)
                        .push_bind(now);
                });
                q.build().execute(&pool).await?;
                left -= n;
            }
            anyhow::Ok(())
        }));
    }
    for _ in 0..args.workers {
        let (pool, service_id, completed) = (pool.clone(), service_id.clone(), completed.clone());
        let (batch, total) = (args.batch as i64, args.jobs);
        tasks.push(tokio::spawn(async move {
            while completed.load(Ordering::Relaxed) < total {
                let now = chrono::Utc::now().timestamp_micros();
                let claimed: Vec<(String, String)> = sqlx::query_as(
                    "UPDATE jq_jobs SET status = 'WORKING', lease_token = gen_random_uuid()::text, lease_expires_at = $3, \
                     updated = $4 WHERE seq IN (SELECT seq FROM jq_jobs WHERE service_id = $1 AND status = 'REGISTERED' \
                     ORDER BY date_submitted, seq LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id, lease_token",
                )
                .bind(&service_id)
                .bind(batch)
                .bind(now + 60_000_000)
                .bind(now)
                .fetch_all(&pool)
                .await?;
                if claimed.is_empty() {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                // One statement per batch, as the service does.
                let mut update = sqlx::QueryBuilder::<sqlx::Postgres>::new(
                    "UPDATE jq_jobs SET status = 'COMPLETED', results = v.column3, lease_token = NULL, \
                     lease_expires_at = NULL, updated = ",
                );
                update.push_bind(now);
                update.push(" FROM (");
                update.push_values(&claimed, |mut row, (id, token)| {
                    row.push_bind(id.clone()).push_bind(token.clone()).push_bind(r#"{"square":1}"#);
                });
                update.push(") AS v WHERE jq_jobs.id = v.column1 AND jq_jobs.lease_token = v.column2");
                update.build().execute(&pool).await?;
                completed.fetch_add(claimed.len(), Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(args.jobs as f64 / start.elapsed().as_secs_f64())
}

pub async fn run_backend(backend: Backend, label: &str, args: &Args) -> anyhow::Result<Option<(f64, Option<f64>)>> {
    if let Some(target) = &args.target {
        let o = lifecycle(target.clone(), args).await?;
        print_outcome(label, args, &o);
        return Ok(Some((o.jobs_per_s, None)));
    }
    let Some(db) = TestDatabase::new(backend).await else {
        return Ok(None);
    };
    let system = start_system(&db).await?;
    let o = lifecycle(system.job_queue.url(), args).await?;
    print_outcome(label, args, &o);
    system.stop().await?;
    let ceiling = match (&db.url, ceiling_database().await?) {
        (Some(_), Some((_ceiling_db, url))) => Some(ceiling(&url, args).await?),
        _ => None,
    };
    Ok(Some((o.jobs_per_s, ceiling)))
}

fn print_outcome(label: &str, args: &Args, o: &Outcome) {
    crate::report(
        "run",
        &[
            ("backend", json!(label)),
            ("jobs", json!(args.jobs)),
            ("producers", json!(args.producers)),
            ("workers", json!(args.workers)),
            ("batch", json!(args.batch)),
            ("jobs_per_s", json!(o.jobs_per_s.round() as i64)),
            ("p50_ms", json!(round1(o.p50_ms))),
            ("p99_ms", json!(round1(o.p99_ms))),
        ],
    );
}
