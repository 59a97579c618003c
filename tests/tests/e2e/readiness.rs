//! Readiness tells the truth: with PostgreSQL unreachable (a TCP proxy the
//! test cuts, not the shared server), gRPC health and `/readyz` go NOT_SERVING
//! within a few seconds, calls fail fast with UNAVAILABLE / 503 instead of
//! waiting on the pool, and everything comes back by itself once the database
//! answers again.

use std::time::{Duration, Instant};

use brigade::{System, SystemConfig};
use brigade_tests::fault_proxy::FaultProxy;
use brigade_tests::{Backend, TestDatabase, grpc_channel};
use serde_json::{Value, json};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The test database's URL with its host and port replaced by the proxy's.
fn through(url: &str, proxy: std::net::SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("url has a scheme");
    let (authority, path) = rest.split_once('/').expect("url has a database");
    let user = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}{proxy}/{path}")
}

fn database_port(url: &str) -> std::net::SocketAddr {
    let rest = url.split_once("://").expect("scheme").1;
    let authority = rest.split_once('/').expect("path").0;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&host_port)
        .expect("resolvable database host")
        .next()
        .expect("an address")
}

async fn health(url: String) -> Option<ServingStatus> {
    let mut client = HealthClient::new(grpc_channel(url).await);
    let request = HealthCheckRequest { service: String::new() };
    tokio::time::timeout(Duration::from_secs(3), client.check(request))
        .await
        .ok()?
        .ok()
        .map(|r| r.into_inner().status())
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, Value, Option<String>) {
    let r = http.get(url).send().await.expect("gateway answers");
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body, retry_after)
}

#[tokio::test]
async fn readiness_follows_the_database_down_and_up() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let direct = db.url.clone().expect("a PostgreSQL url");
    let proxy = FaultProxy::start(database_port(&direct)).await.expect("proxy starts");
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let system = System::start(SystemConfig {
        gateway_addr: any,
        job_queue_addr: any,
        recipe_types_addr: any,
        database_url: Some(through(&direct, proxy.addr())),
        data_dir: db.dir.path().to_path_buf(),
    })
    .await
    .expect("system starts");
    let base = format!("http://{}", system.gateway.addr);
    let jq = system.job_queue.url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    assert_eq!(get(&http, &format!("{base}/readyz")).await.0, 200);
    let created = http
        .post(format!("{base}/services"))
        .json(&json!({"name": "ready", "description": "d", "job_registration_schema": {}, "job_result_schema": {}}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status().as_u16(), 201);

    proxy.cut();
    let cut_at = Instant::now();
    brigade_tests::eventually(Duration::from_secs(15), "job-queue health NOT_SERVING", || {
        let jq = jq.clone();
        async move { (health(jq).await == Some(ServingStatus::NotServing)).then_some(()) }
    })
    .await;
    let not_serving_after = cut_at.elapsed();
    brigade_tests::eventually(Duration::from_secs(15), "/readyz 503", || {
        let (http, url) = (http.clone(), format!("{base}/readyz"));
        async move { (get(&http, &url).await.0 == 503).then_some(()) }
    })
    .await;
    eprintln!("readiness: NOT_SERVING {not_serving_after:?} after the database became unreachable");

    // While it is down, calls fail fast (the pool would wait 10 s) and say why.
    let asked = Instant::now();
    let (status, body, _) = get(&http, &format!("{base}/services")).await;
    let took = asked.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(
        took < Duration::from_secs(5),
        "a call while the database is down took {took:?}"
    );
    let detail = body["errors"][0]["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("database is unavailable"), "{body}");

    proxy.restore();
    brigade_tests::eventually(Duration::from_secs(20), "job-queue health SERVING again", || {
        let jq = jq.clone();
        async move { (health(jq).await == Some(ServingStatus::Serving)).then_some(()) }
    })
    .await;
    brigade_tests::eventually(Duration::from_secs(20), "/services answers again", || {
        let (http, url) = (http.clone(), format!("{base}/services"));
        async move {
            let (status, body, _) = get(&http, &url).await;
            (status == 200 && body["data"].as_array().is_some_and(|d| d.len() == 1)).then_some(())
        }
    })
    .await;
    assert_eq!(get(&http, &format!("{base}/readyz")).await.0, 200);
    system.stop().await.expect("system stops");
}

/// A connection the server ends (a restart, `pg_terminate_backend`) fails
/// its next statement with SQLSTATE 57P01 or a closed socket: both services
/// answer that as UNAVAILABLE (retry), never as an internal error.
#[tokio::test]
async fn a_connection_the_server_ends_is_unavailable_not_internal() {
    use sqlx::Connection;
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let url = db.url.clone().expect("a PostgreSQL url");
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .expect("pid");
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("admin");
    let (ended,): (bool,) = sqlx::query_as("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .expect("terminate");
    assert!(ended);
    let err = sqlx::query("SELECT 1")
        .execute(&mut conn)
        .await
        .expect_err("ended connection");
    eprintln!("the ended connection answered: {err}");
    assert!(brigade_common::db::is_unavailable(&err), "{err:?}");
    assert!(matches!(
        brigade_job_queue::error::Error::from(err),
        brigade_job_queue::error::Error::DatabaseUnavailable
    ));
    let again = sqlx::query("SELECT 1")
        .execute(&mut conn)
        .await
        .expect_err("still ended");
    assert!(matches!(
        brigade_recipe_types::error::Error::from(again),
        brigade_recipe_types::error::Error::DatabaseUnavailable
    ));
}
