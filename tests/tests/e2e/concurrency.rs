//! Two clients editing different fields of one resource at the same moment
//! must both see their change stick: no lost update, through the real gateway,
//! on SQLite and on PostgreSQL.
//!
//! Each round sends the two PATCHes concurrently, then reads the resource back
//! and requires both new values. Updates carry a row version, so a
//! read-modify-write that lost the race is retried instead of overwriting.

use brigade_tests::{Backend, TestApp};
use serde_json::{Value, json};

const ROUNDS: usize = 50;

/// A recipe type with one job node, on a job type made for it.
async fn recipe_type(app: &TestApp) -> String {
    app.create_service(
        "edited-job",
        json!({"type": "object", "properties": {"in_file": {"type": "string", "format": "uri"}}}),
        json!({"type": "object"}),
    )
    .await;
    let definition = json!({
        "input": {"files": [{"name": "in_file"}]},
        "nodes": {"a": {"dependencies": [], "input": {"in_file": {"type": "recipe", "input": "in_file"}},
                        "node_type": {"node_type": "job", "job_type_name": "edited-job",
                                      "job_type_version": "1.0.0", "job_type_revision": 1}}}
    });
    let (status, created) = app
        .post(
            "/v6/recipe-types/",
            &json!({"title": "Edited", "description": "start", "definition": definition}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["name"].as_str().expect("name").to_owned()
}

fn assert_success(status: u16, body: &Value, what: &str) {
    assert!((200..300).contains(&status), "{what}: {status} {body}");
}

async fn concurrent_recipe_type_patches_both_stick(app: &TestApp) {
    let name = recipe_type(app).await;
    let path = format!("/v6/recipe-types/{name}/");
    for round in 0..ROUNDS {
        let (title, description) = (format!("title {round}"), format!("description {round}"));
        let (one, other) = (json!({"title": title}), json!({"description": description}));
        let ((s1, b1), (s2, b2)) = tokio::join!(app.patch(&path, &one), app.patch(&path, &other));
        assert_success(s1, &b1, "PATCH title");
        assert_success(s2, &b2, "PATCH description");
        let (status, detail) = app.get(&path).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(
            (&detail["title"], &detail["description"]),
            (&json!(title), &json!(description)),
            "round {round}: one of two concurrent PATCHes of {path} was lost"
        );
    }
}

async fn concurrent_service_patches_both_stick(app: &TestApp) {
    let id = app
        .create_service("edited", json!({"type": "object"}), json!({"type": "object"}))
        .await;
    let path = format!("/services/{id}");
    for round in 0..ROUNDS {
        let description = format!("description {round}");
        let timeout = 100 + round;
        let (one, other) = (json!({"description": description}), json!({"timeout": timeout}));
        let ((s1, b1), (s2, b2)) = tokio::join!(app.patch(&path, &one), app.patch(&path, &other));
        assert_success(s1, &b1, "PATCH description");
        assert_success(s2, &b2, "PATCH timeout");
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (&body["data"]["description"], &body["data"]["timeout"]),
            (&json!(description), &json!(timeout)),
            "round {round}: one of two concurrent PATCHes of {path} was lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_recipe_type_patches_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    concurrent_recipe_type_patches_both_stick(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_recipe_type_patches_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    concurrent_recipe_type_patches_both_stick(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_service_patches_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    concurrent_service_patches_both_stick(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_service_patches_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    concurrent_service_patches_both_stick(&app).await;
}
