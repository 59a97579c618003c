//! The Scale v6 recipe-type surface through the real gateway, with job types
//! resolved from job-queue over gRPC.

use std::time::Duration;

use brigade_tests::{Backend, TestApp, eventually, read};
use serde_json::{Value, json};

fn file_schema(name: &str) -> Value {
    json!({
        "type": "object",
        "properties": {name: {"type": "string", "format": "uri", "contentMediaType": "image/png"}},
        "required": [name]
    })
}

/// A job type `name` 1.0.0 with one file input `input_file` and one file output `output_file`.
async fn job_type(app: &TestApp, name: &str) -> String {
    app.create_service(name, file_schema("input_file"), file_schema("output_file"))
        .await
}

fn job_node(job_type: &str, revision: i64, input: Value, deps: Value) -> Value {
    json!({
        "dependencies": deps,
        "input": input,
        "node_type": {"node_type": "job", "job_type_name": job_type, "job_type_version": "1.0.0", "job_type_revision": revision}
    })
}

fn one_job_definition(job_type: &str, revision: i64) -> Value {
    json!({
        "version": "7",
        "input": {"files": [{"name": "input_file", "media_types": ["image/png"], "required": true, "multiple": false}], "json": []},
        "nodes": {"node_a": job_node(job_type, revision, json!({"input_file": {"type": "recipe", "input": "input_file"}}), json!([]))}
    })
}

fn two_job_definition(job_type: &str) -> Value {
    let mut d = one_job_definition(job_type, 1);
    d["nodes"]["node_b"] = job_node(
        job_type,
        1,
        json!({"input_file": {"type": "dependency", "node": "node_a", "output": "output_file"}}),
        json!([{"name": "node_a", "acceptance": true}]),
    );
    d
}

fn error_names(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|x| x["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn recipe_type_flow(app: &TestApp) {
    job_type(app, "my-job").await;
    // Create.
    let r = app
        .http
        .post(app.url("/v6/recipe-types/"))
        .json(&json!({"title": "My Recipe", "description": "two steps", "definition": two_job_definition("my-job")}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"].to_str().unwrap_or_default(),
        app.url("/v6/recipe-types/my-recipe/")
    );
    let (_, created) = read(r).await;
    assert_eq!(created["name"], "my-recipe");
    assert_eq!(created["title"], "My Recipe");
    assert_eq!(created["revision_num"], 1);
    assert_eq!(created["is_active"], true);
    assert_eq!(created["is_system"], false);
    assert!(
        created["definition"].get("version").is_none(),
        "the shown definition has no version"
    );
    assert_eq!(
        created["definition"]["nodes"]["node_b"]["dependencies"][0]["acceptance"],
        true
    );
    assert_eq!(created["job_types"][0]["name"], "my-job");
    assert_eq!(created["job_types"][0]["version"], "1.0.0");
    assert_eq!(created["super_recipe_types"], json!([]));

    // List and detail.
    let (status, list) = app.get("/v6/recipe-types/").await;
    assert_eq!(status, 200);
    assert_eq!(list["count"], 1);
    assert_eq!(list["next"], Value::Null);
    assert_eq!(
        list["results"][0]["job_types"],
        json!([{"name": "my-job", "version": "1.0.0"}])
    );
    assert!(list["results"][0].get("definition").is_none());
    let (status, detail) = app.get("/v6/recipe-types/my-recipe/").await;
    assert_eq!(status, 200);
    assert_eq!(detail["definition"], created["definition"]);
    let (status, v7) = app.get("/v7/recipe-types/my-recipe/").await;
    assert_eq!(status, 200);
    assert_eq!(v7["name"], "my-recipe");

    // The same definition again makes no new revision.
    let (status, report) = app
        .patch(
            "/v6/recipe-types/my-recipe/",
            &json!({"definition": two_job_definition("my-job")}),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        json!({"is_valid": true, "errors": [], "warnings": [], "diff": {}})
    );
    assert_eq!(app.get("/v6/recipe-types/my-recipe/").await.1["revision_num"], 1);
    // A change does.
    let (status, _) = app
        .patch(
            "/v6/recipe-types/my-recipe/",
            &json!({"definition": one_job_definition("my-job", 1), "title": "Renamed", "description": "one"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, detail) = app.get("/v6/recipe-types/my-recipe/").await;
    assert_eq!(detail["revision_num"], 2);
    assert_eq!(detail["title"], "Renamed");
    assert_eq!(detail["name"], "my-recipe", "the name stays");
    assert!(detail["definition"]["nodes"].get("node_b").is_none());

    // Revisions.
    let (status, revs) = app.get("/v6/recipe-types/my-recipe/revisions/").await;
    assert_eq!(status, 200);
    assert_eq!(revs["count"], 2);
    assert_eq!(revs["results"][0]["revision_num"], 2, "newest first");
    assert_eq!(revs["results"][0]["recipe_type"]["name"], "my-recipe");
    let (status, rev1) = app.get("/v6/recipe-types/my-recipe/revisions/1/").await;
    assert_eq!(status, 200);
    assert!(rev1["definition"]["nodes"].get("node_b").is_some());
    assert_eq!(rev1["recipe_type"]["name"], "my-recipe");
    assert_eq!(app.get("/v6/recipe-types/my-recipe/revisions/9/").await.0, 404);
    let (status, short) = app.get("/v6/recipe-types/my-recipe/1/").await;
    assert_eq!(status, 200, "the documentation's shorter revision path");
    assert_eq!(short["definition"], rev1["definition"]);
    assert_eq!(app.get("/v6/recipe-types/nope/revisions/").await.0, 404);
    assert_eq!(
        app.get("/v6/recipe-types/nope/").await,
        (404, json!({"detail": "Not found."}))
    );
    assert_eq!(app.patch("/v6/recipe-types/nope/", &json!({"title": "x"})).await.0, 404);

    // Validation with a diff against the current revision.
    let (status, report) = app
        .post(
            "/v6/recipe-types/validation/",
            &json!({"name": "my-recipe", "definition": two_job_definition("my-job")}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["is_valid"], true, "{report}");
    assert_eq!(report["diff"]["can_be_reprocessed"], true);
    assert_eq!(report["diff"]["nodes"]["node_b"]["status"], "NEW");
    assert_eq!(report["diff"]["nodes"]["node_a"]["status"], "UNCHANGED");
    // A new required recipe input makes the recipe unreprocessable.
    let mut needs_more = one_job_definition("my-job", 1);
    needs_more["input"]["json"] = json!([{"name": "extra", "type": "integer", "required": true}]);
    let (_, report) = app
        .post(
            "/v6/recipe-types/validation/",
            &json!({"name": "my-recipe", "definition": needs_more}),
        )
        .await;
    assert_eq!(report["diff"]["can_be_reprocessed"], false);
    assert_eq!(report["warnings"][0]["name"], "REPROCESS_WARNING");
}

#[tokio::test]
async fn recipe_types_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    recipe_type_flow(&app).await;
}

#[tokio::test]
async fn recipe_types_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    recipe_type_flow(&app).await;
}

#[tokio::test]
async fn creation_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    job_type(&app, "j").await;
    let good = one_job_definition("j", 1);
    let cases = [
        (json!({"definition": good}), "Missing required parameter: \"title\""),
        (json!({"title": "A"}), "Missing required parameter: \"definition\""),
        (
            json!({"title": "A", "definition": [1]}),
            "Parameter must be a valid JSON object: \"definition\"",
        ),
        (
            json!({"title": "Validation", "definition": good}),
            "Unable to create recipe type named \"validation\"",
        ),
    ];
    for (body, detail) in cases {
        let (status, reply) = app.post("/v6/recipe-types/", &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(reply["detail"], detail);
    }
    let (status, reply) = app
        .post("/v6/recipe-types/", &json!({"title": "!!!", "definition": good}))
        .await;
    assert_eq!(status, 400, "{reply}");
    // Unknown job type, or an unknown revision of a known one.
    for def in [one_job_definition("ghost", 1), one_job_definition("j", 7)] {
        let (status, reply) = app
            .post("/v6/recipe-types/", &json!({"title": "B", "definition": def}))
            .await;
        assert_eq!(status, 400, "{reply}");
        assert!(reply["detail"].is_string());
    }
    // Duplicate names.
    assert_eq!(
        app.post("/v6/recipe-types/", &json!({"title": "Dup", "definition": good}))
            .await
            .0,
        201
    );
    let (status, reply) = app
        .post("/v6/recipe-types/", &json!({"title": "dup", "definition": good}))
        .await;
    assert_eq!(status, 400);
    assert!(
        reply["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Existing recipe types found for dup")
    );
    // Bad bodies.
    let r = app
        .http
        .post(app.url("/v6/recipe-types/"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let r = app
        .http
        .post(app.url("/v6/recipe-types/"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 415);
    // Methods.
    let r = app
        .http
        .get(app.url("/v6/recipe-types/validation/"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 405);
    let (_, body) = read(r).await;
    assert!(body["detail"].as_str().unwrap_or_default().contains("not allowed"));
}

#[tokio::test]
async fn validation_reports_every_error_by_name() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    job_type(&app, "j").await;
    let check = |definition: Value| {
        let app = &app;
        async move {
            let (status, report) = app
                .post("/v6/recipe-types/validation/", &json!({"definition": definition}))
                .await;
            assert_eq!(status, 200, "{report}");
            report
        }
    };
    let report = check(one_job_definition("j", 1)).await;
    assert_eq!(report["is_valid"], true, "{report}");
    assert_eq!(report["diff"], json!({}));
    assert_eq!(
        error_names(&check(one_job_definition("ghost", 1)).await),
        vec!["JOB_TYPE_DOES_NOT_EXIST"]
    );
    let report = check(json!({"version": "BAD"})).await;
    assert_eq!(error_names(&report), vec!["INVALID_DEFINITION"]);
    let mut cyclic = two_job_definition("j");
    cyclic["nodes"]["node_a"]["dependencies"] = json!([{"name": "node_b"}]);
    assert!(error_names(&check(cyclic).await).contains(&"CIRCULAR_DEPENDENCY".to_owned()));
    let mut unknown = one_job_definition("j", 1);
    unknown["nodes"]["node_a"]["dependencies"] = json!([{"name": "nowhere"}]);
    assert!(error_names(&check(unknown).await).contains(&"UNKNOWN_NODE".to_owned()));
    let mut extra = one_job_definition("j", 1);
    extra["surprise"] = json!(1);
    assert_eq!(error_names(&check(extra).await), vec!["INVALID_DEFINITION"]);
    // Missing definition is a parameter error, not a report.
    let (status, _) = app.post("/v6/recipe-types/validation/", &json!({"name": "x"})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn sub_recipes_auto_update_and_deprecation() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    job_type(&app, "j").await;
    assert_eq!(
        app.post(
            "/v6/recipe-types/",
            &json!({"title": "child", "definition": one_job_definition("j", 1)})
        )
        .await
        .0,
        201
    );
    let parent = |revision: i64| {
        json!({
            "input": {"files": [{"name": "input_file", "media_types": ["image/png"]}]},
            "nodes": {"sub": {"dependencies": [], "input": {"input_file": {"type": "recipe", "input": "input_file"}},
                               "node_type": {"node_type": "recipe", "recipe_type_name": "child", "recipe_type_revision": revision}}}
        })
    };
    let (status, created) = app
        .post(
            "/v6/recipe-types/",
            &json!({"title": "parent", "definition": parent(1)}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["sub_recipe_types"][0]["name"], "child");
    let (_, child) = app.get("/v6/recipe-types/child/").await;
    assert_eq!(child["super_recipe_types"][0]["name"], "parent");
    // A sub-recipe revision that does not exist.
    let (_, report) = app
        .post("/v6/recipe-types/validation/", &json!({"definition": parent(5)}))
        .await;
    assert_eq!(error_names(&report), vec!["RECIPE_TYPE_DOES_NOT_EXIST"]);
    // A recipe that would contain itself.
    let (status, reply) = app
        .patch("/v6/recipe-types/child/", &json!({"definition": parent(1)}))
        .await;
    assert_eq!(status, 400, "{reply}");
    // auto_update false leaves the parent alone; true moves it.
    let mut changed = one_job_definition("j", 1);
    changed["nodes"]["node_a"]["dependencies"] = json!([]);
    changed["input"]["json"] = json!([{"name": "note", "type": "string", "required": false}]);
    app.patch(
        "/v6/recipe-types/child/",
        &json!({"definition": changed, "auto_update": false}),
    )
    .await;
    let (_, p) = app.get("/v6/recipe-types/parent/").await;
    assert_eq!(p["revision_num"], 1);
    changed["input"]["json"] = json!([{"name": "note", "type": "string", "required": false}, {"name": "other", "type": "integer", "required": false}]);
    let (status, _) = app
        .patch("/v6/recipe-types/child/", &json!({"definition": changed}))
        .await;
    assert_eq!(status, 200);
    let (_, p) = app.get("/v6/recipe-types/parent/").await;
    assert_eq!(p["revision_num"], 2);
    assert_eq!(p["definition"]["nodes"]["sub"]["node_type"]["recipe_type_revision"], 3);
    // Deactivating the child deprecates the parent.
    let (status, report) = app.patch("/v6/recipe-types/child/", &json!({"is_active": false})).await;
    assert_eq!(status, 200);
    assert_eq!(report["warnings"][0]["name"], "DEPRECATED_RECIPES");
    let (_, p) = app.get("/v6/recipe-types/parent/").await;
    assert_eq!(p["is_active"], false);
    let (_, inactive) = app.get("/v6/recipe-types/?is_active=false").await;
    assert_eq!(inactive["count"], 2);
}

#[tokio::test]
async fn paging_filters_and_order() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    job_type(&app, "j").await;
    for title in ["Alpha", "beta", "Gamma ray"] {
        assert_eq!(
            app.post(
                "/v6/recipe-types/",
                &json!({"title": title, "definition": one_job_definition("j", 1)})
            )
            .await
            .0,
            201
        );
    }
    let (_, page1) = app.get("/v6/recipe-types/?page_size=2").await;
    assert_eq!(page1["count"], 3);
    assert_eq!(page1["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(page1["results"][0]["name"], "alpha");
    assert_eq!(page1["previous"], Value::Null);
    let next = page1["next"].as_str().expect("next").to_owned();
    assert!(next.starts_with(&app.base), "absolute: {next}");
    let (status, page2) = read(app.http.get(&next).send().await.expect("next")).await;
    assert_eq!(status, 200);
    assert_eq!(page2["results"][0]["name"], "gamma-ray");
    assert_eq!(page2["next"], Value::Null);
    assert!(page2["previous"].is_string());
    assert_eq!(
        app.get("/v6/recipe-types/?page=3&page_size=2").await,
        (404, json!({"detail": "Invalid page."}))
    );
    assert_eq!(app.get("/v6/recipe-types/?page=abc").await.0, 404);
    assert_eq!(
        app.get("/v6/recipe-types/?page=last&page_size=2").await.1["results"][0]["name"],
        "gamma-ray"
    );
    assert_eq!(
        app.get("/v6/recipe-types/?page_size=0").await.1["results"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let (_, desc) = app.get("/v6/recipe-types/?order=-name").await;
    assert_eq!(desc["results"][0]["name"], "gamma-ray");
    let (_, by_title) = app.get("/v6/recipe-types/?order=title").await;
    assert_eq!(by_title["results"][1]["name"], "beta", "case-insensitive");
    assert_eq!(app.get("/v6/recipe-types/?order=bogus").await.0, 400);
    assert_eq!(
        app.get("/v6/recipe-types/?order=").await.0,
        400,
        "an empty order names no field"
    );
    assert_eq!(app.get("/v6/recipes/?order=").await.0, 400, "nor on the recipe list");
    let (_, found) = app.get("/v6/recipe-types/?keyword=RAY&keyword=alp").await;
    assert_eq!(found["count"], 2);
    assert_eq!(app.get("/v6/recipe-types/?is_active=maybe").await.0, 400);
    let (_, empty) = app.get("/v6/recipe-types/?is_system=true").await;
    assert_eq!(
        empty,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
}

#[tokio::test]
async fn job_queue_down_is_503_not_a_wrong_answer() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    job_type(&app, "j").await;
    app.system_mut().job_queue.stop().await.expect("stop job-queue");
    let (status, body) = app
        .post(
            "/v6/recipe-types/validation/",
            &json!({"definition": one_job_definition("j", 1)}),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("job-queue"));
    let (status, _) = app
        .post(
            "/v6/recipe-types/",
            &json!({"title": "x", "definition": one_job_definition("j", 1)}),
        )
        .await;
    assert_eq!(status, 503);
}

async fn outbox_flow(mut app: TestApp) {
    let service = job_type(&app, "revised").await;
    assert_eq!(
        app.post(
            "/v6/recipe-types/",
            &json!({"title": "uses it", "definition": one_job_definition("revised", 1)})
        )
        .await
        .0,
        201
    );
    app.system_mut().recipe_types.stop().await.expect("stop recipe-types");
    // Revise the job type while recipe-types is down: an optional extra input keeps recipes valid.
    let mut registration = file_schema("input_file");
    registration["properties"]["note"] = json!({"type": "string"});
    let (status, body) = app
        .patch(
            &format!("/services/{service}"),
            &json!({"job_registration_schema": registration}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["revision"], 2);
    app.system_mut().restart_recipe_types().await.expect("restart");
    eventually(
        Duration::from_secs(30),
        "the recipe type to move to job type revision 2",
        || async {
            let (_, rt) = app.get("/v6/recipe-types/uses-it/").await;
            (rt["definition"]["nodes"]["node_a"]["node_type"]["job_type_revision"] == 2).then_some(())
        },
    )
    .await;
    let (_, rt) = app.get("/v6/recipe-types/uses-it/").await;
    assert_eq!(rt["revision_num"], 2);
}

#[tokio::test]
async fn job_type_revisions_reach_recipe_types_through_the_outbox() {
    outbox_flow(TestApp::spawn(Backend::Sqlite).await.expect("app")).await;
}

#[tokio::test]
async fn outbox_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    outbox_flow(app).await;
}

/// After a long outage of recipe-types a pending revision notice arrives
/// within a couple of seconds of its return, not after a grown backoff (which
/// after fifteen seconds down would have put the next try about eight seconds
/// later; the bound leaves room for a loaded CI machine).
#[tokio::test]
async fn a_revision_notice_arrives_promptly_after_a_long_outage() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let service = job_type(&app, "outage").await;
    assert_eq!(
        app.post(
            "/v6/recipe-types/",
            &json!({"title": "waits it out", "definition": one_job_definition("outage", 1)})
        )
        .await
        .0,
        201
    );
    app.system_mut().recipe_types.stop().await.expect("stop recipe-types");
    let mut registration = file_schema("input_file");
    registration["properties"]["note"] = json!({"type": "string"});
    let (status, body) = app
        .patch(
            &format!("/services/{service}"),
            &json!({"job_registration_schema": registration}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let down = std::time::Instant::now();
    eventually(Duration::from_secs(25), "fifteen seconds of outage", || async {
        (down.elapsed() >= Duration::from_secs(15)).then_some(())
    })
    .await;
    app.system_mut().restart_recipe_types().await.expect("restart");
    eventually(
        Duration::from_secs(5),
        "the notice within 5 s of recipe-types' return",
        || async {
            let (_, rt) = app.get("/v6/recipe-types/waits-it-out/").await;
            (rt["definition"]["nodes"]["node_a"]["node_type"]["job_type_revision"] == 2).then_some(())
        },
    )
    .await;
}
