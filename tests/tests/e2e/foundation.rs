//! The three processes start on port 0, report health, and readiness follows
//! the services.

use std::time::Duration;

use brigade_tests::{Backend, TestApp, eventually};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn grpc_status(url: String, service: &str) -> Option<ServingStatus> {
    let channel = brigade_tests::try_grpc_channel(url).await.ok()?;
    let mut client = HealthClient::new(channel);
    let response = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .ok()?;
    Some(response.into_inner().status())
}

#[tokio::test]
async fn all_three_processes_report_serving() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    assert_eq!(
        grpc_status(app.job_queue_url(), "brigade.jobqueue.v1.JobQueue").await,
        Some(ServingStatus::Serving)
    );
    assert_eq!(
        grpc_status(app.recipe_types_url(), "brigade.recipetypes.v1.RecipeTypes").await,
        Some(ServingStatus::Serving)
    );
    assert_eq!(grpc_status(app.job_queue_url(), "").await, Some(ServingStatus::Serving));
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job_queue"], "SERVING");
    assert_eq!(body["recipe_types"], "SERVING");
}

#[tokio::test]
async fn readyz_turns_503_when_a_service_stops() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    assert_eq!(app.get("/readyz").await.0, 200);
    app.system_mut().recipe_types.stop().await.expect("stops");
    let body = eventually(Duration::from_secs(10), "readyz to report 503", || async {
        let (status, body) = app.get("/readyz").await;
        (status == 503).then_some(body)
    })
    .await;
    assert_eq!(body["recipe_types"], "NOT_SERVING");
    assert_eq!(body["job_queue"], "SERVING");
    // Liveness is about the gateway process only.
    assert_eq!(app.get("/healthz").await.0, 200);
    // And back again once it restarts.
    app.system_mut().restart_recipe_types().await.expect("restarts");
    eventually(Duration::from_secs(10), "readyz to recover", || async {
        (app.get("/readyz").await.0 == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn starts_on_postgres_too() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    assert_eq!(app.get("/readyz").await.0, 200);
    let (status, body) = app.get("/services").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], serde_json::json!([]));
}

#[tokio::test]
async fn unknown_routes_answer_json_404() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let (status, body) = app.get("/no/such/thing").await;
    assert_eq!(status, 404);
    assert_eq!(body["errors"][0]["title"], "Not Found");
    assert_eq!(body["errors"][0]["status_code"], 404);
    let (status, body) = app.get("/v6/nothing-here/").await;
    assert_eq!(status, 404);
    assert_eq!(body["detail"], "Not found.");
}
