//! `RecipeClient` against a real Brigade: a two-node recipe queued, worked by
//! a `Worker`, watched to the end; bad input named; cancel.

mod common;

use std::time::Duration;

use brigade_client::{Error, HandlerError, Job, RecipeClient, RecipeStatus, ServiceDefinition};
use brigade_proto::recipetypes::v1 as pb;
use common::TestSystem;
use serde_json::{Value, json};

fn add_one() -> ServiceDefinition {
    let n = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
    ServiceDefinition::new("add-one", n.clone(), n)
}

fn node(deps: Value, input: Value) -> Value {
    json!({"dependencies": deps, "input": input, "node_type": {
        "node_type": "job", "job_type_name": "add-one", "job_type_version": "1.0.0", "job_type_revision": 1}})
}

async fn two_step_type(recipes_url: String) -> String {
    let mut raw = brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient::connect(recipes_url)
        .await
        .expect("connect recipe-types");
    let definition = json!({"version": "7",
    "input": {"files": [], "json": [{"name": "n", "type": "integer", "required": true}]},
    "nodes": {
        "first": node(json!([]), json!({"n": {"type": "recipe", "input": "n"}})),
        "second": node(json!([{"name": "first"}]), json!({"n": {"type": "dependency", "node": "first", "output": "n"}})),
    }});
    raw.create_recipe_type(pb::CreateRecipeTypeRequest {
        title: "Two steps".into(),
        description: None,
        definition_json: definition.to_string(),
    })
    .await
    .expect("recipe type")
    .into_inner()
    .recipe_type
    .expect("type")
    .summary
    .expect("summary")
    .name
}

async fn add(job: Job) -> Result<Value, HandlerError> {
    let n = job.parameters["n"]
        .as_i64()
        .ok_or_else(|| HandlerError::new("n must be an integer"))?;
    Ok(json!({"n": n + 1}))
}

#[tokio::test]
async fn a_recipe_runs_to_the_end_and_its_watch_says_so() {
    let system = TestSystem::start().await;
    let client = system.client().await;
    let service = client.register_service(&add_one()).await.expect("service");
    let recipes_url = system.system().recipe_types.url();
    let name = two_step_type(recipes_url.clone()).await;
    let recipes = RecipeClient::connect(recipes_url).await.expect("connect");
    let worker = client.worker(&service.id, add).build();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let recipe = recipes
        .create_recipe(&name, &json!({"json": {"n": 1}}))
        .await
        .expect("create");
    let done = recipes
        .wait_for_recipe(recipe.id, Duration::from_secs(60))
        .await
        .expect("finishes");
    assert_eq!(done.status(), RecipeStatus::Completed);
    let details: Value = serde_json::from_str(&done.details_json).expect("details");
    assert_eq!(details["nodes"]["second"]["node_type"]["status"], "COMPLETED");
    let _ = stop.send(());
    let _ = running.await;

    let bad = recipes.create_recipe(&name, &json!({"json": {"n": "one"}})).await;
    assert!(matches!(bad, Err(Error::InvalidArgument { .. })), "{bad:?}");
    assert!(matches!(recipes.get_recipe(987_654).await, Err(Error::NotFound(_))));

    // No worker now: the first job waits, and a cancel ends the recipe.
    let waiting = recipes
        .create_recipe(&name, &json!({"json": {"n": 1}}))
        .await
        .expect("create");
    let cancelled = recipes.cancel_recipe(waiting.id).await.expect("cancel");
    assert_eq!(cancelled.status(), RecipeStatus::Canceled);
    let ended = recipes
        .wait_for_recipe(waiting.id, Duration::from_secs(30))
        .await
        .expect("watch ends");
    assert_eq!(ended.status(), RecipeStatus::Canceled);
}
