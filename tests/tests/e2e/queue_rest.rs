//! The queue controls over REST, against the real job-queue: the names clients rely on
//! (`priority`, `run_at`, `idempotency_key`, `max_concurrency`, `paused`, `status`/`since`/
//! `until`), idempotent resubmits, retry, delete, bulk operations and progress.

use brigade_tests::{Backend, TestApp, read};
use serde_json::{Value, json};

fn ids(body: &Value) -> Vec<String> {
    (body["data"].as_array().into_iter().flatten())
        .filter_map(|j| j["id"].as_str().map(str::to_owned))
        .collect()
}

async fn claim(app: &TestApp, service: &str) -> Value {
    let (status, body) = app
        .post(&format!("/services/{service}/jobs/claim"), &json!({"worker_id": "w1"}))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn submit_controls_and_idempotent_resubmits() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let id = app.create_service("controls", json!({}), json!({})).await;
    let submit = format!("/services/{id}/jobs");
    let (status, low) = app.post(&submit, &json!({"parameters": {"n": 1}})).await;
    assert_eq!(status, 201, "{low}");
    let (status, high) = app
        .post(&submit, &json!({"parameters": {"n": 2}, "priority": 10}))
        .await;
    assert_eq!(status, 201);
    let (status, later) = app
        .post(
            &submit,
            &json!({"parameters": {"n": 3}, "priority": 99, "run_at": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 201);
    let later_id = later["data"]["id"].as_str().expect("id");
    let (_, detail) = app.get(&format!("/jobs/{later_id}")).await;
    assert_eq!(detail["data"]["priority"], 99, "{detail}");
    assert_eq!(detail["data"]["status"], "REGISTERED");
    assert!(
        detail["data"]["due_at"]
            .as_str()
            .is_some_and(|d| d.starts_with("2999-01-01")),
        "{detail}"
    );
    // Higher priority first; the job not yet due is not handed out.
    let first = claim(&app, &id).await;
    assert_eq!(first["data"][0]["id"], high["data"]["id"], "{first}");
    let second = claim(&app, &id).await;
    assert_eq!(second["data"][0]["id"], low["data"]["id"]);
    assert_eq!(claim(&app, &id).await["data"], json!([]), "run_at in the future");
    // The same key and body: 200 and the first job; another body under the key: 409.
    let keyed = json!({"parameters": {"n": 4}, "idempotency_key": "scan-17"});
    let (status, once) = app.post(&submit, &keyed).await;
    assert_eq!(status, 201, "{once}");
    let (status, again) = app.post(&submit, &keyed).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["id"], once["data"]["id"]);
    let (status, conflict) = app
        .post(&submit, &json!({"parameters": {"n": 5}, "idempotency_key": "scan-17"}))
        .await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["errors"][0]["title"], "Conflict");
    // Batches too.
    let batch = json!({"parameters": [{"b": 1}, {"b": 2}], "idempotency_key": "batch-1"});
    let (status, first) = app.post(&format!("/services/{id}/jobs/batch"), &batch).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = app.post(&format!("/services/{id}/jobs/batch"), &batch).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(ids(&again), ids(&first));
}

#[tokio::test]
async fn service_limits_and_pause_are_set_shown_and_cleared() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (status, created) = app
        .post(
            "/services",
            &json!({"name": "scope", "description": "one at a time", "job_registration_schema": {},
                    "job_result_schema": {}, "max_concurrency": 1, "paused": true}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let (_, service) = app.get(&format!("/services/{id}")).await;
    assert_eq!(service["data"]["max_concurrency"], 1, "{service}");
    assert_eq!(service["data"]["paused"], true);
    app.post(&format!("/services/{id}/jobs/batch"), &json!({"parameters": [{}, {}]}))
        .await;
    assert_eq!(claim(&app, &id).await["data"], json!([]), "paused: no claims");
    let (status, patched) = app.patch(&format!("/services/{id}"), &json!({"paused": false})).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["paused"], false);
    assert_eq!(patched["data"]["max_concurrency"], 1, "left out: unchanged");
    assert_eq!(claim(&app, &id).await["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(claim(&app, &id).await["data"], json!([]), "limited to one WORKING");
    let (_, patched) = app
        .patch(&format!("/services/{id}"), &json!({"max_concurrency": null}))
        .await;
    assert_eq!(
        patched["data"]["max_concurrency"],
        Value::Null,
        "null removes the limit"
    );
    assert_eq!(claim(&app, &id).await["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn filters_retry_delete_bulk_and_progress() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let id = app.create_service("ops", json!({}), json!({})).await;
    let (_, batch) = app
        .post(
            &format!("/services/{id}/jobs/batch"),
            &json!({"parameters": [{}, {}, {}]}),
        )
        .await;
    let jobs = ids(&batch);
    let leased = claim(&app, &id).await;
    let job = leased["data"][0]["id"].as_str().expect("id").to_owned();
    let token = leased["data"][0]["lease_token"].as_str().expect("token").to_owned();
    // Progress with the heartbeat shows on the job.
    let (status, beat) = app
        .post(
            &format!("/jobs/{job}/heartbeat"),
            &json!({"lease_token": token, "progress": 40, "progress_message": "focusing"}),
        )
        .await;
    assert_eq!(status, 200, "{beat}");
    assert_eq!(beat["data"]["cancelled"], false);
    let (_, detail) = app.get(&format!("/jobs/{job}")).await;
    assert_eq!(detail["data"]["progress"], 40, "{detail}");
    assert_eq!(detail["data"]["progress_message"], "focusing");
    assert_eq!(detail["data"]["attempt_history"][0]["worker_id"], "w1", "{detail}");
    // Status filters on every job list, the embedded one too.
    let (_, working) = app.get(&format!("/services/{id}/jobs?status=working")).await;
    assert_eq!(ids(&working), vec![job.clone()]);
    let (_, registered) = app.get("/jobs?status=REGISTERED").await;
    assert_eq!(ids(&registered).len(), 2);
    let (_, service) = app.get(&format!("/services/{id}?status=WORKING")).await;
    assert_eq!(service["data"]["jobs"].as_array().map(Vec::len), Some(1), "{service}");
    let (_, none) = app.get("/jobs?since=2999-01-01T00:00:00Z").await;
    assert_eq!(ids(&none), Vec::<String>::new());
    let (_, all) = app.get("/jobs?until=2999-01-01T00:00:00Z").await;
    assert_eq!(ids(&all), jobs);
    // A running job cannot be deleted; bulk cancel ends the rest with a reason.
    let r = app
        .http
        .delete(app.url(&format!("/jobs/{job}")))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 400);
    let (status, cancelled) = app
        .post(
            &format!("/services/{id}/jobs/cancel"),
            &json!({"status": ["REGISTERED", "WORKING"], "reason": "instrument down"}),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["data"]["count"], 3);
    let (_, detail) = app.get(&format!("/jobs/{job}")).await;
    assert_eq!(detail["data"]["cancel_reason"], "instrument down", "{detail}");
    // Retry one, then the rest in bulk.
    let (status, retried) = app.post(&format!("/jobs/{job}/retry"), &json!({})).await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(retried["data"]["status"], "REGISTERED");
    let (status, bulk) = app
        .post(&format!("/services/{id}/jobs/retry"), &json!({"status": "ERROR"}))
        .await;
    assert_eq!(status, 200, "{bulk}");
    assert_eq!(bulk["data"]["count"], 2);
    // Delete a finished job.
    app.post(&format!("/services/{id}/jobs/cancel"), &json!({"status": "REGISTERED"}))
        .await;
    let r = app
        .http
        .delete(app.url(&format!("/jobs/{job}")))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 204);
    let (status, _) = read(
        app.http
            .get(app.url(&format!("/jobs/{job}")))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(status, 404);
}
