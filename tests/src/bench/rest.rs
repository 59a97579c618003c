//! The `rest` scenario: `--connections` HTTP/1.1 clients, each on a
//! connection of its own, submit `--jobs` in all through the gateway's TopChef
//! route (`POST /services/{id}/jobs`, one job a request, validated); prints
//! submits/s and each request's p50 and p99. On PostgreSQL also the ceiling
//! the issue names: as many connections inserting single rows, one autocommit
//! `INSERT` each, into a table of the same shape (job-queue's own `jq_jobs`,
//! on a database of its own), as `pgbench` with a custom script would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use brigade_tests::{Backend, TestDatabase};
use serde_json::json;

use crate::drain::round1;
use crate::{Args, ceiling_database, job_queue_tables, percentile, report, start_system};

struct Submitted {
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Splits `jobs` over `connections` tasks and times them all.
async fn drive<F, Fut>(jobs: usize, connections: usize, one: F) -> anyhow::Result<Submitted>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<Duration>>> + Send + 'static,
{
    let per = jobs.div_ceil(connections);
    let began = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|c| per.min(jobs.saturating_sub(c * per)))
        .filter(|n| *n > 0)
        .map(|n| tokio::spawn(one(n)))
        .collect();
    let mut samples = Vec::with_capacity(jobs);
    for t in tasks {
        samples.extend(t.await??);
    }
    let elapsed = began.elapsed();
    samples.sort();
    Ok(Submitted {
        per_s: jobs as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&samples, 0.50),
        p99_ms: percentile(&samples, 0.99),
    })
}

async fn through_gateway(base: &str, args: &Args) -> anyhow::Result<Submitted> {
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{base}/services"))
        .json(
            &json!({"name": format!("bench-{}", uuid::Uuid::new_v4().simple()), "description": "brigade-bench rest",
            "job_registration_schema": {"type": "object", "properties": {"t": {"type": "number"}}, "required": ["t"]},
            "job_result_schema": {"type": "object"}}),
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = created["data"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no service id in {created}"))?
        .to_owned();
    let authority = base.trim_start_matches("http://").to_owned();
    let target = Arc::new((authority, format!("/services/{id}/jobs")));
    drive(args.jobs, args.connections, move |n| {
        let target = target.clone();
        async move {
            // A bare keep-alive HTTP/1.1 connection per task, as `wrk` keeps
            // one per connection: the generator shares this process's cores
            // with the system it measures, so it should cost as little.
            let (authority, path) = target.as_ref();
            let stream = tokio::net::TcpStream::connect(authority.as_str()).await?;
            stream.set_nodelay(true)?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            let connection = tokio::spawn(connection);
            let mut samples = Vec::with_capacity(n);
            for i in 0..n {
                let began = Instant::now();
                let request = http::Request::post(path.as_str())
                    .header(http::header::HOST, authority.as_str())
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(http_body_util::Full::new(hyper::body::Bytes::from(
                        json!({"parameters": {"t": i}}).to_string(),
                    )))?;
                let answer = sender.send_request(request).await?;
                anyhow::ensure!(answer.status() == 201, "submit answered {}", answer.status());
                http_body_util::BodyExt::collect(answer.into_body()).await?;
                samples.push(began.elapsed());
            }
            drop(sender);
            connection.await??;
            Ok(samples)
        }
    })
    .await
}

/// The same submits through a second gateway that balances over the system's
/// job-queue and `--replicas - 1` more on its database (each in this process,
/// as the system's own are).
async fn through_replicas(db: &TestDatabase, system: &brigade::System, args: &Args) -> anyhow::Result<Submitted> {
    let any: std::net::SocketAddr = "127.0.0.1:0".parse()?;
    let mut urls = vec![system.job_queue.url()];
    let mut stops = Vec::new();
    for _ in 1..args.replicas {
        let config = brigade_job_queue::Config::local(
            any,
            db.dir.path().to_path_buf(),
            db.url.clone(),
            system.recipe_types.url(),
        );
        let app = brigade_job_queue::Application::build(config).await?;
        urls.push(format!("http://{}", app.local_addr()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push((
            stop,
            tokio::spawn(app.run_until_stopped(async move {
                let _ = stopped.await;
            })),
        ));
    }
    let base = brigade_tests::gateway_on(urls.join(","), system.recipe_types.url(), |_| {}).await;
    let measured = through_gateway(&base, args).await;
    for (stop, running) in stops {
        let _ = stop.send(());
        running.await??;
    }
    measured
}

const SINGLE_ROW_INSERT: &str = "INSERT INTO jq_jobs (id, service_id, status, parameters, date_submitted, attempts, \
     max_attempts, service_revision, cancelled, updated) VALUES ($1, $2, 'REGISTERED', $3, $4, 0, 3, 1, false, $4)";

async fn single_row_inserts(url: &str, args: &Args) -> anyhow::Result<Submitted> {
    let (pool, service_id) = job_queue_tables(url, args.connections).await?;
    drive(args.jobs, args.connections, move |n| {
        let (pool, service_id) = (pool.clone(), service_id.clone());
        async move {
            let mut conn = pool.acquire().await?;
            let mut samples = Vec::with_capacity(n);
            for i in 0..n {
                let began = Instant::now();
                sqlx::query(SINGLE_ROW_INSERT)
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(&service_id)
                    .bind(json!({"t": i}).to_string())
                    .bind(chrono::Utc::now().timestamp_micros())
                    .execute(&mut *conn)
                    .await?;
                samples.push(began.elapsed());
            }
            Ok(samples)
        }
    })
    .await
}

fn print(backend: &str, subject: &str, args: &Args, s: &Submitted) {
    report(
        "rest",
        &[
            ("backend", json!(backend)),
            ("subject", json!(subject)),
            ("jobs", json!(args.jobs)),
            ("connections", json!(args.connections)),
            ("submits_per_s", json!(s.per_s.round() as i64)),
            ("p50_ms", json!(round1(s.p50_ms))),
            ("p99_ms", json!(round1(s.p99_ms))),
        ],
    );
}

pub async fn run_backend(backend: Backend, label: &str, args: &Args) -> anyhow::Result<()> {
    let Some(db) = TestDatabase::new(backend).await else {
        return Ok(());
    };
    let system = start_system(&db).await?;
    let measured = through_gateway(&system.gateway.url(), args).await;
    let replicated = match (&measured, backend) {
        (Ok(_), Backend::Postgres) if args.replicas > 1 => Some(through_replicas(&db, &system, args).await),
        _ => None,
    };
    system.stop().await?;
    let measured = measured?;
    print(label, "brigade", args, &measured);
    if backend != Backend::Postgres {
        return Ok(());
    }
    if let Some(replicated) = replicated {
        let replicated = replicated?;
        print(label, &format!("brigade_{}_replicas", args.replicas), args, &replicated);
        report(
            "rest-replicas",
            &[
                ("backend", json!(label)),
                ("replicas", json!(args.replicas)),
                (
                    "replica_ratio",
                    json!((replicated.per_s / measured.per_s * 100.0).round() / 100.0),
                ),
            ],
        );
    }
    let Some((_ceiling_db, url)) = ceiling_database().await? else {
        return Ok(());
    };
    let plain = single_row_inserts(&url, args).await?;
    print(label, "single_row_inserts", args, &plain);
    report(
        "rest-ratio",
        &[
            ("backend", json!(label)),
            (
                "submit_ratio",
                json!((measured.per_s / plain.per_s * 100.0).round() / 100.0),
            ),
        ],
    );
    Ok(())
}
