//! Brigade's `GET /services/{id}/stats` (counted by job-queue's `GetServiceStats`
//! in one grouped query) with numbers made by real submits, claims, completions
//! and failures on both databases, and the `service_id` filter of `GET /jobs`.

use brigade_tests::{Backend, TestApp};
use serde_json::{Value, json};

use crate::recipes::integer_props;

async fn stats(app: &TestApp, service: &str) -> Value {
    let (status, body) = app.get(&format!("/services/{service}/stats")).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

async fn submit(app: &TestApp, service: &str, body: Value) -> String {
    let (status, job) = app.post(&format!("/services/{service}/jobs"), &body).await;
    assert_eq!(status, 201, "{job}");
    job["data"]["id"].as_str().expect("id").to_owned()
}

async fn stats_count_real_jobs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let service = app
        .create_service("counted", integer_props(&["n"]), integer_props(&["n"]))
        .await;
    let other = app
        .create_service("other", integer_props(&["n"]), integer_props(&["n"]))
        .await;
    let empty = stats(&app, &service).await;
    assert_eq!(
        empty["counts"],
        json!({"REGISTERED": 0, "WORKING": 0, "COMPLETED": 0, "ERROR": 0})
    );
    assert_eq!(empty["paused"], false);
    assert_eq!(empty["max_concurrency"], Value::Null);

    // Five jobs, one not due for an hour; another service's job does not count.
    for n in 0..4 {
        submit(&app, &service, json!({"parameters": {"n": n}})).await;
    }
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    submit(&app, &service, json!({"parameters": {"n": 9}, "run_at": later})).await;
    submit(&app, &other, json!({"parameters": {"n": 0}})).await;
    let queued = stats(&app, &service).await;
    assert_eq!(queued["counts"]["REGISTERED"], 5, "{queued}");
    assert_eq!(
        (queued["due_now"].clone(), queued["due_later"].clone()),
        (json!(4), json!(1))
    );

    // Claim three, complete one, fail one for good.
    let (status, claimed) = app
        .post(
            &format!("/services/{service}/jobs/claim"),
            &json!({"max_jobs": 3, "worker_id": "w"}),
        )
        .await;
    assert_eq!(status, 200, "{claimed}");
    let leased = claimed["data"].as_array().expect("jobs").clone();
    assert_eq!(leased.len(), 3);
    let (status, done) = app
        .post(
            &format!("/jobs/{}/complete", leased[0]["id"].as_str().expect("id")),
            &json!({"lease_token": leased[0]["lease_token"], "results": {"n": 1}}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let (status, failed) = app
        .post(
            &format!("/jobs/{}/fail", leased[1]["id"].as_str().expect("id")),
            &json!({"lease_token": leased[1]["lease_token"], "error": "broken", "retry": false}),
        )
        .await;
    assert_eq!(status, 200, "{failed}");

    let now = stats(&app, &service).await;
    assert_eq!(
        now["counts"],
        json!({"REGISTERED": 2, "WORKING": 1, "COMPLETED": 1, "ERROR": 1}),
        "{now}"
    );
    assert_eq!(now["due_now"], 1, "{now}");
    assert_eq!(now["due_later"], 1, "{now}");
    assert_eq!(now["working"], 1, "{now}");
    assert_eq!(now["completed_last_minute"], 1, "{now}");
    assert_eq!(now["completed_last_hour"], 1, "{now}");
    assert_eq!(now["service_id"], service.as_str());
    // The claim checked the service in: its time is the service's own and not after `as_of`.
    let (_, detail) = app.get(&format!("/services/{service}")).await;
    let checked_in = now["last_checked_in"].as_str().expect("last check-in");
    let as_of = now["as_of"].as_str().expect("as_of");
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).expect("RFC 3339");
    assert!(parse(checked_in) <= parse(as_of), "{now}");
    assert!(
        parse(as_of) - parse(checked_in) < chrono::Duration::minutes(5),
        "the claim checked in: {now} {detail}"
    );
    assert_eq!(stats(&app, &other).await["counts"]["REGISTERED"], 1);

    // Pause and limit show.
    let (status, patched) = app
        .patch(
            &format!("/services/{service}"),
            &json!({"paused": true, "max_concurrency": 2}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let paused = stats(&app, &service).await;
    assert_eq!(
        (paused["paused"].clone(), paused["max_concurrency"].clone()),
        (json!(true), json!(2))
    );

    // Unknown and malformed ids: TopChef's 404 envelope.
    let (status, missing) = app.get(&format!("/services/{}/stats", uuid::Uuid::new_v4())).await;
    assert_eq!(status, 404, "{missing}");
    assert_eq!(missing["errors"][0]["status_code"], 404, "{missing}");
    let (status, not_uuid) = app.get("/services/not-a-uuid/stats").await;
    assert_eq!(status, 404, "{not_uuid}");
    assert!(not_uuid["errors"][0]["title"].is_string(), "{not_uuid}");
}

#[tokio::test]
async fn service_stats_count_real_jobs_sqlite() {
    stats_count_real_jobs(Backend::Sqlite).await;
}

#[tokio::test]
async fn service_stats_count_real_jobs_postgres() {
    stats_count_real_jobs(Backend::Postgres).await;
}

/// `GET /jobs?service_id=` lists one service's jobs with the other filters, keeps
/// the filter on `links.next`, and refuses a value that is not a UUID.
#[tokio::test]
async fn jobs_list_filters_by_service() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let a = app
        .create_service("a", integer_props(&["n"]), integer_props(&["n"]))
        .await;
    let b = app
        .create_service("b", integer_props(&["n"]), integer_props(&["n"]))
        .await;
    let mut mine = Vec::new();
    for n in 0..3 {
        mine.push(submit(&app, &a, json!({"parameters": {"n": n}})).await);
        submit(&app, &b, json!({"parameters": {"n": n}})).await;
    }
    let ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|j| j["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let (status, all) = app.get("/jobs").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(ids(&all).len(), 6);
    // Any spelling Python's UUID() accepts.
    let upper = a.to_uppercase();
    let (status, page) = app
        .get(&format!("/jobs?service_id={upper}&status=registered&page_size=2"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), mine[..2]);
    let next = page["links"]["next"].as_str().expect("next").to_owned();
    assert!(next.contains(&format!("service_id={a}")), "{next}");
    let path = next.trim_start_matches(&app.base).to_owned();
    let (_, rest) = app.get(&path).await;
    assert_eq!(ids(&rest), mine[2..]);
    let (_, none) = app.get(&format!("/jobs?service_id={a}&status=COMPLETED")).await;
    assert!(ids(&none).is_empty());
    let (status, bad) = app.get("/jobs?service_id=nope").await;
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["errors"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("service_id")),
        "{bad}"
    );
}
