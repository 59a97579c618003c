//! The real binaries: a bad configuration value fails fast naming the variable,
//! and SIGTERM drains in-flight calls before a clean exit.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_tests::{DEADLINE, eventually, output_within};
use tokio::process::Command;
use tokio_stream::StreamExt;

fn binary(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/debug")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

#[tokio::test]
async fn bad_configuration_values_fail_fast_naming_the_variable() {
    let cases = [
        ("brigade-job-queue", "BRIGADE_REAPER_INTERVAL_MS", "fast"),
        ("brigade-job-queue", "BRIGADE_JOB_QUEUE_ADDR", "not-an-address"),
        ("brigade-job-queue", "DATABASE_URL", "mysql://x/y"),
        ("brigade-recipe-types", "BRIGADE_JOB_QUEUE_URL", "ftp://nowhere"),
        ("brigade-gateway", "BRIGADE_MAX_BODY_BYTES", "12"),
        ("brigade", "DATABASE_URL", "oracle://db"),
    ];
    for (bin, variable, value) in cases {
        let output = output_within(
            Command::new(binary(bin))
                .env(variable, value)
                .env("BRIGADE_DATA_DIR", std::env::temp_dir().join("brigade-never-used"))
                .stdin(Stdio::null()),
            DEADLINE,
            &format!("{bin} {variable}={value}"),
        )
        .await;
        assert!(!output.status.success(), "{bin} {variable}={value} must fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(variable), "{bin} {variable}={value}: {stderr}");
    }
}

#[tokio::test]
async fn sigterm_drains_in_flight_calls_and_exits_zero() {
    let dir = tempfile::tempdir().expect("dir");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let mut child = tokio::process::Command::new(binary("brigade-job-queue"))
        .env("BRIGADE_JOB_QUEUE_ADDR", format!("127.0.0.1:{port}"))
        .env("BRIGADE_DATA_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let url = format!("http://127.0.0.1:{port}");
    let mut client = eventually(Duration::from_secs(20), "job-queue to accept connections", || {
        let url = url.clone();
        async move { brigade_tests::try_grpc_channel(url).await.ok().map(JobQueueClient::new) }
    })
    .await;
    let service = client
        .create_service(pb::CreateServiceRequest {
            name: "drain".into(),
            description: "d".into(),
            job_registration_schema_json: "{}".into(),
            job_result_schema_json: "{}".into(),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner()
        .service
        .expect("service");
    // An in-flight call: a watch stream that is open when the signal arrives.
    let mut stream = client
        .watch_queue(pb::WatchQueueRequest {
            service_id: service.id.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    let pid = child.id().expect("pid");
    let kill = output_within(
        Command::new("kill").args(["-TERM", &pid.to_string()]),
        DEADLINE,
        "kill -TERM",
    )
    .await;
    assert!(kill.status.success());
    // The stream ends cleanly (no transport error), and the process exits 0.
    let end = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("stream ends in time");
    assert!(end.is_none(), "stream closed cleanly: {end:?}");
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits in time")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn migrate_only_applies_migrations_and_exits() {
    for (bin, table) in [
        ("brigade-job-queue", "jq_jobs"),
        ("brigade-recipe-types", "rt_recipe_types"),
    ] {
        // SQLite: twice in a row, both succeed and the file holds the tables.
        let db = brigade_tests::TestDatabase::new(brigade_tests::Backend::Sqlite)
            .await
            .expect("sqlite");
        for _ in 0..2 {
            let out = output_within(
                Command::new(binary(bin))
                    .arg("--migrate-only")
                    .env("BRIGADE_DATA_DIR", db.dir.path())
                    .env_remove("DATABASE_URL"),
                DEADLINE,
                &format!("{bin} --migrate-only on SQLite"),
            )
            .await;
            assert!(out.status.success(), "{bin} --migrate-only on SQLite: {out:?}");
        }
        assert!(
            std::fs::read_dir(db.dir.path()).expect("dir").count() > 0,
            "{bin} made its SQLite file"
        );
        // PostgreSQL: the tables exist afterwards.
        let Some(pg) = brigade_tests::TestDatabase::new(brigade_tests::Backend::Postgres).await else {
            continue;
        };
        let url = pg.url.clone().expect("url");
        let out = output_within(
            Command::new(binary(bin))
                .arg("--migrate-only")
                .env("DATABASE_URL", &url),
            DEADLINE,
            &format!("{bin} --migrate-only on PostgreSQL"),
        )
        .await;
        assert!(out.status.success(), "{bin} --migrate-only on PostgreSQL: {out:?}");
        let pool = sqlx::PgPool::connect(&url).await.expect("connect");
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1")
            .bind(table)
            .fetch_one(&pool)
            .await
            .expect("query");
        assert_eq!(n, 1, "{bin} created {table}");
        pool.close().await;
    }
}
