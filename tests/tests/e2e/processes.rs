//! The real binaries: a bad configuration value fails fast naming the variable,
//! and SIGTERM drains in-flight calls before a clean exit.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use brigade_tests::processes::binary;
use brigade_tests::{DEADLINE, eventually, output_within};
use tokio::process::Command;
use tokio_stream::StreamExt;

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

/// A binary started with piped stdout, whose banner or first log lines a test reads.
struct Running {
    child: tokio::process::Child,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Running {
    fn start(bin: &str, data_dir: &std::path::Path, envs: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut command = Command::new(binary(bin));
        command
            .env("BRIGADE_DATA_DIR", data_dir)
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .env_remove("BRIGADE_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        Self {
            child,
            stdout: tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout)),
        }
    }

    /// The all-in-one's banner: the URL printed for each component, by label.
    async fn banner(&mut self) -> Vec<(String, String)> {
        let mut urls = Vec::new();
        while urls.len() < 3 {
            let line = tokio::time::timeout(DEADLINE, self.stdout.next_line())
                .await
                .expect("banner within the deadline")
                .expect("read stdout")
                .expect("the banner before stdout ends");
            if let Some((label, rest)) = line.split_once("http://") {
                let url = format!("http://{}", rest.split_whitespace().next().unwrap_or_default());
                urls.push((format!("{}{}", label.trim(), rest), url));
            }
        }
        urls
    }

    async fn gateway_url(&mut self) -> String {
        let banner = self.banner().await;
        self.gateway_url_from(&banner)
    }

    fn gateway_url_from(&self, banner: &[(String, String)]) -> String {
        banner
            .iter()
            .find(|(label, _)| label.starts_with("REST gateway"))
            .map(|(_, url)| url.clone())
            .expect("gateway URL in the banner")
    }
}

/// Every file under `dir` (none when it does not exist).
fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_taken_port_exits_2_naming_component_and_address_before_touching_disk() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let cases = [
        ("brigade-job-queue", "BRIGADE_JOB_QUEUE_ADDR", "job-queue"),
        ("brigade-recipe-types", "BRIGADE_RECIPE_TYPES_ADDR", "recipe-types"),
        ("brigade-gateway", "BRIGADE_GATEWAY_ADDR", "gateway"),
        ("brigade", "BRIGADE_RECIPE_TYPES_ADDR", "recipe-types"),
        ("brigade", "BRIGADE_GATEWAY_ADDR", "gateway"),
    ];
    for (bin, variable, component) in cases {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().join("data");
        let mut command = Command::new(binary(bin));
        command
            .env("BRIGADE_DATA_DIR", &data)
            .env_remove("DATABASE_URL")
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null());
        if bin == "brigade" {
            for other in [
                "BRIGADE_GATEWAY_ADDR",
                "BRIGADE_JOB_QUEUE_ADDR",
                "BRIGADE_RECIPE_TYPES_ADDR",
            ] {
                command.env(other, "127.0.0.1:0");
            }
        }
        command.env(variable, &addr);
        let output = output_within(&mut command, DEADLINE, &format!("{bin} on a taken port")).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bin} {variable}: {stderr}");
        let expected = format!("{bin}: {component} cannot listen on {addr}: address already in use");
        assert!(
            stderr.contains(&expected),
            "{bin} {variable}: wanted {expected:?} in {stderr}"
        );
        assert!(!stderr.contains("backtrace"), "{bin}: {stderr}");
        assert_eq!(
            files_under(&data),
            Vec::<PathBuf>::new(),
            "{bin} {variable} wrote to disk"
        );
    }
}

#[tokio::test]
async fn the_all_in_one_takes_every_setting_of_the_three_processes() {
    let help = output_within(
        Command::new(binary("brigade")).arg("--help"),
        DEADLINE,
        "brigade --help",
    )
    .await;
    let help = String::from_utf8_lossy(&help.stdout);
    for variable in [
        "BRIGADE_MAX_BODY_BYTES",
        "BRIGADE_MAX_JSON_DEPTH",
        "BRIGADE_REQUEST_TIMEOUT_MS",
        "BRIGADE_MAX_CONCURRENT_REQUESTS",
        "BRIGADE_GRPC_TIMEOUT_MS",
        "BRIGADE_REAPER_INTERVAL_MS",
        "BRIGADE_MAX_DOCUMENT_BYTES",
        "BRIGADE_MAX_DEFINITION_BYTES",
        "BRIGADE_MAX_DEFINITION_NODES",
        "BRIGADE_DB_MAX_CONNECTIONS",
        "BRIGADE_LOG_FORMAT",
        "RUST_LOG",
    ] {
        assert!(help.contains(variable), "brigade --help lacks {variable}: {help}");
    }

    let dir = tempfile::tempdir().expect("dir");
    let mut brigade = Running::start(
        "brigade",
        dir.path(),
        &[
            ("BRIGADE_GATEWAY_ADDR", "127.0.0.1:0"),
            ("BRIGADE_JOB_QUEUE_ADDR", "127.0.0.1:0"),
            ("BRIGADE_RECIPE_TYPES_ADDR", "127.0.0.1:0"),
            ("BRIGADE_MAX_BODY_BYTES", "1024"),
        ],
        Stdio::null(),
    );
    let gateway = brigade.gateway_url().await;
    let http = reqwest::Client::new();
    let body = serde_json::json!({
        "name": "big",
        "description": "x".repeat(5 * 1024),
        "job_registration_schema": {},
        "job_result_schema": {},
    });
    let big = http
        .post(format!("{gateway}/services"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(big.status(), 413, "a 5 KB body over BRIGADE_MAX_BODY_BYTES=1024");
    let small = http
        .post(format!("{gateway}/services"))
        .json(&serde_json::json!({
            "name": "small",
            "description": "d",
            "job_registration_schema": {},
            "job_result_schema": {},
        }))
        .send()
        .await
        .expect("post");
    assert_eq!(small.status(), 201, "a small body is still accepted");
}

#[tokio::test]
async fn bad_log_settings_fail_fast_naming_the_variable() {
    for bin in [
        "brigade",
        "brigade-gateway",
        "brigade-job-queue",
        "brigade-recipe-types",
    ] {
        for (variable, value) in [("BRIGADE_LOG_FORMAT", "yaml"), ("RUST_LOG", "brigade=[")] {
            let output = output_within(
                Command::new(binary(bin))
                    .env(variable, value)
                    .env("BRIGADE_DATA_DIR", std::env::temp_dir().join("brigade-never-used"))
                    .stdin(Stdio::null()),
                DEADLINE,
                &format!("{bin} {variable}={value}"),
            )
            .await;
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{bin} {variable}={value}: {stderr}");
            assert!(stderr.contains(variable), "{bin} {variable}={value}: {stderr}");
        }
    }
}

/// Reads `stderr` until a line contains `wanted`, returning every line read.
async fn log_lines_until(stderr: tokio::process::ChildStderr, wanted: &str) -> Vec<String> {
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(DEADLINE, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {wanted:?} log line within the deadline: {seen:?}"))
            .expect("read stderr")
            .unwrap_or_else(|| panic!("stderr ended before {wanted:?}: {seen:?}"));
        let done = line.contains(wanted);
        seen.push(line);
        if done {
            return seen;
        }
    }
}

#[tokio::test]
async fn logs_in_a_pipe_have_no_colour_codes_and_json_on_request() {
    for format in ["text", "json"] {
        let dir = tempfile::tempdir().expect("dir");
        let mut brigade = Running::start(
            "brigade",
            dir.path(),
            &[
                ("BRIGADE_GATEWAY_ADDR", "127.0.0.1:0"),
                ("BRIGADE_JOB_QUEUE_ADDR", "127.0.0.1:0"),
                ("BRIGADE_RECIPE_TYPES_ADDR", "127.0.0.1:0"),
                ("BRIGADE_LOG_FORMAT", format),
            ],
            Stdio::piped(),
        );
        let stderr = brigade.child.stderr.take().expect("stderr");
        let lines = log_lines_until(stderr, "gateway serving").await;
        for line in &lines {
            assert!(
                !line.contains('\u{1b}'),
                "{format}: ANSI escape in a piped log line: {line:?}"
            );
            if format == "json" {
                let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
                assert!(parsed.is_ok_and(|v| v.is_object()), "not a JSON object: {line:?}");
            }
        }
    }
}

/// The value of the first sample whose line starts with `prefix`.
fn sample(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn the_all_in_one_gateway_port_serves_process_metrics_and_fresh_queue_gauges() {
    let dir = tempfile::tempdir().expect("dir");
    let mut brigade = Running::start(
        "brigade",
        dir.path(),
        &[
            ("BRIGADE_GATEWAY_ADDR", "127.0.0.1:0"),
            ("BRIGADE_JOB_QUEUE_ADDR", "127.0.0.1:0"),
            ("BRIGADE_RECIPE_TYPES_ADDR", "127.0.0.1:0"),
        ],
        Stdio::null(),
    );
    let gateway = brigade.gateway_url().await;
    let http = reqwest::Client::new();
    let (status, service) = brigade_tests::read(
        http.post(format!("{gateway}/services"))
            .json(&serde_json::json!({
                "name": "gauged",
                "description": "d",
                "job_registration_schema": {},
                "job_result_schema": {},
            }))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 201, "{service}");
    let id = service["data"]["id"].as_str().expect("id").to_owned();
    let depth = format!(r#"brigade_queue_depth{{service_id="{id}",service_name="gauged","#);
    // Only the gateway's port is ever scraped: each scrape must show the queue as it is now.
    for queued in 1..=3 {
        let (status, _) = brigade_tests::read(
            http.post(format!("{gateway}/services/{id}/jobs"))
                .json(&serde_json::json!({"parameters": {}}))
                .send()
                .await
                .expect("submit"),
        )
        .await;
        assert_eq!(status, 201);
        let metrics = http
            .get(format!("{gateway}/metrics"))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("text");
        assert_eq!(sample(&metrics, &depth), Some(f64::from(queued)), "{metrics}");
        assert!(metrics.contains("process_resident_memory_bytes"), "{metrics}");
        assert!(metrics.contains("process_cpu_seconds_total"), "{metrics}");
        assert!(
            sample(
                &metrics,
                r#"brigade_grpc_requests_total{code="OK",component="job-queue",method="brigade.jobqueue.v1.JobQueue/SubmitJob"}"#
            )
            .is_some_and(|n| n >= f64::from(queued)),
            "{metrics}"
        );
        assert!(
            metrics.contains(r#"brigade_http_requests_total{component="gateway","#),
            "{metrics}"
        );
    }
}

#[tokio::test]
async fn host_names_are_accepted_and_the_banner_prints_urls_a_user_can_open() {
    let dir = tempfile::tempdir().expect("dir");
    let mut brigade = Running::start(
        "brigade",
        dir.path(),
        &[
            ("BRIGADE_GATEWAY_ADDR", "0.0.0.0:0"),
            ("BRIGADE_JOB_QUEUE_ADDR", "localhost:0"),
            ("BRIGADE_RECIPE_TYPES_ADDR", "localhost:0"),
            // Every interface without tokens is refused unless authentication is off.
            ("BRIGADE_AUTH", "off"),
        ],
        Stdio::null(),
    );
    let banner = brigade.banner().await;
    for (_, url) in &banner {
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("http://[::1]:"),
            "not a loopback URL: {banner:?}"
        );
    }
    let gateway = brigade.gateway_url_from(&banner);
    // The gateway reaches job-queue, which listens on what `localhost` resolved to.
    let response = reqwest::get(format!("{gateway}/services")).await.expect("get");
    assert_eq!(response.status(), 200);

    // The standalone gateway takes a host name and the same flag name as the all-in-one.
    let mut gateway_process = Command::new(binary("brigade-gateway"));
    gateway_process
        .args(["--gateway-addr", "localhost:0"])
        .env_remove("RUST_LOG")
        .env_remove("BRIGADE_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = gateway_process.spawn().expect("spawn");
    let lines = log_lines_until(child.stderr.take().expect("stderr"), "gateway serving").await;
    assert!(lines.iter().any(|l| l.contains("gateway serving")), "{lines:?}");
    let _ = child.kill().await;
}
