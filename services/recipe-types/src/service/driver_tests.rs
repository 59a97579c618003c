//! The driver on a real SQLite file against a scripted job-queue: which jobs
//! it asks for, under which keys, and how notices, crashes between commit and
//! call, cancels and reprocesses move a recipe.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::definition::{JobTypeInterfaces, JobTypeKey, interface_from_schema};
use crate::domain::{NewRecipeType, Title};
use crate::engine::{JobStatus, RecipeStatus};
use crate::error::{Error, Result};
use crate::job_types::{JobTypeInfo, JobTypes};
use crate::jobs::{JobSubmission, Jobs};
use crate::recipe::NodeRowState;
use crate::repository::{Repository, SqliteRepository};
use crate::service::recipes::{JobNotice, NewRecipe, Recipes, TypeRef};
use crate::service::{Limits, RecipeTypes};

struct OneJobType;

#[async_trait]
impl JobTypes for OneJobType {
    async fn resolve(&self, keys: &[JobTypeKey]) -> Result<HashMap<JobTypeKey, Option<JobTypeInfo>>> {
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        Ok(keys
            .iter()
            .map(|k| {
                let info = (k.name == "add").then(|| JobTypeInfo {
                    interfaces: JobTypeInterfaces {
                        inputs: interface_from_schema(&schema),
                        outputs: interface_from_schema(&schema),
                    },
                    service_id: "svc-add".to_owned(),
                    description: String::new(),
                    latest_revision: 1,
                });
                (k.clone(), info)
            })
            .collect())
    }
}

/// job-queue as the driver sees it: jobs by idempotency key.
#[derive(Default)]
struct ScriptedQueue {
    jobs: Mutex<Vec<JobSubmission>>,
    cancelled: Mutex<Vec<String>>,
    /// Submits to fail before one succeeds (job-queue unreachable).
    failures: Mutex<usize>,
}

#[async_trait]
impl Jobs for ScriptedQueue {
    async fn submit(&self, job: &JobSubmission) -> Result<String> {
        {
            let mut failures = self.failures.lock().expect("lock");
            if *failures > 0 {
                *failures -= 1;
                return Err(Error::PeerUnavailable("down".to_owned()));
            }
        }
        let mut jobs = self.jobs.lock().expect("lock");
        let index = match jobs.iter().position(|j| j.idempotency_key == job.idempotency_key) {
            Some(i) => i,
            None => {
                jobs.push(job.clone());
                jobs.len() - 1
            }
        };
        Ok(format!("job-{index}"))
    }

    async fn cancel(&self, job_id: &str, _reason: &str) -> Result<()> {
        self.cancelled.lock().expect("lock").push(job_id.to_owned());
        Ok(())
    }
}

impl ScriptedQueue {
    fn submitted(&self) -> Vec<JobSubmission> {
        self.jobs.lock().expect("lock").clone()
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    recipes: Recipes,
    queue: Arc<ScriptedQueue>,
    versions: Mutex<i64>,
}

/// The driver on SQLite makes jobs after a step commits; `harness_in_step`
/// makes them inside the step, as on PostgreSQL.
async fn harness_in_step() -> Harness {
    harness_with(true).await
}

async fn harness_with(submit_in_step: bool) -> Harness {
    let dir = tempfile::tempdir().expect("dir");
    let pool = brigade_common::db::open_sqlite(&dir.path().join("rt.sqlite3"), 4)
        .await
        .expect("sqlite");
    let repo: Arc<dyn Repository> = Arc::new(SqliteRepository::new(pool));
    repo.migrate().await.expect("migrate");
    let types = Arc::new(RecipeTypes::new(repo.clone(), Arc::new(OneJobType), Limits::default()));
    let queue = Arc::new(ScriptedQueue::default());
    let chain = json!({"version": "7",
    "input": {"files": [], "json": [{"name": "n", "type": "integer", "required": true}]},
    "nodes": {
        "a": job(json!([]), json!({"n": {"type": "recipe", "input": "n"}})),
        "b": job(json!([{"name": "a"}]), json!({"n": {"type": "dependency", "node": "a", "output": "n"}})),
    }});
    types
        .create(NewRecipeType {
            title: Title::parse("Chain".to_owned()).expect("title"),
            description: None,
            definition: chain.to_string(),
        })
        .await
        .unwrap_or_else(|e| panic!("recipe type: {e:?}"));
    Harness {
        _dir: dir,
        recipes: Recipes::new(repo, types, queue.clone()).with_submit_in_step(submit_in_step),
        queue,
        versions: Mutex::new(0),
    }
}

fn job(deps: Value, input: Value) -> Value {
    json!({"dependencies": deps, "input": input, "node_type": {
        "node_type": "job", "job_type_name": "add", "job_type_version": "1.0.0", "job_type_revision": 1}})
}

impl Harness {
    async fn create(&self, n: i64) -> i64 {
        self.recipes
            .create(NewRecipe {
                recipe_type: TypeRef::Name("chain".to_owned()),
                revision_num: None,
                input: json!({"json": {"n": n}}),
                configuration: None,
            })
            .await
            .unwrap_or_else(|e| panic!("create: {e:?}"))
            .recipe
            .id
    }

    /// job-queue's notice for job `index`, with the next job version.
    async fn notify(&self, index: usize, status: JobStatus, results: Option<Value>) {
        let job = self.queue.submitted()[index].clone();
        let version = {
            let mut v = self.versions.lock().expect("lock");
            *v += 1;
            *v
        };
        self.recipes
            .job_status(JobNotice {
                notice_id: format!("notice-{version}"),
                job_id: format!("job-{index}"),
                recipe_id: job.recipe_id.parse().expect("recipe id"),
                recipe_node: job.recipe_node.clone(),
                status,
                results_json: results.map(|r| r.to_string()),
                job_version: version,
            })
            .await
            .expect("notice");
    }

    async fn status(&self, id: i64) -> RecipeStatus {
        self.recipes.view(id).await.expect("view").recipe.status
    }
}

#[tokio::test]
async fn each_node_becomes_one_job_keyed_by_recipe_node_and_generation() {
    for in_step in [false, true] {
        each_node_becomes_one_job_keyed_by_recipe_node_and_generation_with(in_step).await;
    }
}

async fn each_node_becomes_one_job_keyed_by_recipe_node_and_generation_with(in_step: bool) {
    let h = harness_with(in_step).await;
    let id = h.create(1).await;
    let jobs = h.queue.submitted();
    assert_eq!(jobs.len(), 1, "only the first node runs at first");
    assert_eq!(jobs[0].idempotency_key, format!("recipe:{id}:a:1"));
    assert_eq!(jobs[0].parameters_json, json!({"n": 1}).to_string());
    h.notify(0, JobStatus::Working, None).await;
    h.notify(0, JobStatus::Completed, Some(json!({"n": 2}))).await;
    let jobs = h.queue.submitted();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        (jobs[1].recipe_node.as_str(), jobs[1].parameters_json.as_str()),
        ("b", r#"{"n":2}"#)
    );
    // A repeated notice and a stale one change nothing.
    h.notify(1, JobStatus::Completed, Some(json!({"n": 3}))).await;
    assert_eq!(h.status(id).await, RecipeStatus::Completed);
    let stale = JobNotice {
        notice_id: "late".to_owned(),
        job_id: "job-1".to_owned(),
        recipe_id: id,
        recipe_node: "b".to_owned(),
        status: JobStatus::Working,
        results_json: None,
        job_version: 1,
    };
    h.recipes.job_status(stale).await.expect("stale notice");
    assert_eq!(h.status(id).await, RecipeStatus::Completed);
    assert_eq!(h.queue.submitted().len(), 2);
}

#[tokio::test]
async fn an_intent_left_by_an_unreachable_job_queue_is_retried_once() {
    for in_step in [false, true] {
        an_intent_left_by_an_unreachable_job_queue_is_retried_once_with(in_step).await;
    }
}

async fn an_intent_left_by_an_unreachable_job_queue_is_retried_once_with(in_step: bool) {
    let h = harness_with(in_step).await;
    *h.queue.failures.lock().expect("lock") = 1;
    let id = h.create(1).await;
    assert!(h.queue.submitted().is_empty());
    let view = h.recipes.view(id).await.expect("view");
    let details = serde_json::to_value(&view.details).expect("details");
    assert_eq!(details["nodes"]["a"]["node_type"]["status"], "QUEUED");
    assert_eq!(details["nodes"]["a"]["node_type"]["job_id"], Value::Null);
    // The background pass retries intents older than its grace period; step it by hand.
    let intents = h
        .recipes
        .repo
        .begin_read()
        .await
        .expect("tx")
        .unfinished_nodes(i64::MAX, 10)
        .await
        .expect("intents");
    assert_eq!(intents.len(), 1);
    h.recipes.submit_intents(&intents[..1]).await.expect("retry");
    h.recipes.submit_intents(&intents[..1]).await.expect("retry twice");
    assert_eq!(h.queue.submitted().len(), 1, "the key made one job");
    let details = serde_json::to_value(&h.recipes.view(id).await.expect("view").details).expect("details");
    assert_eq!(details["nodes"]["a"]["node_type"]["job_id"], "job-0");
}

#[tokio::test]
async fn a_failed_job_fails_the_recipe_until_its_retry_completes() {
    for in_step in [false, true] {
        a_failed_job_fails_the_recipe_until_its_retry_completes_with(in_step).await;
    }
}

async fn a_failed_job_fails_the_recipe_until_its_retry_completes_with(in_step: bool) {
    let h = harness_with(in_step).await;
    let id = h.create(1).await;
    h.notify(0, JobStatus::Error, None).await;
    assert_eq!(h.status(id).await, RecipeStatus::Failed);
    assert_eq!(h.queue.submitted().len(), 1);
    h.notify(0, JobStatus::Registered, None).await;
    assert_eq!(h.status(id).await, RecipeStatus::Running);
    h.notify(0, JobStatus::Completed, Some(json!({"n": 5}))).await;
    h.notify(1, JobStatus::Completed, Some(json!({"n": 6}))).await;
    assert_eq!(h.status(id).await, RecipeStatus::Completed);
}

#[tokio::test]
async fn cancel_cancels_queued_jobs_and_reprocess_reuses_finished_nodes() {
    for in_step in [false, true] {
        cancel_cancels_queued_jobs_and_reprocess_reuses_finished_nodes_with(in_step).await;
    }
}

async fn cancel_cancels_queued_jobs_and_reprocess_reuses_finished_nodes_with(in_step: bool) {
    let h = harness_with(in_step).await;
    let id = h.create(1).await;
    let view = h.recipes.cancel(id).await.expect("cancel");
    assert_eq!(view.recipe.status, RecipeStatus::Canceled);
    assert_eq!(*h.queue.cancelled.lock().expect("lock"), vec!["job-0".to_owned()]);

    let done = h.create(10).await;
    h.notify(1, JobStatus::Completed, Some(json!({"n": 11}))).await;
    h.notify(2, JobStatus::Completed, Some(json!({"n": 12}))).await;
    assert_eq!(h.status(done).await, RecipeStatus::Completed);
    let forced = crate::definition::ForcedNodes {
        nodes: ["b".to_owned()].into(),
        ..Default::default()
    };
    let again = h.recipes.reprocess(done, &forced, None).await.expect("reprocess");
    let jobs = h.queue.submitted();
    assert_eq!(jobs.len(), 4, "only b runs again");
    assert_eq!(jobs[3].idempotency_key, format!("recipe:{}:b:1", again.recipe.id));
    assert_eq!(jobs[3].parameters_json, r#"{"n":11}"#);
    let old = h.recipes.view(done).await.expect("old");
    assert!(old.recipe.is_superseded);
    assert_eq!(old.recipe.superseded_by_recipe_id, Some(again.recipe.id));
    assert!(matches!(
        h.recipes.reprocess(done, &forced, None).await,
        Err(Error::FailedPrecondition(_))
    ));
}

#[tokio::test]
async fn a_notice_is_applied_even_when_its_recipe_cannot_step() {
    let h = harness_with(false).await;
    let id = h.create(1).await;
    // A stored input that no longer reads makes every step of this recipe fail.
    let pool = brigade_common::db::open_sqlite(&h._dir.path().join("rt.sqlite3"), 1)
        .await
        .expect("sqlite");
    sqlx::query("UPDATE rt_recipes SET input = '[]' WHERE id = ?")
        .bind(id)
        .execute(&pool)
        .await
        .expect("break the input");
    h.notify(0, JobStatus::Working, None).await;
    assert_eq!(h.node_state(id, "a").await, Some(NodeRowState::Job(JobStatus::Working)));
}

impl Harness {
    /// Makes node `node`'s job in job-queue as a step whose commit was then
    /// lost would have: under its key, with no row for it here.
    async fn make_job_of_a_lost_step(&self, recipe_id: i64, node: &str, parameters: Value) -> String {
        self.queue
            .submit(&JobSubmission {
                service_id: "svc-add".to_owned(),
                parameters_json: parameters.to_string(),
                idempotency_key: crate::recipe::NodeRecord::job_key(recipe_id, node, 1),
                recipe_id: recipe_id.to_string(),
                recipe_node: node.to_owned(),
            })
            .await
            .expect("submit")
    }

    fn notice(&self, recipe_id: i64, node: &str, job_id: &str, status: JobStatus, results: Option<Value>) -> JobNotice {
        let version = {
            let mut v = self.versions.lock().expect("lock");
            *v += 1;
            *v
        };
        JobNotice {
            notice_id: format!("notice-{version}"),
            job_id: job_id.to_owned(),
            recipe_id,
            recipe_node: node.to_owned(),
            status,
            results_json: results.map(|r| r.to_string()),
            job_version: version,
        }
    }

    async fn node_state(&self, recipe_id: i64, node: &str) -> Option<NodeRowState> {
        let nodes = self
            .recipes
            .repo
            .begin_read()
            .await
            .expect("read")
            .nodes(recipe_id)
            .await
            .expect("nodes");
        nodes.into_iter().find(|n| n.node_name == node).map(|n| n.state)
    }
}

#[tokio::test]
async fn a_notice_of_a_job_made_by_a_lost_step_waits_for_that_step_taken_again() {
    let h = harness_in_step().await;
    let id = h.create(1).await;
    // The step on a's completion made b's job, then lost its commit: job-queue
    // has the job (and a worker claimed it), the recipe has no row for b.
    let b_job = h.make_job_of_a_lost_step(id, "b", json!({"n": 2})).await;
    let notices = vec![
        h.notice(id, "a", "job-0", JobStatus::Completed, Some(json!({"n": 2}))),
        h.notice(id, "b", &b_job, JobStatus::Working, None),
    ];
    h.recipes.job_status_batch(notices).await.expect("notices");
    assert_eq!(
        h.queue.submitted().len(),
        2,
        "the step taken again found b's job by its key"
    );
    assert_eq!(
        h.node_state(id, "b").await,
        Some(NodeRowState::Job(JobStatus::Working)),
        "b's notice applied after the step made its row"
    );
    let done = h.notice(id, "b", &b_job, JobStatus::Completed, Some(json!({"n": 3})));
    h.recipes.job_status(done).await.expect("notice");
    assert_eq!(h.status(id).await, RecipeStatus::Completed);
}

#[tokio::test]
async fn a_job_of_a_lost_step_heard_of_after_a_cancel_is_cancelled() {
    let h = harness_in_step().await;
    let id = h.create(1).await;
    let b_job = h.make_job_of_a_lost_step(id, "b", json!({"n": 2})).await;
    h.recipes.cancel(id).await.expect("cancel");
    let working = h.notice(id, "b", &b_job, JobStatus::Working, None);
    h.recipes.job_status(working).await.expect("notice");
    let cancelled = h.queue.cancelled.lock().expect("lock").clone();
    assert!(cancelled.contains(&b_job), "cancelled {cancelled:?}");
    assert_eq!(h.node_state(id, "b").await, None);
    assert_eq!(h.status(id).await, RecipeStatus::Canceled);
}

#[tokio::test]
async fn a_notice_of_another_job_does_not_take_a_node_over() {
    let h = harness_in_step().await;
    let id = h.create(1).await;
    // A job made by hand under the recipe's id and node a's name.
    let stranger = h
        .queue
        .submit(&JobSubmission {
            service_id: "svc-add".to_owned(),
            parameters_json: "{}".to_owned(),
            idempotency_key: "by-hand".to_owned(),
            recipe_id: id.to_string(),
            recipe_node: "a".to_owned(),
        })
        .await
        .expect("submit");
    let notice = h.notice(id, "a", &stranger, JobStatus::Completed, Some(json!({"n": 99})));
    h.recipes.job_status(notice).await.expect("notice");
    assert_eq!(
        h.node_state(id, "a").await,
        Some(NodeRowState::Job(JobStatus::Registered))
    );
    assert_eq!(
        h.queue.submitted().len(),
        2,
        "b did not start on the stranger's results"
    );
    h.notify(0, JobStatus::Completed, Some(json!({"n": 2}))).await;
    assert_eq!(h.queue.submitted().len(), 3, "a's own job moves the recipe on");
}
