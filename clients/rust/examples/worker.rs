//! A worker for a "squares" service: connects, registers the service, and
//! squares numbers until Ctrl-C.
//!
//! ```text
//! cargo run -p brigade-client --example worker -- http://127.0.0.1:50051 [demo-jobs]
//! BRIGADE_URL=http://127.0.0.1:50051 cargo run -p brigade-client --example worker
//! ```
//!
//! The first argument (or `BRIGADE_URL`) is the job-queue's gRPC URL; the
//! optional second one submits that many demo jobs before the worker starts.
//! Submit more over REST with
//! `curl -XPOST localhost:8080/services/<id>/jobs -d '{"parameters":{"n":7}}' -H 'content-type: application/json'`.

use std::time::Duration;

use brigade_client::{Client, HandlerError, Job, ServiceDefinition, WorkerEvent};
use serde_json::{Value, json};

/// The job handler: `{"n": 7}` gives `{"square": 49}`.
async fn square(job: Job) -> Result<Value, HandlerError> {
    let n = job.parameters["n"]
        .as_i64()
        .ok_or_else(|| HandlerError::new("n must be an integer"))?;
    let square = n
        .checked_mul(n)
        .ok_or_else(|| HandlerError::new(format!("{n} squared does not fit in 64 bits")))?;
    // Pretend the instrument takes a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(json!({ "square": square }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .or_else(|| std::env::var("BRIGADE_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let demo_jobs: u32 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(0);

    println!("connecting to {url}");
    let client = Client::connect(url).await?;
    let service = client
        .register_service(
            &ServiceDefinition::new(
                "example-squares",
                json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}),
                json!({"type": "object", "properties": {"square": {"type": "integer"}}, "required": ["square"]}),
            )
            .description("Squares integers (brigade-client example)")
            .lease(Duration::from_secs(30)),
        )
        .await?;
    println!("service {} v{} has id {}", service.name, service.version, service.id);

    for n in 0..demo_jobs {
        let job = client.submit(&service.id, &json!({ "n": n })).await?;
        println!("submitted job {} (n = {n})", job.id);
    }

    let summary = client
        .worker(&service.id, square)
        .concurrency(4)
        .grace_period(Duration::from_secs(10))
        .on_event(|event| match event {
            WorkerEvent::Completed { job_id } => println!("completed {job_id}"),
            WorkerEvent::Failed { job_id, message, .. } => println!("failed {job_id}: {message}"),
            WorkerEvent::Error { error, .. } => eprintln!("error: {error}"),
            _ => {}
        })
        .build()
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
            println!("shutting down (Ctrl-C)");
        })
        .await?;
    println!("{summary:?}");
    Ok(())
}
