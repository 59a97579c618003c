//! The TopChef surface through the real gateway, on SQLite and PostgreSQL.

use std::time::Duration;

use brigade_tests::{Backend, TestApp, eventually, read};
use serde_json::{Value, json};

fn registration() -> Value {
    json!({
        "type": "object",
        "properties": {"value": {"type": "integer"}, "label": {"type": "string"}},
        "required": ["value"]
    })
}

fn result_schema() -> Value {
    json!({"type": "object", "properties": {"r": {"type": "integer"}}, "required": ["r"]})
}

fn titles(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|x| x["title"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn service_and_job_flow(app: &TestApp) {
    let (status, root) = app.get("/").await;
    assert_eq!(status, 200);
    assert_eq!(root["links"]["self"], app.url("/"));
    assert_eq!(root["meta"]["schema"]["title"], "API Metadata");

    let response = app
        .http
        .post(app.url("/services"))
        .json(&json!({
            "name": "Svc", "description": "d",
            "job_registration_schema": registration(), "job_result_schema": result_schema()
        }))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().expect("location").to_owned();
    let (_, created) = read(response).await;
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    assert_eq!(location, app.url(&format!("/services/{id}")));
    assert_eq!(created["data"]["message"], "service successfully created");
    assert_eq!(created["links"]["self"], app.url("/services"));

    let (status, list) = app.get("/services").await;
    assert_eq!(status, 200);
    assert_eq!(list["data"], json!([{"description": "d", "id": id, "name": "Svc"}]));
    assert_eq!(list["meta"]["service_schema"]["title"], "Service overview schema");
    assert_eq!(list["meta"]["new_service_schema"]["title"], "New Service Schema");

    let (status, detail) = app.get(&format!("/services/{id}")).await;
    assert_eq!(status, 200);
    let d = &detail["data"];
    assert_eq!(d["version"], "1.0.0");
    assert_eq!(d["revision"], 1);
    assert_eq!(d["timeout"], 30);
    assert_eq!(d["is_service_available"], false);
    assert_eq!(d["has_timed_out"], false);
    assert_eq!(d["jobs"], json!([]));
    assert_eq!(d["job_registration_schema"], registration());
    assert_eq!(detail["meta"]["service_schema"]["title"], "Detailed Service Schema");

    // Empty queue: 204 without a body.
    let r = app
        .http
        .get(app.url(&format!("/services/{id}/queue")))
        .send()
        .await
        .expect("queue");
    assert_eq!(r.status(), 204);
    assert!(r.text().await.unwrap_or_default().is_empty());
    let r = app
        .http
        .get(app.url(&format!("/services/{id}/jobs/next")))
        .send()
        .await
        .expect("next");
    assert_eq!(r.status(), 204);

    // A job.
    let r = app
        .http
        .post(app.url(&format!("/services/{id}/jobs")))
        .json(&json!({"parameters": {"value": 1}}))
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 201);
    let job_location = r.headers()["location"].to_str().expect("location").to_owned();
    let (_, job) = read(r).await;
    let job_id = job["data"]["id"].as_str().expect("job id").to_owned();
    assert_eq!(job_location, app.url(&format!("/jobs/{job_id}")));
    assert_eq!(job["meta"], format!("new job ID is {job_id}"));
    assert_eq!(job["data"]["status"], "REGISTERED");
    assert_eq!(job["data"]["results"], Value::Null);
    assert_eq!(job["data"]["parameters"], json!({"value": 1}));
    assert!(job.get("links").is_none());

    // Invalid parameters: one error object per violation, nothing stored.
    let (status, body) = app
        .post(
            &format!("/services/{id}/jobs"),
            &json!({"parameters": {"value": "x", "label": 5}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(titles(&body), vec!["JSONSchema Validation Error"; 2]);
    let (status, body) = app.post(&format!("/services/{id}/jobs"), &json!({"nope": 1})).await;
    assert_eq!(status, 400);
    assert_eq!(titles(&body), vec!["Deserialization Error From Client Data"]);

    let (_, jobs) = app.get(&format!("/services/{id}/jobs")).await;
    assert_eq!(jobs["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        jobs["meta"]["new_job_schema"]["properties"]["parameters"],
        registration()
    );
    assert_eq!(jobs["meta"]["data_schema"]["title"], "Data Schema");

    let (status, queue) = app.get(&format!("/services/{id}/queue")).await;
    assert_eq!(status, 200);
    assert_eq!(queue["data"][0]["id"], job_id);
    assert_eq!(queue["meta"]["data_schema"]["title"], "Job List Schema");
    let (_, next) = app.get(&format!("/services/{id}/jobs/next")).await;
    assert_eq!(next["data"]["id"], job_id);
    assert_eq!(next["meta"]["job_schema"]["title"], "Job Schema");

    let (_, all) = app.get("/jobs").await;
    assert_eq!(all["data"][0]["id"], job_id);
    assert_eq!(all["meta"]["data_schema"]["title"], "Job Endpoint Schema");
    let (status, one) = app.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["links"]["self"], app.url(&format!("/jobs/{job_id}")));
    assert_eq!(one["meta"]["job_info_schema"]["title"], "Detailed Job Schema");
    assert!(one["meta"]["patch_request_schema"].is_object());

    // PATCH: status case-insensitive; results validated; bare job back.
    let (status, patched) = app
        .patch(&format!("/jobs/{job_id}"), &json!({"status": "working"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["status"], "WORKING");
    assert!(patched.get("data").is_none());
    let (status, body) = app
        .patch(
            &format!("/jobs/{job_id}"),
            &json!({"results": {"r": "no"}, "status": "COMPLETED"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(titles(&body), vec!["JSONSchema Validation Error"]);
    let (_, still) = app.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(still["data"]["status"], "WORKING", "a failed PATCH changes nothing");
    let (status, done) = app
        .patch(
            &format!("/jobs/{job_id}"),
            &json!({"results": {"r": 5}, "status": "COMPLETED"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        done,
        json!({
            "date_submitted": job["data"]["date_submitted"], "id": job_id,
            "parameters": {"value": 1}, "results": {"r": 5}, "status": "COMPLETED"
        })
    );
    let (status, _) = app.patch(&format!("/jobs/{job_id}"), &json!({"status": 5})).await;
    assert_eq!(status, 400);
    // Re-queueing by PATCH puts the job back in the queue.
    app.patch(&format!("/jobs/{job_id}"), &json!({"status": "REGISTERED"}))
        .await;
    let (_, next) = app.get(&format!("/services/{id}/jobs/next")).await;
    assert_eq!(next["data"]["id"], job_id);

    // Validator.
    let (status, v) = app.get("/validator").await;
    assert_eq!(status, 200);
    assert_eq!(v["meta"]["validator_schema"]["title"], "JSON Schema Validator");
    let (status, v) = app
        .post("/validator", &json!({"schema": registration(), "object": {"value": 2}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["data"]["status"], "Validation was successful");
    let (status, v) = app
        .post("/validator", &json!({"schema": registration(), "object": {}}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(titles(&v), vec!["JSONSchema Validation Error"]);
}

#[tokio::test]
async fn topchef_flow_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    service_and_job_flow(&app).await;
}

#[tokio::test]
async fn topchef_flow_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    service_and_job_flow(&app).await;
}

#[tokio::test]
async fn service_creation_rejects_bad_input() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    // Missing and wrong-typed fields: each reported.
    let (status, body) = app
        .post("/services", &json!({"name": 5, "job_result_schema": []}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(4), "{body}");
    assert!(
        titles(&body)
            .iter()
            .all(|t| t == "Deserialization Error From Client Data")
    );
    for e in body["errors"].as_array().into_iter().flatten() {
        assert_eq!(
            e.as_object().map(serde_json::Map::len),
            Some(3),
            "exactly detail, status_code, title"
        );
    }
    // A schema that is not a schema.
    let (status, body) = app
        .post("/services", &json!({"name": "a", "description": "d", "job_registration_schema": {"type": "bogus"}, "job_result_schema": {}}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("job_registration_schema")
    );
    // Remote $ref is refused, never fetched.
    let (status, _) = app
        .post("/services", &json!({"name": "a", "description": "d", "job_registration_schema": {"$ref": "http://127.0.0.1:9/x.json"}, "job_result_schema": {}}))
        .await;
    assert_eq!(status, 400);
    // Bad version and timeout.
    let base = json!({"name": "a", "description": "d", "job_registration_schema": {}, "job_result_schema": {}});
    for (key, value) in [
        ("version", json!("-bad version")),
        ("timeout", json!(0)),
        ("timeout", json!("7")),
        ("timeout", json!(2.5)),
    ] {
        let mut body = base.clone();
        body[key] = value.clone();
        let (status, reply) = app.post("/services", &body).await;
        assert_eq!(status, 400, "{key}={value}: {reply}");
    }
    // Not JSON, malformed, array, too deep, too large.
    let r = app
        .http
        .post(app.url("/services"))
        .body("name=x")
        .send()
        .await
        .expect("post");
    let (status, body) = read(r).await;
    assert_eq!(status, 400);
    assert_eq!(titles(&body), vec!["Request Not JSON"]);
    let r = app
        .http
        .post(app.url("/services"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("post");
    // TopChef answers a body with a non-JSON content type with its 400, never 415.
    let (status, body) = read(r).await;
    assert_eq!(status, 400);
    assert_eq!(titles(&body), vec!["Request Not JSON"]);
    let r = app
        .http
        .post(app.url("/services"))
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .expect("post");
    let (status, body) = read(r).await;
    assert_eq!(status, 400);
    assert_eq!(titles(&body), vec!["Request Not JSON"]);
    let (status, body) = app.post("/services", &json!([1, 2])).await;
    assert_eq!(status, 400, "{body}");
    let deep = format!("{}1{}", "[".repeat(500), "]".repeat(500));
    let r = app
        .http
        .post(app.url("/services"))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 << 20));
    let r = app
        .http
        .post(app.url("/services"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413);
    let r = app
        .http
        .post(app.url("/services"))
        .header("content-type", "application/json")
        .body(vec![b'"', 0xff, 0xfe, b'"'])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    // Nothing was created by any of that.
    let (_, list) = app.get("/services").await;
    assert_eq!(list["data"], json!([]));
    // Duplicate (name, version) is a conflict.
    app.create_service("dup", json!({}), json!({})).await;
    let (status, body) = app
        .post(
            "/services",
            &json!({"name": "dup", "description": "d", "job_registration_schema": {}, "job_result_schema": {}}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = app.post("/services", &json!({"name": "dup", "version": "2.0.0", "description": "d", "job_registration_schema": {}, "job_result_schema": {}})).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (status, body) = app.get("/services/not-a-uuid").await;
    assert_eq!(status, 404);
    assert_eq!(titles(&body), vec!["Not UUID Error"]);
    let missing = uuid::Uuid::new_v4();
    let (status, body) = app.get(&format!("/services/{missing}")).await;
    assert_eq!(status, 404);
    assert_eq!(titles(&body), vec!["Service Not Found"]);
    let (status, body) = app.get(&format!("/jobs/{missing}")).await;
    assert_eq!(status, 404);
    assert_eq!(titles(&body), vec!["Job Not Found"]);
    let (status, _) = app
        .post(&format!("/services/{missing}/jobs"), &json!({"parameters": {}}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .patch(&format!("/jobs/{missing}"), &json!({"status": "ERROR"}))
        .await;
    assert_eq!(status, 404);
    // Other UUID spellings reach the same service.
    let id = app.create_service("spell", json!({}), json!({})).await;
    let simple = id.replace('-', "").to_uppercase();
    let (status, body) = app.get(&format!("/services/{simple}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["id"], id);
}

#[tokio::test]
async fn patch_service_is_heartbeat_and_edit() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let id = app.create_service("hb", registration(), result_schema()).await;
    // Without JSON: a heartbeat.
    let r = app
        .http
        .patch(app.url(&format!("/services/{id}")))
        .send()
        .await
        .expect("patch");
    let (status, body) = read(r).await;
    assert_eq!(status, 200);
    assert!(
        body["meta"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Service checked in at "),
        "{body}"
    );
    assert!(body.get("data").is_none());
    // Timing out, then checking in again.
    let (status, _) = app.patch(&format!("/services/{id}"), &json!({"timeout": 1})).await;
    assert_eq!(status, 200);
    eventually(Duration::from_secs(5), "has_timed_out", || async {
        let (_, d) = app.get(&format!("/services/{id}")).await;
        (d["data"]["has_timed_out"] == true).then_some(())
    })
    .await;
    let (_, d) = app.get(&format!("/services/{id}")).await;
    assert_eq!(
        d["data"]["is_service_available"], false,
        "availability is a manual flag"
    );
    app.http
        .patch(app.url(&format!("/services/{id}")))
        .send()
        .await
        .expect("heartbeat");
    let (_, d) = app.get(&format!("/services/{id}")).await;
    assert_eq!(d["data"]["has_timed_out"], false);
    // Edits.
    let (status, d) = app
        .patch(
            &format!("/services/{id}"),
            &json!({"is_available": true, "description": "new", "name": "hb2", "timeout": 20, "unknown": 1}),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["data"]["name"], "hb2");
    assert_eq!(d["data"]["timeout"], 20);
    assert_eq!(d["data"]["is_service_available"], true);
    assert_eq!(d["links"]["self"], app.url(&format!("/services/{id}")));
    // A bad field changes nothing, not even the other fields.
    let (status, _) = app
        .patch(&format!("/services/{id}"), &json!({"name": "hb3", "timeout": 0}))
        .await;
    assert_eq!(status, 400);
    let (_, d) = app.get(&format!("/services/{id}")).await;
    assert_eq!(d["data"]["name"], "hb2");
    let r = app
        .http
        .patch(app.url(&format!("/services/{id}")))
        .header("content-type", "application/json")
        .body("{broken")
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 400);
    // Schema change makes revision 2; other edits do not.
    let (_, d) = app
        .patch(
            &format!("/services/{id}"),
            &json!({"job_result_schema": {"type": "object"}}),
        )
        .await;
    assert_eq!(d["data"]["revision"], 2);
    let (_, d) = app
        .patch(
            &format!("/services/{id}"),
            &json!({"job_result_schema": {"type": "object"}}),
        )
        .await;
    assert_eq!(d["data"]["revision"], 2, "same schema again is no new revision");
    // Rename onto an existing (name, version) is a conflict.
    app.create_service("taken", json!({}), json!({})).await;
    let (status, _) = app.patch(&format!("/services/{id}"), &json!({"name": "taken"})).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn queue_is_oldest_first_with_distinct_dates() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let id = app.create_service("q", json!({}), json!({})).await;
    let (_, first) = app
        .post(&format!("/services/{id}/jobs"), &json!({"parameters": {"n": 1}}))
        .await;
    // A second apart.
    let first_date = chrono::DateTime::parse_from_rfc3339(first["data"]["date_submitted"].as_str().unwrap_or_default())
        .expect("date_submitted is RFC 3339");
    eventually(Duration::from_secs(3), "a second to pass", || async {
        (chrono::Utc::now() > first_date + chrono::Duration::seconds(1)).then_some(())
    })
    .await;
    let (_, second) = app
        .post(&format!("/services/{id}/jobs"), &json!({"parameters": {"n": 2}}))
        .await;
    assert_ne!(first["data"]["date_submitted"], second["data"]["date_submitted"]);
    for _ in 0..11 {
        app.post(&format!("/services/{id}/jobs"), &json!({"parameters": {"n": 3}}))
            .await;
    }
    let (_, queue) = app.get(&format!("/services/{id}/queue")).await;
    let ids: Vec<&Value> = queue["data"]
        .as_array()
        .map(|a| a.iter().map(|j| &j["id"]).collect())
        .unwrap_or_default();
    assert_eq!(ids.len(), 10, "the queue shows ten");
    assert_eq!(ids[0], &first["data"]["id"]);
    assert_eq!(ids[1], &second["data"]["id"]);
    let (_, next) = app.get(&format!("/services/{id}/jobs/next")).await;
    assert_eq!(next["data"]["id"], first["data"]["id"]);
}

#[tokio::test]
async fn methods_options_head_and_override() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let r = app.http.delete(app.url("/services")).send().await.expect("delete");
    assert_eq!(r.status(), 405);
    let allow = r.headers()["allow"].to_str().unwrap_or_default().to_owned();
    assert!(
        allow.contains("GET") && allow.contains("POST") && allow.contains("OPTIONS"),
        "{allow}"
    );
    let (_, body) = read(r).await;
    assert_eq!(titles(&body), vec!["Method Not Implemented"]);
    let r = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/jobs"))
        .send()
        .await
        .expect("options");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["allow"].to_str().unwrap_or_default().contains("GET"));
    let r = app.http.head(app.url("/services")).send().await.expect("head");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap_or_default().is_empty());
    let r = app
        .http
        .post(app.url("/"))
        .json(&json!({}))
        .send()
        .await
        .expect("post /");
    assert_eq!(r.status(), 405);
    // X-HTTP-Method-Override: a POST that behaves as GET.
    let id = app.create_service("ovr", json!({}), json!({})).await;
    let r = app
        .http
        .post(app.url(&format!("/services/{id}/jobs")))
        .header("X-HTTP-Method-Override", "get")
        .json(&json!({"parameters": {}}))
        .send()
        .await
        .expect("override");
    let (status, body) = read(r).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!([]), "no job was created");
    // Trailing slash variants are not TopChef routes.
    assert_eq!(app.get("/services/").await.0, 404);
}

#[tokio::test]
async fn lists_page_when_asked() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let id = app.create_service("pages", json!({}), json!({})).await;
    for n in 0..5 {
        app.post(&format!("/services/{id}/jobs"), &json!({"parameters": {"n": n}}))
            .await;
    }
    let (status, page) = app.get("/jobs?page_size=2").await;
    assert_eq!(status, 200);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let mut seen = 2;
    let mut next = page["links"]["next"].as_str().map(str::to_owned);
    while let Some(url) = next {
        let r = app
            .http
            .get(format!("{url}&page_size=2"))
            .send()
            .await
            .expect("next page");
        let (status, page) = read(r).await;
        assert_eq!(status, 200, "{page}");
        seen += page["data"].as_array().map_or(0, Vec::len);
        next = page["links"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 5);
    let (_, whole) = app.get(&format!("/services/{id}/jobs")).await;
    assert_eq!(whole["data"].as_array().map(Vec::len), Some(5));
    assert!(whole["links"].get("next").is_none());
    assert_eq!(app.get("/jobs?page_size=0").await.0, 400);
    assert_eq!(app.get("/jobs?page_token=garbage").await.0, 400);
}

#[tokio::test]
async fn many_violations_are_a_bounded_400() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let id = app
        .create_service("strict", json!({"type": "object", "required": ["x"]}), json!({}))
        .await;
    let batch: Vec<Value> = (0..1000).map(|_| json!({})).collect();
    let (status, body) = app
        .post(&format!("/services/{id}/jobs/batch"), &json!({"parameters": batch}))
        .await;
    assert_eq!(status, 400, "{body}");
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    assert!(errors.len() > 1 && errors.len() < 1000, "bounded: {}", errors.len());
    assert!(errors.iter().all(|e| e["title"] == "JSONSchema Validation Error"));
    assert!(
        errors
            .last()
            .and_then(|e| e["detail"].as_str())
            .unwrap_or_default()
            .contains("more violations")
    );
    // The gateway's connection to job-queue is still fine.
    assert_eq!(app.get("/services").await.0, 200);
    let (_, jobs) = app.get(&format!("/services/{id}/jobs")).await;
    assert_eq!(jobs["data"], json!([]), "nothing was stored");
}

async fn nul_characters_are_client_errors(app: &TestApp) {
    let (status, body) = app
        .post(
            "/services",
            &json!({"name": "a\u{0}b", "description": "d", "job_registration_schema": {}, "job_result_schema": {}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let id = app.create_service("nul", json!({}), json!({})).await;
    let (_, job) = app
        .post(
            &format!("/services/{id}/jobs"),
            &json!({"parameters": {"k\u{0}": "v\u{0}"}}),
        )
        .await;
    let job_id = job["data"]["id"]
        .as_str()
        .expect("stored: NUL in JSON is escaped text")
        .to_owned();
    let (status, body) = app
        .post(&format!("/jobs/{job_id}/heartbeat"), &json!({"lease_token": "x\u{0}y"}))
        .await;
    assert!(status == 400, "{status} {body}");
    let (status, body) = app.get("/v6/recipe-types/?keyword=%00").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn nul_characters_sqlite() {
    nul_characters_are_client_errors(&TestApp::spawn(Backend::Sqlite).await.expect("app")).await;
}

#[tokio::test]
async fn nul_characters_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    nul_characters_are_client_errors(&app).await;
}

/// A remote `$ref` is never even attempted: a listener named by every such
/// reference sees no connection, on service creation, schema PATCH and the validator.
#[tokio::test]
async fn remote_refs_are_never_fetched() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    // A plain non-blocking socket: `accept` is one system call, answered at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let remote = format!("http://{}/schema.json", listener.local_addr().expect("addr"));
    let nested = json!({"type": "object", "properties": {"a": {"$ref": remote}}});
    let (status, _) = app
        .post(
            "/services",
            &json!({"name": "r", "description": "d", "job_registration_schema": {"$ref": remote}, "job_result_schema": {}}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .post(
            "/services",
            &json!({"name": "r", "description": "d", "job_registration_schema": nested, "job_result_schema": {}}),
        )
        .await;
    assert_eq!(status, 400);
    let id = app
        .create_service("refs", json!({"type": "object"}), json!({"type": "object"}))
        .await;
    let (status, _) = app
        .patch(&format!("/services/{id}"), &json!({"job_result_schema": nested}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .post("/validator", &json!({"schema": nested, "object": {"a": 1}}))
        .await;
    assert!((400..500).contains(&status), "the validator refuses it: {status}");
    // Every request above has been answered: a fetch would have connected by now.
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("something reached the remote $ref's address: {other:?}"),
    }
    // The check itself sees a connection when there is one.
    let _probe = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    eventually(Duration::from_secs(5), "the probe connection", || async {
        listener.accept().ok().map(|_| ())
    })
    .await;
}

/// Results are validated against the revision a job was submitted under: a
/// schema PATCH makes a new revision for new jobs and leaves queued ones alone.
#[tokio::test]
async fn jobs_are_validated_against_the_revision_they_were_submitted_under() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let needs = |key: &str| json!({"type": "object", "properties": {key: {"type": "integer"}}, "required": [key]});
    let id = app
        .create_service("revisions", json!({"type": "object"}), needs("a"))
        .await;
    let submit = || async {
        let (status, body) = app
            .post(&format!("/services/{id}/jobs"), &json!({"parameters": {}}))
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"]["id"].as_str().expect("job id").to_owned()
    };
    let old = submit().await;
    let (status, body) = app
        .patch(&format!("/services/{id}"), &json!({"job_result_schema": needs("b")}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["revision"], 2);
    let new = submit().await;
    let complete = |job: String, results: Value| {
        let app = &app;
        async move {
            app.patch(
                &format!("/jobs/{job}"),
                &json!({"results": results, "status": "COMPLETED"}),
            )
            .await
            .0
        }
    };
    assert_eq!(
        complete(new.clone(), json!({"a": 1})).await,
        400,
        "the new revision needs b"
    );
    assert_eq!(
        complete(old.clone(), json!({"b": 1})).await,
        400,
        "the old revision needs a"
    );
    assert_eq!(complete(old, json!({"a": 1})).await, 200);
    assert_eq!(complete(new, json!({"b": 1})).await, 200);
}
