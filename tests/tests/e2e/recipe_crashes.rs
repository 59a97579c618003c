//! Kill -9 mid-recipe, on PostgreSQL, with the real binaries: the recipes
//! finish and every node's job is created exactly once.

use std::collections::HashMap;
use std::time::Duration;

use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1 as rt;
use brigade_tests::processes::Processes;
use brigade_tests::{Backend, TestDatabase, eventually};
use serde_json::{Value, json};
use tonic::transport::Channel;

use crate::recipes::{dep, integer_props, job, n_input, rin};

const NODES: usize = 6;
const RECIPES: i64 = 6;

/// Claims and completes jobs (n + 1) until aborted, shrugging off a job-queue
/// that is down.
fn worker(mut client: JobQueueClient<Channel>, service_id: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let claimed = client
                .claim_jobs(jq::ClaimJobsRequest {
                    service_id: service_id.clone(),
                    // One at a time, so the kill lands mid-recipe.
                    max_jobs: 1,
                    worker_id: "crash-test".to_owned(),
                    ..Default::default()
                })
                .await
                .map(|r| r.into_inner().jobs)
                .unwrap_or_default();
            if claimed.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for leased in claimed {
                let Some(job) = leased.job else { continue };
                let params: Value = serde_json::from_str(&job.parameters_json).unwrap_or(Value::Null);
                let _ = client
                    .complete_job(jq::CompleteJobRequest {
                        job_id: job.id,
                        lease_token: leased.lease_token,
                        results_json: json!({"n": params["n"].as_i64().unwrap_or(0) + 1}).to_string(),
                    })
                    .await;
            }
        }
    })
}

/// Which process the test kills while the recipes run.
#[derive(Clone, Copy, Debug)]
enum Victim {
    JobQueue,
    RecipeTypes,
}

async fn recipes_survive_kill_9(victim: Victim) {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let mut p = Processes::new(&db);
    p.spawn_job_queue();
    p.spawn_recipe_types();
    let mut jqc = p.job_queue().await;
    let rtc = p.recipe_types().await;
    let service_id = jqc
        .create_service(jq::CreateServiceRequest {
            name: "add".into(),
            description: "adds one".into(),
            version: "1.0.0".into(),
            job_registration_schema_json: integer_props(&["n"]).to_string(),
            job_result_schema_json: integer_props(&["n"]).to_string(),
            lease_seconds: Some(2),
            max_attempts: Some(20),
            ..Default::default()
        })
        .await
        .expect("service")
        .into_inner()
        .service
        .expect("service")
        .id;
    let mut nodes = serde_json::Map::new();
    nodes.insert("n0".into(), job("add", json!([]), json!({"n": rin("n")})));
    for i in 1..NODES {
        let prev = format!("n{}", i - 1);
        nodes.insert(
            format!("n{i}"),
            job("add", json!([{"name": prev}]), json!({"n": dep(&prev, "n")})),
        );
    }
    let name = rtc
        .clone()
        .create_recipe_type(rt::CreateRecipeTypeRequest {
            title: "Long chain".into(),
            description: None,
            definition_json: json!({"version": "7", "input": n_input(), "nodes": nodes}).to_string(),
        })
        .await
        .expect("recipe type")
        .into_inner()
        .recipe_type
        .expect("type")
        .summary
        .expect("summary")
        .name;
    let w = worker(jqc.clone(), service_id.clone());
    let mut ids = Vec::new();
    for i in 0..RECIPES {
        let r = rtc
            .clone()
            .create_recipe(rt::CreateRecipeRequest {
                recipe_type_name: name.clone(),
                input_json: json!({"json": {"n": i}}).to_string(),
                ..Default::default()
            })
            .await
            .expect("create recipe")
            .into_inner()
            .recipe
            .expect("recipe");
        ids.push(r.id);
    }
    // Kill mid-recipe: once the first recipe has some, not all, jobs done.
    let first = ids[0];
    eventually(Duration::from_secs(60), "the first recipe under way", || {
        let mut c = rtc.clone();
        async move {
            let r = c
                .get_recipe(rt::GetRecipeRequest { id: first })
                .await
                .ok()?
                .into_inner()
                .recipe?;
            (r.counts?.jobs_completed >= 2).then_some(())
        }
    })
    .await;
    let last = *ids.last().expect("ids");
    let under_way = rtc
        .clone()
        .get_recipe(rt::GetRecipeRequest { id: last })
        .await
        .expect("last recipe")
        .into_inner()
        .recipe
        .expect("recipe");
    assert_eq!(
        under_way.status(),
        rt::RecipeStatus::Running,
        "the kill must land mid-recipe"
    );
    match victim {
        Victim::JobQueue => p.restart_job_queue_after_kill_9().await,
        Victim::RecipeTypes => p.restart_recipe_types_after_kill_9().await,
    }
    for id in &ids {
        let id = *id;
        eventually(
            Duration::from_secs(120),
            &format!("recipe {id} completed after {victim:?} was killed"),
            || {
                let mut c = rtc.clone();
                async move {
                    let r = c
                        .get_recipe(rt::GetRecipeRequest { id })
                        .await
                        .ok()?
                        .into_inner()
                        .recipe?;
                    (r.status() == rt::RecipeStatus::Completed).then_some(())
                }
            },
        )
        .await;
    }
    w.abort();
    // Every node's job exactly once, counted in job-queue's database.
    let pool = sqlx::PgPool::connect(&p.db_url).await.expect("connect");
    let rows: Vec<(Option<String>, Option<String>, i64)> = sqlx::query_as(
        "SELECT recipe_id, recipe_node, COUNT(*) FROM jq_jobs WHERE service_id::text = $1 GROUP BY recipe_id, recipe_node",
    )
    .bind(&service_id)
    .fetch_all(&pool)
    .await
    .expect("count jobs");
    let counts: HashMap<(String, String), i64> = rows
        .into_iter()
        .map(|(r, n, c)| ((r.unwrap_or_default(), n.unwrap_or_default()), c))
        .collect();
    for id in &ids {
        for i in 0..NODES {
            let key = (id.to_string(), format!("n{i}"));
            assert_eq!(counts.get(&key), Some(&1), "jobs of {key:?}");
        }
    }
    assert_eq!(counts.len(), ids.len() * NODES, "{counts:?}");
}

#[tokio::test]
async fn recipes_survive_kill_9_of_recipe_types() {
    recipes_survive_kill_9(Victim::RecipeTypes).await;
}

#[tokio::test]
async fn recipes_survive_kill_9_of_job_queue() {
    recipes_survive_kill_9(Victim::JobQueue).await;
}
