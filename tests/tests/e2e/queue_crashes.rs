//! Kill -9 under load, on PostgreSQL with the real binaries: a producer that
//! retries every failed submit with the same idempotency keys, and workers that
//! retry every failed completion with the same lease token, lose nothing,
//! duplicate nothing and complete every job exactly once, counted in the
//! database, while job-queue is killed three times and recipe-types once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_tests::processes::Processes;
use brigade_tests::{Backend, TestDatabase, eventually};
use serde_json::{Value, json};
use tonic::transport::Channel;

const BATCHES: usize = 100;
const PER_BATCH: usize = 20;
const JOBS: usize = BATCHES * PER_BATCH;
const KILLS: usize = 3;

/// What the clients saw, for the report.
#[derive(Default)]
struct Seen {
    acknowledged: AtomicUsize,
    submit_retries: AtomicUsize,
    existing_on_retry: AtomicUsize,
    completion_retries: AtomicUsize,
    completed: AtomicUsize,
}

fn integer_n() -> String {
    json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}).to_string()
}

/// Submits every batch until it is acknowledged, each retry with the same
/// keys and bodies, as a client that lost the reply must.
fn producer(mut client: JobQueueClient<Channel>, service_id: String, seen: Arc<Seen>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for batch in 0..BATCHES {
            let jobs: Vec<jq::JobSubmission> = (0..PER_BATCH)
                .map(|i| jq::JobSubmission {
                    parameters_json: json!({"n": batch * PER_BATCH + i}).to_string(),
                    idempotency_key: Some(format!("load-{batch}-{i}")),
                    ..Default::default()
                })
                .collect();
            let mut retried = false;
            loop {
                let request = jq::SubmitJobsRequest {
                    service_id: service_id.clone(),
                    jobs: jobs.clone(),
                    ..Default::default()
                };
                match client.submit_jobs(request).await {
                    Ok(answer) => {
                        let existing = answer.into_inner().created.iter().filter(|c| !**c).count();
                        if retried {
                            seen.existing_on_retry.fetch_add(existing, Ordering::Relaxed);
                        } else {
                            assert_eq!(existing, 0, "a first submit found existing jobs");
                        }
                        seen.acknowledged.fetch_add(PER_BATCH, Ordering::Relaxed);
                        break;
                    }
                    Err(_) => {
                        retried = true;
                        seen.submit_retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    })
}

/// Claims and completes (n + 1) until told to stop; a completion that got no
/// answer is sent again with the same token and result until one comes.
fn worker(
    mut client: JobQueueClient<Channel>,
    service_id: String,
    name: String,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let request = jq::ClaimJobsRequest {
                service_id: service_id.clone(),
                max_jobs: 10,
                worker_id: name.clone(),
                ..Default::default()
            };
            let claimed = client
                .claim_jobs(request)
                .await
                .map(|r| r.into_inner().jobs)
                .unwrap_or_default();
            if claimed.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            let completions: Vec<jq::CompleteJobRequest> = claimed
                .into_iter()
                .filter_map(|leased| {
                    let job = leased.job?;
                    let params: Value = serde_json::from_str(&job.parameters_json).ok()?;
                    Some(jq::CompleteJobRequest {
                        job_id: job.id,
                        lease_token: leased.lease_token,
                        results_json: json!({"n": params["n"].as_i64()? + 1}).to_string(),
                    })
                })
                .collect();
            loop {
                let request = jq::CompleteJobsRequest {
                    completions: completions.clone(),
                };
                match client.complete_jobs(request).await {
                    Ok(answer) => {
                        // A stale lease (code 9) means the lease ran out while job-queue
                        // was down and the job went back to the queue: it is redone.
                        let applied = answer.into_inner().outcomes.iter().filter(|o| o.code == 0).count();
                        seen.completed.fetch_add(applied, Ordering::Relaxed);
                        break;
                    }
                    Err(_) if stop.load(Ordering::Relaxed) => break,
                    Err(_) => {
                        seen.completion_retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    })
}

#[tokio::test]
async fn kill_9_under_load_loses_nothing_and_completes_each_job_once() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let mut p = Processes::new(&db);
    p.spawn_job_queue();
    p.spawn_recipe_types();
    let mut client = p.job_queue().await;
    let service_id = client
        .create_service(jq::CreateServiceRequest {
            name: "load".into(),
            description: "adds one under fire".into(),
            version: "1.0.0".into(),
            job_registration_schema_json: integer_n(),
            job_result_schema_json: integer_n(),
            lease_seconds: Some(2),
            max_attempts: Some(50),
            ..Default::default()
        })
        .await
        .expect("service")
        .into_inner()
        .service
        .expect("service")
        .id;

    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let producing = producer(client.clone(), service_id.clone(), seen.clone());
    let workers: Vec<_> = (0..2)
        .map(|w| {
            worker(
                client.clone(),
                service_id.clone(),
                format!("w{w}"),
                seen.clone(),
                stop.clone(),
            )
        })
        .collect();

    for kill in 1..=KILLS {
        let at = kill * JOBS / (KILLS + 1);
        eventually(Duration::from_secs(120), &format!("{at} jobs acknowledged"), || {
            let seen = seen.clone();
            async move { (seen.acknowledged.load(Ordering::Relaxed) >= at).then_some(()) }
        })
        .await;
        p.restart_job_queue_after_kill_9().await;
        if kill == 2 {
            p.restart_recipe_types_after_kill_9().await;
        }
    }
    tokio::time::timeout(Duration::from_secs(180), producing)
        .await
        .expect("the producer finished within 180 s")
        .expect("the producer did not panic");

    let pool = sqlx::PgPool::connect(&p.db_url).await.expect("connect");
    eventually(Duration::from_secs(120), "every job COMPLETED", || {
        let (pool, service_id) = (pool.clone(), service_id.clone());
        async move {
            let done: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM jq_jobs WHERE service_id = $1 AND status = 'COMPLETED'")
                    .bind(&service_id)
                    .fetch_one(&pool)
                    .await
                    .ok()?;
            (done == JOBS as i64).then_some(())
        }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(40), w).await;
    }

    // 0 lost, 0 duplicated: one job per key, and every key there.
    let (jobs, keys): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM jq_jobs WHERE service_id = $1 AND idempotency_key LIKE 'load-%'",
    )
    .bind(&service_id)
    .fetch_one(&pool)
    .await
    .expect("count jobs");
    assert_eq!((jobs, keys), (JOBS as i64, JOBS as i64), "jobs and distinct keys");
    // Each result is its own parameter plus one.
    let right: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jq_jobs WHERE service_id = $1 \
         AND (results::jsonb ->> 'n')::bigint = (parameters::jsonb ->> 'n')::bigint + 1",
    )
    .bind(&service_id)
    .fetch_one(&pool)
    .await
    .expect("check results");
    assert_eq!(right, JOBS as i64, "results that are their parameter plus one");
    // Exactly once: one COMPLETED attempt per job, never two.
    let once: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT completed, COUNT(*) FROM (SELECT j.id, COUNT(a.job_id) AS completed FROM jq_jobs j \
         LEFT JOIN jq_job_attempts a ON a.job_id = j.id AND a.outcome = 'COMPLETED' \
         WHERE j.service_id = $1 GROUP BY j.id) per_job GROUP BY completed",
    )
    .bind(&service_id)
    .fetch_all(&pool)
    .await
    .expect("count attempts");
    assert_eq!(once, vec![(1, JOBS as i64)], "(completed attempts per job, jobs)");
    let applied = seen.completed.load(Ordering::Relaxed);
    assert!(
        applied <= JOBS,
        "workers were told {applied} completions applied for {JOBS} jobs: one twice"
    );
    eprintln!(
        "kill -9 under load: {JOBS} jobs, {KILLS} kills of job-queue and 1 of recipe-types; \
         {} submit retries ({} jobs found existing on retry), {} completion retries, {applied} completions acknowledged",
        seen.submit_retries.load(Ordering::Relaxed),
        seen.existing_on_retry.load(Ordering::Relaxed),
        seen.completion_retries.load(Ordering::Relaxed),
    );
}
