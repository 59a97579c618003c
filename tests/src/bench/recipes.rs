//! The `recipes` scenario: recipes of a chain (each node depends on the one
//! before) and of a fan (a source, `width` nodes after it, a sink after them
//! all), run by no-op workers over gRPC. After each shape has run, every
//! job is read back over gRPC and the scheduling overhead of each dependent
//! node is the time from its last dependency's job COMPLETED (the completing
//! attempt's `finished`) to its own job REGISTERED (`date_submitted`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1 as rt;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use brigade_tests::{Backend, TestDatabase};
use futures::{FutureExt as _, StreamExt as _};
use serde_json::{Value, json};
use tonic::transport::Channel;

use crate::drain::round1;
use crate::{Args, percentile, report, start_system};

/// How long one shape may take before the run is called stuck.
const SHAPE_DEADLINE: Duration = Duration::from_secs(600);

/// A recipe type's job nodes and what each depends on.
struct Shape {
    label: &'static str,
    recipes: usize,
    nodes: Vec<(String, Vec<String>)>,
    definition: Value,
}

fn job_node(service: &str, deps: &[String], input: Value) -> Value {
    let deps: Vec<Value> = deps.iter().map(|d| json!({"name": d})).collect();
    json!({"dependencies": deps, "input": input, "node_type": {
        "node_type": "job", "job_type_name": service, "job_type_version": "1.0.0", "job_type_revision": 1}})
}

fn from(node: &str) -> Value {
    json!({"n": {"type": "dependency", "node": node, "output": "n"}})
}

fn n_input() -> Value {
    json!({"files": [], "json": [{"name": "n", "type": "integer", "required": true}]})
}

fn chain(step: &str, recipes: usize, length: usize) -> Shape {
    let mut nodes = Vec::new();
    let mut definition = serde_json::Map::new();
    for i in 0..length {
        let (deps, input) = match i {
            0 => (vec![], json!({"n": {"type": "recipe", "input": "n"}})),
            _ => (vec![format!("n{}", i - 1)], from(&format!("n{}", i - 1))),
        };
        definition.insert(format!("n{i}"), job_node(step, &deps, input));
        nodes.push((format!("n{i}"), deps));
    }
    Shape {
        label: "chain",
        recipes,
        nodes,
        definition: json!({"version": "7", "input": n_input(), "nodes": definition}),
    }
}

fn fan(step: &str, sink: &str, recipes: usize, width: usize) -> Shape {
    let source = "source".to_owned();
    let mut nodes = vec![(source.clone(), vec![])];
    let mut definition = serde_json::Map::new();
    definition.insert(
        source.clone(),
        job_node(step, &[], json!({"n": {"type": "recipe", "input": "n"}})),
    );
    let middle: Vec<String> = (0..width).map(|i| format!("w{i}")).collect();
    for name in &middle {
        definition.insert(
            name.clone(),
            job_node(step, std::slice::from_ref(&source), from(&source)),
        );
        nodes.push((name.clone(), vec![source.clone()]));
    }
    definition.insert("sink".to_owned(), job_node(sink, &middle, json!({})));
    nodes.push(("sink".to_owned(), middle));
    Shape {
        label: "fan",
        recipes,
        nodes,
        definition: json!({"version": "7", "input": n_input(), "nodes": definition}),
    }
}

async fn create_service(client: &mut JobQueueClient<Channel>, name: &str, schema: Value) -> anyhow::Result<String> {
    let service = client
        .create_service(jq::CreateServiceRequest {
            name: name.to_owned(),
            description: "brigade-bench recipes".into(),
            version: "1.0.0".into(),
            // The same schema both ways: a step takes `n` and answers `n + 1`.
            job_registration_schema_json: schema.to_string(),
            job_result_schema_json: schema.to_string(),
            lease_seconds: Some(60),
            ..Default::default()
        })
        .await?
        .into_inner()
        .service
        .ok_or_else(|| anyhow::anyhow!("CreateService answered without the service"))?;
    Ok(service.id)
}

/// A worker that completes each job of the service at once with `{"n": n + 1}`.
/// With nothing to claim it waits for `WatchQueue` to name a new job (as the
/// client libraries' workers do), or 100 ms, rather than polling the database.
fn noop_worker(
    mut client: JobQueueClient<Channel>,
    service_id: String,
    batch: usize,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    tokio::spawn(async move {
        let mut watch = client
            .watch_queue(jq::WatchQueueRequest {
                service_id: service_id.clone(),
            })
            .await?
            .into_inner();
        while !stop.load(Ordering::Relaxed) {
            let leased = client
                .claim_jobs(jq::ClaimJobsRequest {
                    service_id: service_id.clone(),
                    max_jobs: batch as i32,
                    worker_id: "brigade-bench".into(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .jobs;
            if leased.is_empty() {
                let _woken = tokio::time::timeout(Duration::from_millis(100), watch.message()).await;
                // One claim takes every job announced meanwhile (the client
                // libraries' workers coalesce wake-ups the same way).
                while let Some(Ok(Some(_))) = watch.message().now_or_never() {}
                continue;
            }
            let completions = leased
                .into_iter()
                .filter_map(|l| {
                    let job = l.job?;
                    let n = serde_json::from_str::<Value>(&job.parameters_json).ok()?["n"]
                        .as_i64()
                        .unwrap_or(0);
                    Some(jq::CompleteJobRequest {
                        job_id: job.id,
                        lease_token: l.lease_token,
                        results_json: json!({"n": n + 1}).to_string(),
                    })
                })
                .collect();
            let outcomes = client
                .complete_jobs(jq::CompleteJobsRequest { completions })
                .await?
                .into_inner()
                .outcomes;
            for o in outcomes {
                anyhow::ensure!(o.code == 0, "completion failed: {}", o.message);
            }
        }
        anyhow::Ok(())
    })
}

fn seconds(ts: &prost_types::Timestamp) -> f64 {
    ts.seconds as f64 + f64::from(ts.nanos) / 1e9
}

/// When the job was registered and when its completing attempt finished.
async fn job_times(client: &mut JobQueueClient<Channel>, id: String) -> anyhow::Result<(f64, f64)> {
    let job = client
        .get_job(jq::GetJobRequest { id: id.clone() })
        .await?
        .into_inner()
        .job
        .ok_or_else(|| anyhow::anyhow!("GetJob answered without job {id}"))?;
    let submitted = job.date_submitted.as_ref().map(seconds).unwrap_or_default();
    let finished = job
        .attempt_history
        .iter()
        .rev()
        .find(|a| a.outcome == "COMPLETED")
        .and_then(|a| a.finished.as_ref())
        .map(seconds)
        .ok_or_else(|| anyhow::anyhow!("job {id} has no completed attempt"))?;
    Ok((submitted, finished))
}

/// Runs `shape.recipes` recipes of the shape to COMPLETED; returns recipes/s and
/// the overhead samples.
async fn run_shape(
    jq_client: &JobQueueClient<Channel>,
    rt_client: &mut RecipeTypesClient<Channel>,
    shape: &Shape,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let recipe_type = rt_client
        .create_recipe_type(rt::CreateRecipeTypeRequest {
            title: format!("bench {} {}", shape.label, uuid::Uuid::new_v4().simple()),
            description: None,
            definition_json: shape.definition.to_string(),
        })
        .await?
        .into_inner()
        .recipe_type
        .and_then(|t| t.summary)
        .ok_or_else(|| anyhow::anyhow!("CreateRecipeType answered without the recipe type"))?;
    let start = Instant::now();
    let mut ids = Vec::with_capacity(shape.recipes);
    for n in 0..shape.recipes {
        let recipe = rt_client
            .create_recipe(rt::CreateRecipeRequest {
                recipe_type_id: recipe_type.id,
                input_json: json!({"json": {"n": n}}).to_string(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .recipe
            .ok_or_else(|| anyhow::anyhow!("CreateRecipe answered without the recipe"))?;
        ids.push(recipe.id);
    }
    let filter = |statuses: Vec<i32>| rt::ListRecipesRequest {
        recipe_type_ids: vec![recipe_type.id],
        statuses,
        limit: 1,
        ..Default::default()
    };
    loop {
        let done = rt_client
            .list_recipes(filter(vec![rt::RecipeStatus::Completed as i32]))
            .await?
            .into_inner()
            .count;
        if done as usize >= shape.recipes {
            break;
        }
        let failed = rt_client
            .list_recipes(filter(vec![
                rt::RecipeStatus::Failed as i32,
                rt::RecipeStatus::Canceled as i32,
            ]))
            .await?
            .into_inner()
            .count;
        anyhow::ensure!(failed == 0, "{failed} {} recipes failed", shape.label);
        anyhow::ensure!(
            start.elapsed() < SHAPE_DEADLINE,
            "{} recipes: {done} of {} completed after {SHAPE_DEADLINE:?}",
            shape.label,
            shape.recipes
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recipes_per_s = shape.recipes as f64 / start.elapsed().as_secs_f64();

    let mut samples = Vec::new();
    for id in ids {
        let recipe = rt_client
            .get_recipe(rt::GetRecipeRequest { id })
            .await?
            .into_inner()
            .recipe
            .ok_or_else(|| anyhow::anyhow!("GetRecipe answered without recipe {id}"))?;
        let details: Value = serde_json::from_str(&recipe.details_json)?;
        let job_ids: Vec<(String, String)> = shape
            .nodes
            .iter()
            .map(|(node, _)| {
                let job = details["nodes"][node]["node_type"]["job_id"]
                    .as_str()
                    .unwrap_or_default();
                (node.clone(), job.to_owned())
            })
            .collect();
        let times: HashMap<String, (f64, f64)> = futures::stream::iter(job_ids)
            .map(|(node, job)| {
                let mut client = jq_client.clone();
                async move { job_times(&mut client, job).await.map(|t| (node, t)) }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<anyhow::Result<_>>()?;
        for (node, deps) in shape.nodes.iter().filter(|(_, deps)| !deps.is_empty()) {
            let ready = deps.iter().map(|d| times[d].1).fold(f64::MIN, f64::max);
            let registered = times[node].0;
            samples.push(Duration::from_secs_f64((registered - ready).max(0.0)));
        }
    }
    samples.sort();
    Ok((recipes_per_s, samples))
}

pub async fn run_backend(backend: Backend, label: &str, args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.chain_length >= 2 && args.fan_width >= 1,
        "a chain needs two nodes and a fan one in the middle"
    );
    let Some(db) = TestDatabase::new(backend).await else {
        return Ok(());
    };
    let system = start_system(&db).await?;
    let jq_channel = Channel::from_shared(system.job_queue.url())?.connect().await?;
    let rt_channel = Channel::from_shared(system.recipe_types.url())?.connect().await?;
    let mut jq_client = JobQueueClient::new(jq_channel);
    let mut rt_client = RecipeTypesClient::new(rt_channel);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (step, sink) = (format!("bench-step-{suffix}"), format!("bench-sink-{suffix}"));
    let step_id = create_service(
        &mut jq_client,
        &step,
        json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}),
    )
    .await?;
    let sink_id = create_service(&mut jq_client, &sink, json!({"type": "object"})).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for service_id in [&step_id, &sink_id] {
        for _ in 0..args.workers {
            workers.push(noop_worker(
                jq_client.clone(),
                service_id.clone(),
                args.batch,
                stop.clone(),
            ));
        }
    }
    let shapes = [
        chain(&step, args.chain_recipes, args.chain_length),
        fan(&step, &sink, args.fan_recipes, args.fan_width),
    ];
    let mut outcome = Ok(());
    for shape in shapes.iter().filter(|s| s.recipes > 0) {
        match run_shape(&jq_client, &mut rt_client, shape).await {
            Ok((recipes_per_s, samples)) => report(
                "recipes",
                &[
                    ("backend", json!(label)),
                    ("shape", json!(shape.label)),
                    ("recipes", json!(shape.recipes)),
                    ("nodes", json!(shape.nodes.len())),
                    ("workers", json!(args.workers)),
                    ("recipes_per_s", json!(round1(recipes_per_s))),
                    ("overhead_samples", json!(samples.len())),
                    ("overhead_p50_ms", json!(round1(percentile(&samples, 0.50)))),
                    ("overhead_p99_ms", json!(round1(percentile(&samples, 0.99)))),
                    ("overhead_max_ms", json!(round1(percentile(&samples, 1.0)))),
                ],
            ),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await??;
    }
    system.stop().await?;
    outcome
}
