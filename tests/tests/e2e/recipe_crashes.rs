//! Kill -9 mid-recipe, on PostgreSQL, with the real binaries: the recipes
//! finish and every node's job is created exactly once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_proto::recipetypes::v1 as rt;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use brigade_tests::{Backend, TestDatabase, eventually, try_grpc_channel};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tonic::transport::Channel;

use crate::recipes::{dep, integer_props, job, n_input, rin};

const NODES: usize = 6;
const RECIPES: i64 = 6;

fn binary(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/debug")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    l.local_addr().expect("addr").port()
}

struct Processes {
    db_url: String,
    data_dir: PathBuf,
    jq_port: u16,
    rt_port: u16,
    job_queue: Option<Child>,
    recipe_types: Option<Child>,
}

impl Processes {
    fn spawn_job_queue(&mut self) {
        self.job_queue = Some(
            Command::new(binary("brigade-job-queue"))
                .env("DATABASE_URL", &self.db_url)
                .env("BRIGADE_DATA_DIR", &self.data_dir)
                .env("BRIGADE_JOB_QUEUE_ADDR", format!("127.0.0.1:{}", self.jq_port))
                .env("BRIGADE_RECIPE_TYPES_URL", format!("http://127.0.0.1:{}", self.rt_port))
                .env("BRIGADE_REAPER_INTERVAL_MS", "100")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn job-queue"),
        );
    }

    fn spawn_recipe_types(&mut self) {
        self.recipe_types = Some(
            Command::new(binary("brigade-recipe-types"))
                .env("DATABASE_URL", &self.db_url)
                .env("BRIGADE_DATA_DIR", &self.data_dir)
                .env("BRIGADE_RECIPE_TYPES_ADDR", format!("127.0.0.1:{}", self.rt_port))
                .env("BRIGADE_JOB_QUEUE_URL", format!("http://127.0.0.1:{}", self.jq_port))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn recipe-types"),
        );
    }

    async fn kill_9(child: &mut Option<Child>) {
        if let Some(mut c) = child.take() {
            c.start_kill().expect("kill -9");
            let _ = c.wait().await;
        }
    }
}

async fn connect(port: u16) -> Channel {
    eventually(
        Duration::from_secs(30),
        "a server to accept connections",
        || async move { try_grpc_channel(format!("http://127.0.0.1:{port}")).await.ok() },
    )
    .await
}

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
    let mut p = Processes {
        db_url: db.url.clone().expect("url"),
        data_dir: db.dir.path().to_path_buf(),
        jq_port: free_port(),
        rt_port: free_port(),
        job_queue: None,
        recipe_types: None,
    };
    p.spawn_job_queue();
    p.spawn_recipe_types();
    let mut jqc = JobQueueClient::new(connect(p.jq_port).await);
    let rtc = RecipeTypesClient::new(connect(p.rt_port).await);
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
        Victim::JobQueue => {
            Processes::kill_9(&mut p.job_queue).await;
            p.spawn_job_queue();
        }
        Victim::RecipeTypes => {
            Processes::kill_9(&mut p.recipe_types).await;
            p.spawn_recipe_types();
        }
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
