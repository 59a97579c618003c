//! The `brigade` command line, run as a real process against a real system on
//! port 0: tables and JSON, a watch that follows a worker, one clear error
//! line, and the all-in-one still starting with no subcommand or `serve`.

use std::process::{Output, Stdio};

use brigade_proto::jobqueue::v1 as pb;
use brigade_tests::{Backend, DEADLINE, TestApp, eventually, output_within};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::process::Command;

fn brigade() -> Command {
    let mut command = Command::new(brigade_tests::processes::binary("brigade"));
    for variable in [
        "BRIGADE_JOB_QUEUE_URL",
        "BRIGADE_RECIPE_TYPES_URL",
        "BRIGADE_TOKEN",
        "BRIGADE_TIMEOUT",
        "DATABASE_URL",
        "RUST_LOG",
    ] {
        command.env_remove(variable);
    }
    command.stdin(Stdio::null());
    command
}

/// Runs `brigade ARGS` against `app`.
async fn run(app: &TestApp, args: &[&str]) -> Output {
    output_within(
        brigade()
            .env("BRIGADE_JOB_QUEUE_URL", app.job_queue_url())
            .env("BRIGADE_RECIPE_TYPES_URL", app.recipe_types_url())
            .env("BRIGADE_TOKEN", "brg_test_token")
            .args(args),
        DEADLINE,
        &format!("brigade {}", args.join(" ")),
    )
    .await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a command that must succeed and returns its stdout.
async fn ok(app: &TestApp, args: &[&str]) -> String {
    let output = run(app, args).await;
    assert!(
        output.status.success(),
        "brigade {}: {:?}\nstdout: {}\nstderr: {}",
        args.join(" "),
        output.status,
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

async fn ok_json(app: &TestApp, args: &[&str]) -> Value {
    let text = ok(app, args).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("brigade {}: not JSON ({e}): {text}", args.join(" ")))
}

/// Asserts a failed call: exit 1 and exactly one line `brigade: …` on stderr.
fn assert_one_error_line(output: &Output, starts_with: &str) -> String {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = stderr(output);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {text}");
    assert!(lines[0].starts_with(starts_with), "{text}");
    assert!(
        !text.contains("Status {") && !text.contains("panicked"),
        "no debug dump: {text}"
    );
    lines[0].to_owned()
}

async fn create_service(app: &TestApp, name: &str) -> String {
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}).to_string();
    let created = ok_json(
        app,
        &[
            "services",
            "create",
            "--name",
            name,
            "--description",
            "made by the command line",
            "--registration-schema",
            &schema,
            "--json",
        ],
    )
    .await;
    assert_eq!(created["name"], name, "{created}");
    assert_eq!(created["version"], "1.0.0");
    assert_eq!(created["job_registration_schema"]["required"], json!(["n"]));
    created["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn services_create_list_get_pause_as_tables_and_json_sqlite() {
    services_create_list_get_pause(Backend::Sqlite).await;
}

#[tokio::test]
async fn services_create_list_get_pause_as_tables_and_json_postgres() {
    services_create_list_get_pause(Backend::Postgres).await;
}

async fn services_create_list_get_pause(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let id = create_service(&app, "microscope").await;

    let table = ok(&app, &["services", "list"]).await;
    assert!(
        table.contains("NAME") && table.contains("microscope") && table.contains(&id),
        "{table}"
    );
    let list = ok_json(&app, &["services", "list", "--json"]).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["id"], id.as_str());

    let details = ok(&app, &["services", "get", &id]).await;
    assert!(
        details.contains("made by the command line") && details.contains("revision"),
        "{details}"
    );
    let got = ok_json(&app, &["services", "get", &id, "--json"]).await;
    assert_eq!(got["description"], "made by the command line");
    assert_eq!(got["paused"], false);

    let paused = ok_json(&app, &["services", "pause", &id, "--json"]).await;
    assert_eq!(paused["paused"], true, "{paused}");
    let grpc = app
        .job_queue()
        .await
        .get_service(pb::GetServiceRequest { id: id.clone() })
        .await
        .expect("get")
        .into_inner()
        .service
        .expect("service");
    assert!(grpc.paused, "the pause reached the server");
    let resumed = ok_json(&app, &["services", "resume", &id, "--json"]).await;
    assert_eq!(resumed["paused"], false, "{resumed}");
}

#[tokio::test]
async fn jobs_submit_get_list_with_parameters_from_a_file() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let service = create_service(&app, "detector").await;
    let file = app.db.dir.path().join("params.json");
    std::fs::write(&file, r#"{"n": 7}"#).expect("write");
    let params = format!("@{}", file.display());
    let job = ok_json(
        &app,
        &[
            "jobs",
            "submit",
            &service,
            "--params",
            &params,
            "--priority",
            "5",
            "--idempotency-key",
            "k-1",
            "--json",
        ],
    )
    .await;
    assert_eq!(job["status"], "REGISTERED", "{job}");
    assert_eq!(job["parameters"], json!({"n": 7}));
    assert_eq!(job["priority"], 5);
    let job_id = job["id"].as_str().expect("id").to_owned();
    let later = ok_json(
        &app,
        &[
            "jobs",
            "submit",
            &service,
            "--params",
            r#"{"n": 8}"#,
            "--run-at",
            "2099-01-01T00:00:00Z",
            "--json",
        ],
    )
    .await;
    assert_eq!(later["due_at"], "2099-01-01T00:00:00.000Z", "{later}");

    // The idempotency key returns the same job; a different body under it is refused.
    let again = ok_json(
        &app,
        &[
            "jobs",
            "submit",
            &service,
            "--params",
            r#"{"n": 7}"#,
            "--priority",
            "5",
            "--idempotency-key",
            "k-1",
            "--json",
        ],
    )
    .await;
    assert_eq!(again["id"], job_id.as_str());
    let conflict = run(
        &app,
        &[
            "jobs",
            "submit",
            &service,
            "--params",
            r#"{"n": 9}"#,
            "--idempotency-key",
            "k-1",
        ],
    )
    .await;
    let line = assert_one_error_line(&conflict, "brigade: cannot submit a job to service ");
    assert!(line.contains("k-1"), "{line}");

    let got = ok_json(&app, &["jobs", "get", &job_id, "--json"]).await;
    assert_eq!(got["service_id"], service.as_str());
    let table = ok(&app, &["jobs", "get", &job_id]).await;
    assert!(table.contains("REGISTERED") && table.contains(r#"{"n":7}"#), "{table}");

    let list = ok_json(&app, &["jobs", "list", "--service", &service, "--json"]).await;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    let none = ok_json(
        &app,
        &["jobs", "list", "--service", &service, "--status", "COMPLETED", "--json"],
    )
    .await;
    assert_eq!(none, json!([]));
    let table = ok(&app, &["jobs", "list"]).await;
    assert!(table.contains(&job_id) && table.contains("STATUS"), "{table}");

    // Parameters that fail the schema: one line with the server's message.
    let bad = run(&app, &["jobs", "submit", &service, "--params", r#"{"n": "seven"}"#]).await;
    assert_one_error_line(&bad, &format!("brigade: cannot submit a job to service {service}: "));
    // Parameters that are not JSON never reach the server.
    let bad = run(&app, &["jobs", "submit", &service, "--params", "{nope"]).await;
    assert_one_error_line(&bad, "brigade: --params is not valid JSON: ");
}

/// Starts `brigade jobs watch`, waits for its first line, lets `finish` end
/// the job over gRPC, and returns what the watch printed and how it exited.
async fn watch_while(app: &TestApp, job_id: &str, finish: impl AsyncFnOnce()) -> (Output, String) {
    let mut child = brigade()
        .env("BRIGADE_JOB_QUEUE_URL", app.job_queue_url())
        .args(["jobs", "watch", job_id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("first watch line in time")
        .expect("read")
        .expect("a first line");
    assert!(first.contains("REGISTERED"), "{first}");
    finish().await;
    let mut rest = String::new();
    while let Some(line) = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("watch lines in time")
        .expect("read")
    {
        rest.push_str(&line);
        rest.push('\n');
    }
    let output = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("watch exits in time")
        .expect("wait");
    (output, rest)
}

async fn claim(app: &TestApp, service_id: &str) -> pb::LeasedJob {
    app.job_queue()
        .await
        .claim_jobs(pb::ClaimJobsRequest {
            service_id: service_id.to_owned(),
            max_jobs: 1,
            worker_id: "cli-test-worker".into(),
            ..Default::default()
        })
        .await
        .expect("claim")
        .into_inner()
        .jobs
        .pop()
        .expect("a claimed job")
}

#[tokio::test]
async fn jobs_watch_follows_a_worker_and_exits_by_outcome() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let service = create_service(&app, "stage").await;
    let submit = |n: i32| {
        let app = &app;
        let service = service.clone();
        async move {
            ok_json(
                app,
                &[
                    "jobs",
                    "submit",
                    &service,
                    "--params",
                    &json!({"n": n}).to_string(),
                    "--json",
                ],
            )
            .await["id"]
                .as_str()
                .expect("id")
                .to_owned()
        }
    };

    let done = submit(1).await;
    let (output, rest) = watch_while(&app, &done, async || {
        let leased = claim(&app, &service).await;
        app.job_queue()
            .await
            .complete_job(pb::CompleteJobRequest {
                job_id: leased.job.expect("job").id,
                lease_token: leased.lease_token,
                results_json: r#"{"ok": true}"#.into(),
            })
            .await
            .expect("complete");
    })
    .await;
    assert!(output.status.success(), "{output:?} {rest}");
    assert!(rest.contains("COMPLETED"), "{rest}");

    let failed = submit(2).await;
    let (output, rest) = watch_while(&app, &failed, async || {
        let leased = claim(&app, &service).await;
        app.job_queue()
            .await
            .fail_job(pb::FailJobRequest {
                job_id: leased.job.expect("job").id,
                lease_token: leased.lease_token,
                error_message: "detector offline".into(),
                ..Default::default()
            })
            .await
            .expect("fail");
    })
    .await;
    assert!(rest.contains("ERROR"), "{rest}");
    let line = assert_one_error_line(&output, &format!("brigade: job {failed} ended in ERROR"));
    assert!(line.contains("detector offline"), "{line}");

    // Retry puts it back in the queue; cancel ends it with its reason.
    let retried = ok_json(&app, &["jobs", "retry", &failed, "--json"]).await;
    assert_eq!(retried["status"], "REGISTERED", "{retried}");
    let cancelled = ok_json(&app, &["jobs", "cancel", &failed, "--reason", "not needed", "--json"]).await;
    assert_eq!(cancelled["status"], "ERROR", "{cancelled}");
    assert_eq!(cancelled["cancelled"], true);
    let out = run(&app, &["jobs", "retry", &done]).await;
    assert_one_error_line(&out, &format!("brigade: cannot retry job {done}: "));
}

#[tokio::test]
async fn failed_calls_exit_1_with_one_clear_line() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let missing = uuid::Uuid::new_v4().to_string();
    let out = run(&app, &["jobs", "get", &missing]).await;
    assert_one_error_line(&out, &format!("brigade: cannot get job {missing}: "));
    let out = run(&app, &["services", "get", "not-a-uuid"]).await;
    assert_one_error_line(&out, "brigade: cannot get service not-a-uuid: ");

    // Nothing listens on the port: the address is named.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let out = output_within(
        brigade().args(["services", "list", "--job-queue-url", &format!("http://{closed}")]),
        DEADLINE,
        "brigade services list against a closed port",
    )
    .await;
    assert_one_error_line(&out, &format!("brigade: cannot reach job-queue at http://{closed}: "));

    // Bad usage is clap's exit 2.
    let out = run(&app, &["jobs", "submit"]).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // The server's settings play no part in a client command.
    let out = run(&app, &["services", "list", "--json"]).await;
    assert!(out.status.success(), "{out:?}");
    let out = output_within(
        brigade()
            .env("BRIGADE_JOB_QUEUE_URL", app.job_queue_url())
            .env("BRIGADE_REAPER_INTERVAL_MS", "fast")
            .args(["services", "list", "--json"]),
        DEADLINE,
        "brigade services list with a bad server variable",
    )
    .await;
    assert!(out.status.success(), "{out:?}");

    // Tokens: an unknown id is one clear line (the whole flow is in auth_grpc).
    let out = run(&app, &["token", "revoke", "tok_0000000000000000"]).await;
    let line = assert_one_error_line(&out, "brigade: ");
    assert_eq!(
        line,
        "brigade: cannot revoke token tok_0000000000000000: a token with id tok_0000000000000000 was not found"
    );
}

#[tokio::test]
async fn recipe_types_validate_create_get_list() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let definition = |job_type: &str| {
        json!({
            "version": "7",
            "input": {"files": [], "json": [{"name": "n", "type": "integer", "required": true}]},
            "nodes": {"node_a": {
                "dependencies": [],
                "input": {"n": {"type": "recipe", "input": "n"}},
                "node_type": {"node_type": "job", "job_type_name": job_type, "job_type_version": "1.0.0", "job_type_revision": 1}
            }}
        })
    };
    let dir = app.db.dir.path();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, definition("ghost").to_string()).expect("write");
    let out = run(&app, &["recipe-types", "validate", bad.to_str().expect("path")]).await;
    assert_eq!(out.status.code(), Some(1), "an invalid definition fails: {out:?}");
    let text = stdout(&out);
    assert!(
        text.contains("invalid") && text.contains("JOB_TYPE_DOES_NOT_EXIST"),
        "{text}"
    );

    create_service(&app, "stage").await;
    let good = dir.join("good.json");
    std::fs::write(&good, json!({"definition": definition("stage")}).to_string()).expect("write");
    let report = ok_json(
        &app,
        &["recipe-types", "validate", good.to_str().expect("path"), "--json"],
    )
    .await;
    assert_eq!(report["is_valid"], true, "{report}");

    let definition_arg = format!("@{}", good.display());
    let created = ok_json(
        &app,
        &[
            "recipe-types",
            "create",
            "--title",
            "My Recipe",
            "--definition",
            &definition_arg,
            "--json",
        ],
    )
    .await;
    assert_eq!(created["name"], "my-recipe", "{created}");
    assert_eq!(created["job_types"], json!(["stage 1.0.0 rev 1"]));
    let got = ok(&app, &["recipe-types", "get", "my-recipe"]).await;
    assert!(got.contains("My Recipe") && got.contains("node_a"), "{got}");
    let list = ok(&app, &["recipe-types", "list"]).await;
    assert!(list.contains("my-recipe") && list.contains("stage 1.0.0"), "{list}");

    let updated = ok_json(
        &app,
        &["recipe-types", "update", "my-recipe", "--title", "Renamed", "--json"],
    )
    .await;
    assert_eq!(updated["is_valid"], true, "{updated}");
    let got = ok_json(&app, &["recipe-types", "get", "my-recipe", "--json"]).await;
    assert_eq!(got["title"], "Renamed");

    let out = run(&app, &["recipe-types", "get", "nope"]).await;
    assert_one_error_line(&out, "brigade: cannot get recipe type nope: ");

    // Recipes: an unknown recipe is one clear line (NOT_FOUND, or the server's
    // message while a server does not offer recipes).
    let out = run(&app, &["recipes", "get", "999999"]).await;
    assert_one_error_line(&out, "brigade: cannot get recipe 999999: ");
    let out = run(&app, &["recipes", "watch", "999999"]).await;
    assert_one_error_line(&out, "brigade: cannot watch recipe 999999: ");
}

#[tokio::test]
async fn help_lists_every_subcommand() {
    let out = output_within(brigade().arg("--help"), DEADLINE, "brigade --help").await;
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    for sub in ["serve", "services", "jobs", "recipe-types", "recipes", "token"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(sub)), "{sub} in {text}");
    }
    let out = output_within(brigade().args(["jobs", "--help"]), DEADLINE, "brigade jobs --help").await;
    let text = stdout(&out);
    for sub in ["list", "get", "submit", "cancel", "retry", "watch"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(sub)), "{sub} in {text}");
    }
}

/// Plain `brigade` and `brigade serve` start the system; the command line
/// then talks to it at the job-queue URL from the banner.
#[tokio::test]
async fn plain_brigade_and_brigade_serve_still_start_the_system() {
    for args in [&[][..], &["serve"]] {
        let dir = tempfile::tempdir().expect("dir");
        let mut child = brigade()
            .args(args)
            .env("BRIGADE_DATA_DIR", dir.path())
            .env("BRIGADE_GATEWAY_ADDR", "127.0.0.1:0")
            .env("BRIGADE_JOB_QUEUE_ADDR", "127.0.0.1:0")
            .env("BRIGADE_RECIPE_TYPES_ADDR", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let job_queue_url = loop {
            let line = tokio::time::timeout(DEADLINE, lines.next_line())
                .await
                .expect("banner in time")
                .expect("read")
                .unwrap_or_else(|| panic!("brigade {args:?} ended before its banner"));
            if line.contains("job-queue gRPC:") {
                break line.split_whitespace().last().expect("url").to_owned();
            }
        };
        let out = output_within(
            brigade().args(["services", "list", "--json", "--job-queue-url", &job_queue_url]),
            DEADLINE,
            "brigade services list",
        )
        .await;
        assert!(out.status.success(), "brigade {args:?}: {out:?}");
        assert_eq!(stdout(&out).trim(), "[]");
        child.start_kill().expect("kill");
        let _ = child.wait().await;
    }
}

/// `recipes run --watch` queues a recipe, follows it while a worker does its
/// job, and exits 0 once it is COMPLETED.
#[tokio::test]
async fn recipes_run_watch_follows_a_recipe_to_completion() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let service = create_service(&app, "stage").await;
    let definition = json!({"definition": {
        "version": "7",
        "input": {"files": [], "json": [{"name": "n", "type": "integer", "required": true}]},
        "nodes": {"node_a": {
            "dependencies": [],
            "input": {"n": {"type": "recipe", "input": "n"}},
            "node_type": {"node_type": "job", "job_type_name": "stage", "job_type_version": "1.0.0", "job_type_revision": 1}
        }}
    }});
    let file = app.db.dir.path().join("watched.json");
    std::fs::write(&file, definition.to_string()).expect("write");
    let definition_arg = format!("@{}", file.display());
    ok(
        &app,
        &[
            "recipe-types",
            "create",
            "--title",
            "Watched",
            "--definition",
            &definition_arg,
        ],
    )
    .await;
    let mut child = brigade()
        .env("BRIGADE_JOB_QUEUE_URL", app.job_queue_url())
        .env("BRIGADE_RECIPE_TYPES_URL", app.recipe_types_url())
        .args([
            "recipes",
            "run",
            "watched",
            "--input",
            r#"{"json": {"n": 3}}"#,
            "--watch",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("first line in time")
        .expect("read")
        .expect("a first line");
    assert!(first.starts_with("recipe ") && first.ends_with(" queued"), "{first}");
    let mut jq = app.job_queue().await;
    let leased = eventually(DEADLINE, "the recipe's job to be claimable", || {
        let mut jq = jq.clone();
        let service = service.clone();
        async move {
            jq.claim_jobs(pb::ClaimJobsRequest {
                service_id: service,
                max_jobs: 1,
                worker_id: "cli-recipe-worker".into(),
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .jobs
            .pop()
        }
    })
    .await;
    let job = leased.job.clone().expect("job");
    assert_eq!(
        serde_json::from_str::<Value>(&job.parameters_json).expect("json"),
        json!({"n": 3})
    );
    jq.complete_job(pb::CompleteJobRequest {
        job_id: job.id,
        lease_token: leased.lease_token,
        results_json: "{}".into(),
    })
    .await
    .expect("complete");
    let mut rest = String::new();
    while let Some(line) = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("watch lines in time")
        .expect("read")
    {
        rest.push_str(&line);
        rest.push('\n');
    }
    let output = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("exits in time")
        .expect("wait");
    assert!(output.status.success(), "{output:?}\n{rest}");
    assert!(rest.contains("COMPLETED (1/1 jobs completed"), "{rest}");
}
