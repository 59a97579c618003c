//! Recipes through Scale's REST surface: queue with 201 and `Location`, the details
//! in Scale's shape, list filters and paging, a REST worker driving the recipe to
//! COMPLETED, the job's `recipe_id` and `recipe_node`, reprocess (202) and cancel.

use std::time::Duration;

use brigade_tests::{Backend, TestApp, eventually, read};
use serde_json::{Value, json};

use crate::recipes::{dep, integer_props, job, n_input, rin};

const DEADLINE: Duration = Duration::from_secs(60);

async fn recipe(app: &TestApp, id: i64) -> Value {
    let (status, body) = app.get(&format!("/v6/recipes/{id}/")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Saves a two-node chain (`a`, then `b` on `a`'s `n`, both on service `add`)
/// titled `title` over REST and queues a recipe of it with input `n`; answers
/// the recipe's id.
pub(crate) async fn queue_chain_of_two(app: &TestApp, title: &str, n: i64) -> i64 {
    let definition = json!({"version": "7", "input": n_input(), "nodes": {
        "a": job("add", json!([]), json!({"n": rin("n")})),
        "b": job("add", json!([{"name": "a"}]), json!({"n": dep("a", "n")})),
    }});
    let (status, created) = app
        .post("/v6/recipe-types/", &json!({"title": title, "definition": definition}))
        .await;
    assert_eq!(status, 201, "{created}");
    let name = created["name"].as_str().expect("name").to_owned();
    let (status, queued) = app
        .post(
            "/v6/recipes/",
            &json!({"recipe_type_name": name, "input": {"json": {"n": n}}}),
        )
        .await;
    assert_eq!(status, 201, "{queued}");
    queued["id"].as_i64().expect("recipe id")
}

/// Claims and completes one job of the service over REST, if one is waiting; `n` + 1.
pub(crate) async fn work_one(app: &TestApp, service: &str) -> bool {
    let (_, claimed) = app
        .post(
            &format!("/services/{service}/jobs/claim"),
            &json!({"worker_id": "rest"}),
        )
        .await;
    let Some(leased) = claimed["data"].as_array().and_then(|jobs| jobs.first()).cloned() else {
        return false;
    };
    let n = leased["parameters"]["n"].as_i64().expect("n");
    let (status, done) = app
        .post(
            &format!("/jobs/{}/complete", leased["id"].as_str().expect("id")),
            &json!({"lease_token": leased["lease_token"], "results": {"n": n + 1}}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    true
}

#[tokio::test]
async fn a_recipe_over_rest_from_queue_to_completed_then_reprocessed() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (status, created) = app
        .post(
            "/services",
            &json!({"name": "add", "description": "adds one", "job_registration_schema": integer_props(&["n"]),
                    "job_result_schema": integer_props(&["n"])}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let service = created["data"]["id"].as_str().expect("id").to_owned();
    let definition = json!({"version": "7", "input": n_input(), "nodes": {
        "a": job("add", json!([]), json!({"n": rin("n")})),
        "b": job("add", json!([{"name": "a"}]), json!({"n": dep("a", "n")})),
    }});
    let (status, recipe_type) = app
        .post(
            "/v6/recipe-types/",
            &json!({"title": "Add Twice", "definition": definition}),
        )
        .await;
    assert_eq!(status, 201, "{recipe_type}");
    let type_id = recipe_type["id"].as_i64().expect("type id");

    // Queue by name: 201, Location, the details in Scale's shape.
    let r = app
        .http
        .post(app.url("/v6/recipes/"))
        .json(&json!({"recipe_type_name": "add-twice", "input": {"json": {"n": 1}}}))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().expect("location").to_owned();
    let (_, queued) = read(r).await;
    let id = queued["id"].as_i64().expect("id");
    assert!(location.ends_with(&format!("/v6/recipes/{id}/")), "{location}");
    assert_eq!(queued["recipe_type"]["id"], type_id, "{queued}");
    assert_eq!(queued["recipe_type"]["name"], "add-twice");
    assert_eq!(queued["recipe_type_rev"]["recipe_type"]["id"], type_id);
    assert_eq!(queued["recipe_type_rev"]["revision_num"], 1);
    assert_eq!(queued["event"]["type"], "USER");
    assert_eq!(queued["recipe"], Value::Null);
    assert_eq!(queued["batch"], Value::Null);
    assert_eq!(queued["is_superseded"], false);
    assert_eq!(queued["superseded_by_recipe"], Value::Null);
    assert_eq!(queued["input"]["json"]["n"], 1, "{queued}");
    assert_eq!(queued["completed"], Value::Null);
    assert!(queued["details"]["nodes"]["a"].is_object(), "{queued}");
    assert!(
        queued["job_types"]
            .as_array()
            .is_some_and(|j| j.iter().any(|t| t["name"] == "add"))
    );
    for key in [
        "jobs_total",
        "jobs_pending",
        "jobs_completed",
        "sub_recipes_total",
        "created",
        "last_modified",
    ] {
        assert!(!queued[key].is_null(), "{key}: {queued}");
    }
    // The same by id under /v7/ without the slash.
    let (status, by_id) = app
        .post(
            "/v7/recipes",
            &json!({"recipe_type_id": type_id, "input": {"json": {"n": 10}}}),
        )
        .await;
    assert_eq!(status, 201, "{by_id}");
    let second = by_id["id"].as_i64().expect("id");

    // A REST worker runs every job; the recipes complete.
    eventually(DEADLINE, "both recipes completed", || async {
        while work_one(&app, &service).await {}
        let a = recipe(&app, id).await;
        let b = recipe(&app, second).await;
        (a["completed"].is_string() && b["completed"].is_string()).then_some(())
    })
    .await;
    let finished = recipe(&app, id).await;
    assert_eq!(finished["is_completed"], true, "{finished}");
    assert_eq!(finished["jobs_completed"], 2);
    let job_id = finished["details"]["nodes"]["b"]["node_type"]["job_id"]
        .as_str()
        .expect("b's job")
        .to_owned();
    let (_, job) = app.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(job["data"]["recipe_id"], id.to_string(), "{job}");
    assert_eq!(job["data"]["recipe_node"], "b");
    assert_eq!(job["data"]["parameters"]["n"], 2, "b received a's output (1 + 1)");

    // The list: Scale's page, filters.
    let (status, page) = app
        .get(&format!("/v6/recipes/?recipe_type_id={type_id}&page_size=1&order=id"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], 2);
    assert_eq!(page["results"][0]["id"], id);
    assert!(page["next"].as_str().is_some_and(|n| n.contains("page=2")), "{page}");
    let (_, only) = app.get(&format!("/v6/recipes/?recipe_id={second}")).await;
    assert_eq!(only["count"], 1);
    let (_, none) = app.get("/v6/recipes/?recipe_type_name=nothing-here").await;
    assert_eq!(none["count"], 0);
    let (_, completed) = app.get("/v6/recipes/?status=COMPLETED&is_completed=true").await;
    assert_eq!(completed["count"], 2, "{completed}");

    // Reprocess one node: 202 with the new recipe, which supersedes the old.
    let (status, again) = app
        .post(
            &format!("/v6/recipes/{id}/reprocess/"),
            &json!({"forced_nodes": {"all": false, "nodes": ["b"]}}),
        )
        .await;
    assert_eq!(status, 202, "{again}");
    let new_id = again["id"].as_i64().expect("new id");
    assert_ne!(new_id, id);
    assert_eq!(again["superseded_recipe"]["id"], id, "{again}");
    let old = recipe(&app, id).await;
    assert_eq!(old["is_superseded"], true, "{old}");
    assert_eq!(old["superseded_by_recipe"]["id"], new_id);
    let (_, superseded) = app.get("/v6/recipes/?is_superseded=true").await;
    assert_eq!(superseded["count"], 1);
    // Cancel the new one while its job waits.
    let (status, canceled) = app.post(&format!("/v6/recipes/{new_id}/cancel/"), &json!({})).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "CANCELED", "{canceled}");
    let (status, missing) = app.get("/v6/recipes/999999/").await;
    assert_eq!(status, 404);
    assert_eq!(missing["detail"], "Not found.");
}

/// A TopChef worker finishes a recipe's jobs with `PATCH /jobs/{id}` (WORKING,
/// then COMPLETED with results): each PATCH reaches recipe-types as a job
/// notice, and the recipe runs to COMPLETED with the results wired through.
#[tokio::test]
async fn topchef_patches_of_recipe_jobs_move_the_recipe_on() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (status, created) = app
        .post(
            "/services",
            &json!({"name": "add", "description": "adds one", "job_registration_schema": integer_props(&["n"]),
                    "job_result_schema": integer_props(&["n"])}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let service = created["data"]["id"].as_str().expect("id").to_owned();
    let id = queue_chain_of_two(&app, "Patched", 5).await;
    let seen = std::sync::Mutex::new(Vec::new());
    eventually(DEADLINE, "the recipe completed through TopChef PATCHes", || async {
        let (_, next) = app.get(&format!("/services/{service}/jobs/next")).await;
        if let Some(job) = next["data"]["id"].as_str() {
            let n = next["data"]["parameters"]["n"].as_i64().expect("n");
            seen.lock().expect("lock").push(n);
            let (status, body) = app.patch(&format!("/jobs/{job}"), &json!({"status": "WORKING"})).await;
            assert_eq!(status, 200, "{body}");
            let (status, body) = app
                .patch(
                    &format!("/jobs/{job}"),
                    &json!({"status": "COMPLETED", "results": {"n": n + 1}}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let details = recipe(&app, id).await;
        (details["completed"].is_string()).then_some(details)
    })
    .await;
    assert_eq!(*seen.lock().expect("lock"), vec![5, 6], "b got a's result as its input");
}
