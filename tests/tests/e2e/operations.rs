//! What operators rely on: metrics that move, request ids, and the gateway's
//! limits answering with their status and a clear body.

use std::time::Duration;

use brigade_tests::{Backend, TestApp, eventually, read};
use serde_json::json;

/// The value of the first sample line that starts with `prefix` (name and labels).
fn sample(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn scrape(app: &TestApp, url: String) -> String {
    let r = app.http.get(url).send().await.expect("scrape");
    assert_eq!(r.status(), 200);
    r.text().await.expect("text")
}

#[tokio::test]
async fn metrics_move_with_traffic() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let gateway_metrics = app.url("/metrics");
    let before = scrape(&app, gateway_metrics.clone()).await;
    let prefix = r#"brigade_http_requests_total{component="gateway",method="GET",route="/services",status="200"}"#;
    let before_count = sample(&before, prefix).unwrap_or(0.0);
    for _ in 0..3 {
        assert_eq!(app.get("/services").await.0, 200);
    }
    let after = scrape(&app, gateway_metrics.clone()).await;
    assert!(sample(&after, prefix).unwrap_or(0.0) >= before_count + 3.0, "{after}");
    assert!(after.contains("brigade_http_request_duration_seconds_bucket"));

    // job-queue: gRPC counters, queue depth for this service, jobs by status.
    let id = app.create_service("metered", json!({}), json!({})).await;
    for _ in 0..2 {
        app.post(&format!("/services/{id}/jobs"), &json!({"parameters": {}}))
            .await;
    }
    let jq = scrape(&app, format!("{}/metrics", app.job_queue_url())).await;
    assert_eq!(
        sample(
            &jq,
            &format!(r#"brigade_queue_depth{{service_id="{id}",service_name="metered","#)
        ),
        Some(2.0),
        "{jq}"
    );
    assert!(sample(&jq, r#"brigade_jobs{status="REGISTERED"}"#).unwrap_or(0.0) >= 2.0);
    assert!(
        sample(
            &jq,
            r#"brigade_grpc_requests_total{code="OK",component="job-queue",method="brigade.jobqueue.v1.JobQueue/SubmitJob"}"#
        )
        .unwrap_or(0.0)
            >= 2.0,
        "{jq}"
    );
    assert!(jq.contains("brigade_outbox_backlog"));
    assert!(jq.contains(r#"brigade_db_pool_connections{component="job-queue""#));
    // Lease expiries.
    let (_, claimed) = app
        .post(
            &format!("/services/{id}/jobs/claim"),
            &json!({"max_jobs": 1, "lease_seconds": 1}),
        )
        .await;
    assert_eq!(claimed["data"].as_array().map(Vec::len), Some(1));
    let expiries_before = sample(&jq, "brigade_lease_expiries_total").unwrap_or(0.0);
    eventually(Duration::from_secs(10), "a lease expiry to be counted", || async {
        let m = scrape(&app, format!("{}/metrics", app.job_queue_url())).await;
        (sample(&m, "brigade_lease_expiries_total").unwrap_or(0.0) > expiries_before).then_some(())
    })
    .await;
    // recipe-types serves metrics too.
    let rt = scrape(&app, format!("{}/metrics", app.recipe_types_url())).await;
    assert!(
        rt.contains(r#"brigade_db_pool_connections{component="recipe-types""#),
        "{rt}"
    );
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let r = app
        .http
        .get(app.url("/"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("get");
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = app.http.get(app.url("/jobs")).send().await.expect("get");
    let made = r.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let r = app.http.get(app.url("/nowhere")).send().await.expect("get");
    assert!(r.headers().contains_key("x-request-id"), "errors carry one too");
}

/// A gateway whose job-queue never answers: accepts connections, says nothing.
async fn gateway_with_silent_backend(timeout_ms: u64, max_concurrent: u32) -> (String, tokio::task::JoinHandle<()>) {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    let hole = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let mut config = brigade_gateway::Config::local(
        "127.0.0.1:0".parse().expect("addr"),
        format!("http://{silent_addr}"),
        format!("http://{silent_addr}"),
    );
    config.limits.request_timeout_ms = timeout_ms;
    config.limits.max_concurrent_requests = max_concurrent;
    config.limits.grpc_timeout_ms = 60_000;
    let gateway = brigade_gateway::Application::build(config).await.expect("gateway");
    let url = format!("http://{}", gateway.local_addr());
    tokio::spawn(async move {
        let _ = gateway.run_until_stopped(std::future::pending()).await;
    });
    (url, hole)
}

#[tokio::test]
async fn slow_requests_time_out_with_504() {
    let (url, _hole) = gateway_with_silent_backend(300, 100).await;
    let client = reqwest::Client::new();
    let (status, body) = read(client.get(format!("{url}/services")).send().await.expect("get")).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["errors"][0]["title"], "Gateway Timeout");
    let (status, body) = read(client.get(format!("{url}/v6/recipe-types/")).send().await.expect("get")).await;
    assert_eq!(status, 504);
    assert!(body["detail"].is_string());
}

#[tokio::test]
async fn load_is_shed_with_503_and_retry_after() {
    let (url, _hole) = gateway_with_silent_backend(5_000, 1).await;
    let client = reqwest::Client::new();
    let stuck = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .get(format!("{url}/services"))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let shed = eventually(Duration::from_secs(5), "a request to be shed", || async {
        let r = client.get(format!("{url}/jobs")).send().await.ok()?;
        (r.status() == 503).then_some(r)
    })
    .await;
    assert_eq!(shed.headers()["retry-after"], "1");
    let (_, body) = read(shed).await;
    assert_eq!(body["errors"][0]["title"], "Service Unavailable");
    assert_eq!(stuck.await.expect("join").expect("response"), 504);
}
