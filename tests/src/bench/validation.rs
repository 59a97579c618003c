//! The `validation` scenario: a chain of `--chain-length` job nodes, each
//! reading its parent's output, posted to `POST /v6/recipe-types/validation/`
//! through the gateway again and again; prints the answer time's p50 and p99.

use std::time::{Duration, Instant};

use brigade_tests::{Backend, TestDatabase};
use serde_json::{Value, json};

use crate::drain::round1;
use crate::{percentile, start_system};

/// Answers timed per run (after two untimed ones).
const ROUNDS: usize = 30;

fn definition(length: usize) -> Value {
    let nodes: serde_json::Map<String, Value> = (0..length)
        .map(|i| {
            let (deps, input) = match i {
                0 => (json!([]), json!({"n": {"type": "recipe", "input": "n"}})),
                _ => (
                    json!([{"name": format!("n{}", i - 1)}]),
                    json!({"n": {"type": "dependency", "node": format!("n{}", i - 1), "output": "n"}}),
                ),
            };
            let node = json!({"dependencies": deps, "input": input, "node_type": {
                "node_type": "job", "job_type_name": "bench-step", "job_type_version": "1.0.0", "job_type_revision": 1}});
            (format!("n{i}"), node)
        })
        .collect();
    json!({"definition": {"version": "7",
        "input": {"files": [], "json": [{"name": "n", "type": "integer", "required": true}]},
        "nodes": nodes}})
}

pub async fn run_backend(backend: Backend, label: &str, length: usize) -> anyhow::Result<()> {
    let Some(db) = TestDatabase::new(backend).await else {
        return Ok(());
    };
    let system = start_system(&db).await?;
    let base = system.gateway.url();
    let http = reqwest::Client::new();
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
    let created = http
        .post(format!("{base}/services"))
        .json(
            &json!({"name": "bench-step", "description": "brigade-bench validation", "version": "1.0.0",
            "job_registration_schema": schema, "job_result_schema": schema}),
        )
        .send()
        .await?;
    anyhow::ensure!(
        created.status().is_success(),
        "creating the job type: {}",
        created.status()
    );
    let body = serde_json::to_vec(&definition(length))?;
    let mut samples: Vec<Duration> = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS + 2 {
        let began = Instant::now();
        let answer = http
            .post(format!("{base}/v6/recipe-types/validation/"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        let status = answer.status();
        let report: Value = answer.json().await?;
        let took = began.elapsed();
        anyhow::ensure!(
            status.is_success() && report["is_valid"] == true,
            "the chain did not validate: {status} {report}"
        );
        if round >= 2 {
            samples.push(took);
        }
    }
    samples.sort();
    crate::report(
        "validation",
        &[
            ("backend", json!(label)),
            ("nodes", json!(length)),
            ("body_bytes", json!(body.len())),
            ("rounds", json!(ROUNDS)),
            ("p50_ms", json!(round1(percentile(&samples, 0.50)))),
            ("p99_ms", json!(round1(percentile(&samples, 0.99)))),
        ],
    );
    system.stop().await?;
    Ok(())
}
