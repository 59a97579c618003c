//! Recipes run end to end: recipe-types creates each node's job in
//! job-queue, real workers claim and complete them over gRPC, job-queue's
//! outbox tells recipe-types, and the recipe moves on to the end.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1 as rt;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use brigade_tests::{Backend, TestApp, eventually, eventually_saying, grpc_channel};
use serde_json::{Value, json};
use tonic::transport::Channel;

const RECIPE_DEADLINE: Duration = Duration::from_secs(90);

/// What a worker does with one job's parameters: its results, or a failure message.
pub(crate) type Work = Arc<dyn Fn(&str, &Value) -> Result<Value, String> + Send + Sync>;

pub(crate) struct Fixture {
    pub(crate) app: TestApp,
    pub(crate) jq: JobQueueClient<Channel>,
    pub(crate) rt: RecipeTypesClient<Channel>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for w in &self.workers {
            w.abort();
        }
    }
}

pub(crate) fn integer_props(names: &[&str]) -> Value {
    let props: serde_json::Map<String, Value> = names
        .iter()
        .map(|n| ((*n).to_owned(), json!({"type": "integer"})))
        .collect();
    json!({"type": "object", "properties": props, "required": names})
}

pub(crate) fn job(name: &str, deps: Value, input: Value) -> Value {
    json!({"dependencies": deps, "input": input, "node_type": {
        "node_type": "job", "job_type_name": name, "job_type_version": "1.0.0", "job_type_revision": 1}})
}

pub(crate) fn dep(node: &str, output: &str) -> Value {
    json!({"type": "dependency", "node": node, "output": output})
}

pub(crate) fn rin(input: &str) -> Value {
    json!({"type": "recipe", "input": input})
}

pub(crate) fn n_input() -> Value {
    json!({"files": [], "json": [{"name": "n", "type": "integer", "required": true}]})
}

/// A condition on `n` from `node`: accepted when n > `above`.
fn gate(node: &str, above: i64) -> Value {
    json!({"dependencies": [{"name": node}], "input": {"n": dep(node, "n")}, "node_type": {
        "node_type": "condition", "interface": n_input(),
        "data_filter": {"filters": [{"name": "n", "type": "integer", "condition": ">", "values": [above]}]}}})
}

impl Fixture {
    pub(crate) async fn new(backend: Backend) -> Option<Self> {
        let app = TestApp::spawn(backend).await?;
        let jq = app.job_queue().await;
        let rt = app.recipe_types().await;
        Some(Self {
            app,
            jq,
            rt,
            workers: Vec::new(),
        })
    }

    /// A job type taking and returning integers.
    pub(crate) async fn job_type(&mut self, name: &str, inputs: &[&str], outputs: &[&str]) -> String {
        self.jq
            .create_service(jq::CreateServiceRequest {
                name: name.to_owned(),
                description: format!("{name} for recipe tests"),
                version: "1.0.0".to_owned(),
                job_registration_schema_json: integer_props(inputs).to_string(),
                job_result_schema_json: integer_props(outputs).to_string(),
                max_attempts: Some(1),
                ..Default::default()
            })
            .await
            .expect("create service")
            .into_inner()
            .service
            .expect("service")
            .id
    }

    pub(crate) async fn recipe_type(&mut self, title: &str, definition: Value) -> String {
        self.rt
            .create_recipe_type(rt::CreateRecipeTypeRequest {
                title: title.to_owned(),
                description: None,
                definition_json: definition.to_string(),
            })
            .await
            .unwrap_or_else(|s| panic!("create recipe type {title}: {s:?}"))
            .into_inner()
            .recipe_type
            .expect("recipe type")
            .summary
            .expect("summary")
            .name
    }

    /// A worker that claims the service's jobs over gRPC and completes each
    /// with `work`'s results (or fails it with its message).
    pub(crate) fn worker(&mut self, service_id: &str, work: Work) {
        let mut client = self.jq.clone();
        let service_id = service_id.to_owned();
        self.workers.push(tokio::spawn(async move {
            loop {
                let claimed = client
                    .claim_jobs(jq::ClaimJobsRequest {
                        service_id: service_id.clone(),
                        max_jobs: 100,
                        worker_id: "recipe-test".to_owned(),
                        ..Default::default()
                    })
                    .await
                    // Kept going (a test may stop a service under it), but said: a
                    // stuck recipe then shows why in the failing test's output.
                    .map_or_else(
                        |s| {
                            eprintln!("recipe-test worker: claim on {service_id} failed: {s:?}");
                            Vec::new()
                        },
                        |r| r.into_inner().jobs,
                    );
                if claimed.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                for leased in claimed {
                    let job = leased.job.expect("job");
                    let params: Value = serde_json::from_str(&job.parameters_json).unwrap_or(Value::Null);
                    let finished = match work(&job.id, &params) {
                        Ok(results) => client
                            .complete_job(jq::CompleteJobRequest {
                                job_id: job.id.clone(),
                                lease_token: leased.lease_token,
                                results_json: results.to_string(),
                            })
                            .await
                            .map(drop),
                        Err(message) => client
                            .fail_job(jq::FailJobRequest {
                                job_id: job.id.clone(),
                                lease_token: leased.lease_token,
                                error_message: message,
                                ..Default::default()
                            })
                            .await
                            .map(drop),
                    };
                    if let Err(s) = finished {
                        eprintln!("recipe-test worker: finishing job {} failed: {s:?}", job.id);
                    }
                }
            }
        }));
    }

    pub(crate) async fn create(&mut self, recipe_type: &str, input: Value) -> rt::Recipe {
        create_on(&mut self.rt, recipe_type, input).await
    }

    pub(crate) async fn wait_for(&self, id: i64, status: rt::RecipeStatus) -> rt::Recipe {
        wait_on(&self.rt, id, status).await
    }

    /// Every job of a recipe in job-queue, by node.
    pub(crate) async fn jobs_by_node(&mut self, service_ids: &[&str]) -> HashMap<(String, String), Vec<jq::Job>> {
        let mut out: HashMap<(String, String), Vec<jq::Job>> = HashMap::new();
        for service_id in service_ids {
            let mut jobs = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = self
                    .jq
                    .list_jobs(jq::ListJobsRequest {
                        service_id: (*service_id).to_owned(),
                        page_size: 100,
                        page_token: page_token.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("list jobs")
                    .into_inner();
                jobs.extend(page.jobs);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            for job in jobs {
                let key = (
                    job.recipe_id.clone().unwrap_or_default(),
                    job.recipe_node.clone().unwrap_or_default(),
                );
                out.entry(key).or_default().push(job);
            }
        }
        out
    }
}

async fn create_on(client: &mut RecipeTypesClient<Channel>, recipe_type: &str, input: Value) -> rt::Recipe {
    client
        .create_recipe(rt::CreateRecipeRequest {
            recipe_type_name: recipe_type.to_owned(),
            input_json: input.to_string(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("create recipe: {s:?}"))
        .into_inner()
        .recipe
        .expect("recipe")
}

async fn wait_on(client: &RecipeTypesClient<Channel>, id: i64, status: rt::RecipeStatus) -> rt::Recipe {
    // A recipe that never gets there says where it stood: which node waits.
    eventually_saying(RECIPE_DEADLINE, &format!("recipe {id} {status:?}"), || {
        let mut c = client.clone();
        async move {
            let r = c
                .get_recipe(rt::GetRecipeRequest { id })
                .await
                .map_err(|s| format!("GetRecipe failed: {s:?}"))?
                .into_inner()
                .recipe
                .ok_or_else(|| "no recipe in the answer".to_owned())?;
            if r.status() == status {
                Ok(r)
            } else {
                Err(format!("{:?}: {}", r.status(), r.details_json))
            }
        }
    })
    .await
}

pub(crate) fn details(r: &rt::Recipe) -> Value {
    serde_json::from_str(&r.details_json).expect("details json")
}

fn node_status(r: &rt::Recipe, node: &str) -> String {
    let d = details(r);
    let t = &d["nodes"][node]["node_type"];
    t["status"].as_str().map_or_else(
        || {
            if t["is_processed"] == json!(true) || t["is_completed"] == json!(true) {
                "COMPLETED".to_owned()
            } else {
                "PENDING".to_owned()
            }
        },
        str::to_owned,
    )
}

pub(crate) fn add_one() -> Work {
    Arc::new(|_, p| Ok(json!({"n": p["n"].as_i64().unwrap_or(0) + 1})))
}

// ---------------------------------------------------------------- the seed's shape

async fn seed_shape_runs_to_the_end(backend: Backend) {
    let Some(mut f) = Fixture::new(backend).await else {
        return;
    };
    let add = f.job_type("add", &["n"], &["n"]).await;
    f.worker(&add, add_one());
    let sub = f
        .recipe_type(
            "Inner",
            json!({"version": "7", "input": n_input(), "nodes": {"inner": job("add", json!([]), json!({"n": rin("n")}))}}),
        )
        .await;
    let outer = f
        .recipe_type(
            "Outer",
            json!({"version": "7", "input": n_input(), "nodes": {
                "first": job("add", json!([]), json!({"n": rin("n")})),
                "second": job("add", json!([{"name": "first"}]), json!({"n": dep("first", "n")})),
                "positive": gate("second", 0),
                "child": {"dependencies": [{"name": "positive", "acceptance": true}], "input": {"n": dep("positive", "n")},
                          "node_type": {"node_type": "recipe", "recipe_type_name": sub, "recipe_type_revision": 1}},
            }}),
        )
        .await;
    let created = f.create(&outer, json!({"json": {"n": 1}})).await;
    assert_eq!(created.status(), rt::RecipeStatus::Running);
    let done = f.wait_for(created.id, rt::RecipeStatus::Completed).await;
    let d = details(&done);
    assert_eq!(d["nodes"]["first"]["node_type"]["status"], "COMPLETED");
    assert_eq!(d["nodes"]["positive"]["node_type"]["is_accepted"], true);
    assert_eq!(d["nodes"]["child"]["node_type"]["is_completed"], true);
    assert!(done.completed.is_some() && done.ended.is_some());
    let counts = done.counts.expect("counts");
    assert_eq!(
        (counts.jobs_total, counts.jobs_completed, counts.sub_recipes_completed),
        (3, 3, 1)
    );
    // The child saw second's output (1 + 1 + 1 = 3) and added one more.
    let child_id: i64 = d["nodes"]["child"]["node_type"]["recipe_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("child id");
    let child = f.wait_for(child_id, rt::RecipeStatus::Completed).await;
    assert_eq!(child.parent_recipe_id, Some(created.id));
    let jobs = f.jobs_by_node(&[&add]).await;
    let inner = &jobs[&(child_id.to_string(), "inner".to_owned())];
    assert_eq!(inner.len(), 1);
    assert_eq!(
        serde_json::from_str::<Value>(&inner[0].parameters_json).ok(),
        Some(json!({"n": 3}))
    );
    // Recipes by status, and how long nodes waited for their job after their dependency finished.
    // The registry is per process and this binary runs many systems at once: another system's
    // scrape may refresh the gauge between ours and the rendering, so read until ours shows.
    let metrics = brigade_tests::eventually(Duration::from_secs(10), "brigade_recipes COMPLETED 2", || {
        let (http, url) = (f.app.http.clone(), format!("{}/metrics", f.app.recipe_types_url()));
        async move {
            let text = http.get(url).send().await.ok()?.text().await.ok()?;
            text.contains(r#"brigade_recipes{status="COMPLETED"} 2"#)
                .then_some(text)
        }
    })
    .await;
    let scheduled = metrics
        .lines()
        .find(|l| l.starts_with("brigade_recipe_node_scheduling_seconds_count"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok());
    // `second` waited for `first` (the child's node and `first` had nothing to wait for).
    assert!(scheduled.is_some_and(|n| n >= 1.0), "{metrics}");
}

#[tokio::test]
async fn seed_shape_runs_to_the_end_sqlite() {
    seed_shape_runs_to_the_end(Backend::Sqlite).await;
}

#[tokio::test]
async fn seed_shape_runs_to_the_end_postgres() {
    seed_shape_runs_to_the_end(Backend::Postgres).await;
}

// ---------------------------------------------------------------- fan-out / fan-in

async fn fan_out_and_in(backend: Backend) {
    let Some(mut f) = Fixture::new(backend).await else {
        return;
    };
    let add = f.job_type("add", &["n"], &["n"]).await;
    let names: Vec<String> = (0..50).map(|i| format!("v{i}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let sum = f.job_type("sum", &name_refs, &["n"]).await;
    f.worker(&add, add_one());
    f.worker(
        &sum,
        Arc::new(|_, p| {
            let o = p.as_object().ok_or("no parameters")?;
            if o.len() != 50 {
                return Err(format!("saw {} inputs", o.len()));
            }
            Ok(json!({"n": o.values().filter_map(Value::as_i64).sum::<i64>()}))
        }),
    );
    let mut nodes = serde_json::Map::new();
    nodes.insert("root".into(), job("add", json!([]), json!({"n": rin("n")})));
    let mut last_inputs = serde_json::Map::new();
    let mut last_deps = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let node = format!("mid{i}");
        nodes.insert(
            node.clone(),
            job("add", json!([{"name": "root"}]), json!({"n": dep("root", "n")})),
        );
        last_inputs.insert(name.clone(), dep(&node, "n"));
        last_deps.push(json!({"name": node}));
    }
    nodes.insert(
        "last".into(),
        job("sum", Value::Array(last_deps), Value::Object(last_inputs)),
    );
    let fan = f
        .recipe_type("Fan", json!({"version": "7", "input": n_input(), "nodes": nodes}))
        .await;
    let created = f.create(&fan, json!({"json": {"n": 0}})).await;
    let done = f.wait_for(created.id, rt::RecipeStatus::Completed).await;
    assert_eq!(done.counts.expect("counts").jobs_completed, 52);
    let jobs = f.jobs_by_node(&[&sum]).await;
    let last = &jobs[&(created.id.to_string(), "last".to_owned())];
    assert_eq!(last.len(), 1);
    // root makes 1, each middle node 2: the last node saw all fifty.
    assert_eq!(
        serde_json::from_str::<Value>(last[0].results_json.as_deref().unwrap_or("null")).ok(),
        Some(json!({"n": 100}))
    );
}

#[tokio::test]
async fn fan_out_and_in_sqlite() {
    fan_out_and_in(Backend::Sqlite).await;
}

#[tokio::test]
async fn fan_out_and_in_postgres() {
    fan_out_and_in(Backend::Postgres).await;
}

// ---------------------------------------------------------------- conditions

async fn conditions_honour_acceptance(backend: Backend) {
    let Some(mut f) = Fixture::new(backend).await else {
        return;
    };
    let add = f.job_type("add", &["n"], &["n"]).await;
    f.worker(&add, add_one());
    let branching = f
        .recipe_type(
            "Branching",
            json!({"version": "7", "input": n_input(), "nodes": {
                "a": job("add", json!([]), json!({"n": rin("n")})),
                "big": gate("a", 10),
                "yes": job("add", json!([{"name": "big", "acceptance": true}]), json!({"n": dep("big", "n")})),
                "no": job("add", json!([{"name": "big", "acceptance": false}]), json!({"n": dep("big", "n")})),
            }}),
        )
        .await;
    for (n, runs, blocked) in [(20, "yes", "no"), (1, "no", "yes")] {
        let created = f.create(&branching, json!({"json": {"n": n}})).await;
        let done = f.wait_for(created.id, rt::RecipeStatus::Completed).await;
        let d = details(&done);
        assert_eq!(d["nodes"]["big"]["node_type"]["is_processed"], true);
        assert_eq!(d["nodes"]["big"]["node_type"]["is_accepted"], json!(n > 10));
        assert_eq!(node_status(&done, runs), "COMPLETED", "n = {n}");
        assert_eq!(node_status(&done, blocked), "BLOCKED", "n = {n}");
        assert_eq!(d["nodes"][blocked]["node_type"]["job_id"], Value::Null);
    }
}

#[tokio::test]
async fn conditions_honour_acceptance_sqlite() {
    conditions_honour_acceptance(Backend::Sqlite).await;
}

#[tokio::test]
async fn conditions_honour_acceptance_postgres() {
    conditions_honour_acceptance(Backend::Postgres).await;
}

// ---------------------------------------------------------------- failure and retry

async fn failed_job_blocks_then_retry_completes(backend: Backend) {
    let Some(mut f) = Fixture::new(backend).await else {
        return;
    };
    let add = f.job_type("add", &["n"], &["n"]).await;
    let failed_once: Arc<Mutex<HashSet<String>>> = Arc::default();
    let seen = failed_once.clone();
    f.worker(
        &add,
        Arc::new(move |id, p| {
            let n = p["n"].as_i64().unwrap_or(0);
            // The node that gets 2 fails on its first attempt only.
            if n == 2 && seen.lock().expect("lock").insert(id.to_owned()) {
                return Err("instrument jammed".to_owned());
            }
            Ok(json!({"n": n + 1}))
        }),
    );
    let chain = f
        .recipe_type(
            "Chain",
            json!({"version": "7", "input": n_input(), "nodes": {
                "a": job("add", json!([]), json!({"n": rin("n")})),
                "b": job("add", json!([{"name": "a"}]), json!({"n": dep("a", "n")})),
                "c": job("add", json!([{"name": "b"}]), json!({"n": dep("b", "n")})),
            }}),
        )
        .await;
    let created = f.create(&chain, json!({"json": {"n": 1}})).await;
    let failed = f.wait_for(created.id, rt::RecipeStatus::Failed).await;
    assert_eq!(node_status(&failed, "a"), "COMPLETED");
    assert_eq!(node_status(&failed, "b"), "FAILED");
    assert_eq!(node_status(&failed, "c"), "BLOCKED");
    assert!(failed.completed.is_none());
    let b_job = details(&failed)["nodes"]["b"]["node_type"]["job_id"]
        .as_str()
        .expect("b's job")
        .to_owned();
    f.jq.retry_job(jq::RetryJobRequest { job_id: b_job })
        .await
        .expect("retry job");
    let done = f.wait_for(created.id, rt::RecipeStatus::Completed).await;
    assert_eq!(node_status(&done, "c"), "COMPLETED");
    assert_eq!(failed_once.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn failed_job_blocks_then_retry_completes_sqlite() {
    failed_job_blocks_then_retry_completes(Backend::Sqlite).await;
}

#[tokio::test]
async fn failed_job_blocks_then_retry_completes_postgres() {
    failed_job_blocks_then_retry_completes(Backend::Postgres).await;
}

// ---------------------------------------------------------------- reprocess

async fn reprocess_runs_only_the_forced_node_and_after(backend: Backend) {
    let Some(mut f) = Fixture::new(backend).await else {
        return;
    };
    let add = f.job_type("add", &["n"], &["n"]).await;
    f.worker(&add, add_one());
    let chain = f
        .recipe_type(
            "Chain",
            json!({"version": "7", "input": n_input(), "nodes": {
                "a": job("add", json!([]), json!({"n": rin("n")})),
                "b": job("add", json!([{"name": "a"}]), json!({"n": dep("a", "n")})),
                "c": job("add", json!([{"name": "b"}]), json!({"n": dep("b", "n")})),
            }}),
        )
        .await;
    let first = f.create(&chain, json!({"json": {"n": 1}})).await;
    let first_done = f.wait_for(first.id, rt::RecipeStatus::Completed).await;
    let again =
        f.rt.reprocess_recipe(rt::ReprocessRecipeRequest {
            id: first.id,
            forced_nodes: Some(rt::ForcedNodes {
                nodes: vec!["b".to_owned()],
                ..Default::default()
            }),
            revision_num: None,
        })
        .await
        .expect("reprocess")
        .into_inner()
        .recipe
        .expect("recipe");
    assert_eq!(again.superseded_recipe_id, Some(first.id));
    let done = f.wait_for(again.id, rt::RecipeStatus::Completed).await;
    let old =
        f.rt.get_recipe(rt::GetRecipeRequest { id: first.id })
            .await
            .expect("old")
            .into_inner()
            .recipe
            .expect("old");
    assert!(old.is_superseded && old.superseded.is_some());
    assert_eq!(old.superseded_by_recipe_id, Some(again.id));
    // a reused the old job; b and c ran again.
    let (was, now) = (details(&first_done), details(&done));
    assert_eq!(
        now["nodes"]["a"]["node_type"]["job_id"],
        was["nodes"]["a"]["node_type"]["job_id"]
    );
    assert_ne!(
        now["nodes"]["b"]["node_type"]["job_id"],
        was["nodes"]["b"]["node_type"]["job_id"]
    );
    let jobs = f.jobs_by_node(&[&add]).await;
    assert!(!jobs.contains_key(&(again.id.to_string(), "a".to_owned())));
    for node in ["b", "c"] {
        assert_eq!(jobs[&(again.id.to_string(), node.to_owned())].len(), 1, "{node}");
    }
    // A superseded recipe cannot be reprocessed again.
    let twice =
        f.rt.reprocess_recipe(rt::ReprocessRecipeRequest {
            id: first.id,
            ..Default::default()
        })
        .await
        .expect_err("already superseded");
    assert_eq!(twice.code(), tonic::Code::FailedPrecondition);
}

#[tokio::test]
async fn reprocess_runs_only_the_forced_node_and_after_sqlite() {
    reprocess_runs_only_the_forced_node_and_after(Backend::Sqlite).await;
}

#[tokio::test]
async fn reprocess_runs_only_the_forced_node_and_after_postgres() {
    reprocess_runs_only_the_forced_node_and_after(Backend::Postgres).await;
}

// ---------------------------------------------------------------- cancel and bad input

async fn cancel_stops_the_recipe_and_its_jobs(backend: Backend) {
    let Some(mut f) = Fixture::new(backend).await else {
        return;
    };
    // No worker: the first job stays queued.
    let add = f.job_type("add", &["n"], &["n"]).await;
    let chain = f
        .recipe_type(
            "Chain",
            json!({"version": "7", "input": n_input(), "nodes": {
                "a": job("add", json!([]), json!({"n": rin("n")})),
                "b": job("add", json!([{"name": "a"}]), json!({"n": dep("a", "n")})),
            }}),
        )
        .await;
    let created = f.create(&chain, json!({"json": {"n": 1}})).await;
    let queued = eventually(RECIPE_DEADLINE, "a's job id", || {
        let mut c = f.rt.clone();
        async move {
            let r = c
                .get_recipe(rt::GetRecipeRequest { id: created.id })
                .await
                .ok()?
                .into_inner()
                .recipe?;
            details(&r)["nodes"]["a"]["node_type"]["job_id"]
                .as_str()
                .map(str::to_owned)
        }
    })
    .await;
    let canceled =
        f.rt.cancel_recipe(rt::CancelRecipeRequest { id: created.id })
            .await
            .expect("cancel")
            .into_inner()
            .recipe
            .expect("recipe");
    assert_eq!(canceled.status(), rt::RecipeStatus::Canceled);
    eventually(RECIPE_DEADLINE, "a's job cancelled in job-queue", || {
        let mut c = f.jq.clone();
        let id = queued.clone();
        async move {
            let job = c.get_job(jq::GetJobRequest { id }).await.ok()?.into_inner().job?;
            job.cancelled.then_some(())
        }
    })
    .await;
    // job-queue's notices arrive in their own time; a's job ends CANCELED and b BLOCKED.
    let after = eventually(RECIPE_DEADLINE, "b blocked by the cancelled a", || {
        let mut c = f.rt.clone();
        async move {
            let r = c
                .get_recipe(rt::GetRecipeRequest { id: created.id })
                .await
                .ok()?
                .into_inner()
                .recipe?;
            (node_status(&r, "a") == "CANCELED" && node_status(&r, "b") == "BLOCKED").then_some(r)
        }
    })
    .await;
    assert_eq!(after.status(), rt::RecipeStatus::Canceled);
    assert!(after.completed.is_none());
    let missing =
        f.rt.cancel_recipe(rt::CancelRecipeRequest { id: 999_999 })
            .await
            .expect_err("no such recipe");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    assert_eq!(
        brigade_proto::ErrorReason::of(&missing),
        Some(brigade_proto::ErrorReason::RecipeNotFound)
    );
    drop(add);
}

#[tokio::test]
async fn cancel_stops_the_recipe_and_its_jobs_sqlite() {
    cancel_stops_the_recipe_and_its_jobs(Backend::Sqlite).await;
}

#[tokio::test]
async fn cancel_stops_the_recipe_and_its_jobs_postgres() {
    cancel_stops_the_recipe_and_its_jobs(Backend::Postgres).await;
}

#[tokio::test]
async fn bad_recipe_input_names_every_problem() {
    let Some(mut f) = Fixture::new(Backend::Sqlite).await else {
        return;
    };
    f.job_type("add", &["n"], &["n"]).await;
    let name = f
        .recipe_type(
            "Strict",
            json!({"version": "7", "input": {"files": [{"name": "image", "media_types": [], "required": true, "multiple": false}],
                   "json": [{"name": "n", "type": "integer", "required": true}]},
                   "nodes": {"a": job("add", json!([]), json!({"n": rin("n")}))}}),
        )
        .await;
    let err =
        f.rt.create_recipe(rt::CreateRecipeRequest {
            recipe_type_name: name.clone(),
            input_json: json!({"json": {"n": "three"}}).to_string(),
            ..Default::default()
        })
        .await
        .expect_err("bad input");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    use tonic_types::StatusExt as _;
    let violations: Vec<String> = err
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert!(violations.len() >= 2, "{violations:?}: {}", err.message());
    for bad in [json!("not an object").to_string(), "{".to_owned(), String::new()] {
        let err =
            f.rt.create_recipe(rt::CreateRecipeRequest {
                recipe_type_name: name.clone(),
                input_json: bad,
                ..Default::default()
            })
            .await
            .expect_err("bad input");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }
    let unknown =
        f.rt.create_recipe(rt::CreateRecipeRequest {
            recipe_type_name: "no-such-type".into(),
            input_json: "{}".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown type");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let missing =
        f.rt.get_recipe(rt::GetRecipeRequest { id: 12_345 })
            .await
            .expect_err("no recipe");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let bad_order =
        f.rt.list_recipes(rt::ListRecipesRequest {
            order: vec!["input".into()],
            ..Default::default()
        })
        .await
        .expect_err("bad order");
    assert_eq!(bad_order.code(), tonic::Code::InvalidArgument);
}

// ---------------------------------------------------------------- two replicas

#[tokio::test]
async fn two_replicas_run_fifty_recipes_with_no_node_run_twice() {
    let Some(mut f) = Fixture::new(Backend::Postgres).await else {
        return;
    };
    let add = f.job_type("add", &["n"], &["n"]).await;
    f.worker(&add, add_one());
    let chain = f
        .recipe_type(
            "Chain",
            json!({"version": "7", "input": n_input(), "nodes": {
                "a": job("add", json!([]), json!({"n": rin("n")})),
                "b": job("add", json!([{"name": "a"}]), json!({"n": dep("a", "n")})),
                "big": gate("b", 0),
                "c": job("add", json!([{"name": "big"}]), json!({"n": dep("big", "n")})),
            }}),
        )
        .await;
    let url = f.app.db.url.clone().expect("postgres url");
    let config = brigade_recipe_types::Config::local(
        "127.0.0.1:0".parse().expect("addr"),
        f.app.db.dir.path().to_path_buf(),
        Some(url),
        f.app.job_queue_url(),
    );
    let second = brigade_recipe_types::Application::build(config)
        .await
        .expect("second replica");
    let second_url = format!("http://{}", second.local_addr());
    let replica = tokio::spawn(second.run_until_stopped(std::future::pending()));
    let mut other = RecipeTypesClient::new(grpc_channel(second_url).await);
    let mut ids = Vec::new();
    for i in 0..50 {
        let client = if i % 2 == 0 { &mut f.rt } else { &mut other };
        ids.push(create_on(client, &chain, json!({"json": {"n": i}})).await.id);
    }
    for id in &ids {
        wait_on(&other, *id, rt::RecipeStatus::Completed).await;
    }
    let jobs = f.jobs_by_node(&[&add]).await;
    for id in &ids {
        for node in ["a", "b", "c"] {
            let n = jobs.get(&(id.to_string(), node.to_owned())).map_or(0, Vec::len);
            assert_eq!(n, 1, "recipe {id} node {node} has {n} jobs");
        }
    }
    assert_eq!(jobs.values().map(Vec::len).sum::<usize>(), 150);
    replica.abort();
}
