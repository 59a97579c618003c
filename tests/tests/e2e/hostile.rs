//! Hostile input against the real job-queue and recipe-types binaries on
//! PostgreSQL, with the bounds asserted: validating a document of N bytes costs
//! job-queue O(N) memory with a small constant (measured from its own peak
//! RSS and printed), an oversized body is a clear 413 that leaks no internal
//! text, filter floods are refused quickly at REST and at gRPC, and stalled
//! bodies beyond the global concurrency limit do not starve other clients.

use std::time::{Duration, Instant};

use brigade_proto::recipetypes::v1 as rt;
use brigade_tests::processes::Processes;
use brigade_tests::{Backend, TestDatabase, gateway_on, read};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// A value from `/proc/{pid}/status` in kB (`VmRSS`, `VmHWM`).
fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A `POST /validator` body of about `bytes` bytes whose object is a list of
/// `item` (JSON text with a trailing comma) checked against `item_schema`.
fn validator_body(bytes: usize, item: &str, item_schema: Value) -> String {
    let schema = json!({"type": "object", "properties": {"items": {"type": "array", "items": item_schema}}});
    let count = (bytes - 200) / item.len();
    let mut object = String::with_capacity(bytes);
    object.push_str(r#"{"items":["#);
    for _ in 0..count {
        object.push_str(item);
    }
    object.pop();
    object.push_str("]}");
    format!(r#"{{"schema":{schema},"object":{object}}}"#)
}

/// Many tiny objects: the shape that costs the most memory per byte once parsed.
fn tiny_objects(bytes: usize) -> String {
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    validator_body(bytes, r#"{"a":1},"#, schema)
}

/// Strings of a few dozen characters, as measurements and file names are.
fn strings(bytes: usize) -> String {
    validator_body(bytes, r#""sample-0001/exposure-0042.fits","#, json!({"type": "string"}))
}

async fn processes(db: &TestDatabase) -> (Processes, String) {
    let mut p = Processes::new(db);
    p.spawn_job_queue();
    p.spawn_recipe_types();
    // Wait until both answer before a gateway is put in front of them.
    let _ = p.job_queue().await;
    let _ = p.recipe_types().await;
    let base = gateway_on(
        format!("http://127.0.0.1:{}", p.jq_port),
        format!("http://127.0.0.1:{}", p.rt_port),
        |_| {},
    )
    .await;
    (p, base)
}

#[tokio::test]
async fn validating_costs_memory_in_proportion_to_the_document() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let (p, base) = processes(&db).await;
    let pid = p.job_queue_pid().expect("job-queue runs");
    let http = reqwest::Client::new();
    let post = |body: String| {
        let (http, url) = (http.clone(), format!("{base}/validator"));
        async move {
            read(
                http.post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("POST /validator"),
            )
            .await
        }
    };
    // Warm up (connections, the schema cache, the allocator's arenas).
    let (status, warm) = post(tiny_objects(10_000)).await;
    assert_eq!(status, 200, "{warm}");
    assert_eq!(warm["data"]["status"], "Validation was successful", "{warm}");

    // One document at a time, the cheaper shape first: the process's peak
    // (VmHWM) only moves when a document costs more than any before it.
    const BYTES: usize = 1_000_000;
    let mut per_mb = Vec::new();
    for (shape, body) in [("strings", strings(BYTES)), ("tiny objects", tiny_objects(BYTES))] {
        let before = proc_kb(pid, "VmRSS");
        let started = Instant::now();
        let (status, answer) = post(body).await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["data"]["status"], "Validation was successful", "{answer}");
        let grown_mb = proc_kb(pid, "VmHWM").saturating_sub(before) as f64 / 1024.0;
        let ratio = grown_mb / (BYTES as f64 / 1_048_576.0);
        eprintln!(
            "validator memory, {shape}: {BYTES} bytes took {took:?}; job-queue peak RSS grew {grown_mb:.1} MB, \
             {ratio:.1} MB per validated MB (RSS before {:.1} MB)",
            before as f64 / 1024.0
        );
        assert!(took < Duration::from_secs(30), "{shape}: validating took {took:?}");
        per_mb.push((shape, ratio));
    }
    // Before the fix one 1 MB document cost job-queue about 210 MB. What is left
    // is the parsed document itself: serde_json with preserve_order and
    // arbitrary precision keeps a map and three small allocations per object.
    let bounds = [("strings", 24.0), ("tiny objects", 100.0)];
    for ((shape, ratio), (_, bound)) in per_mb.iter().zip(bounds) {
        assert!(
            *ratio < bound,
            "{shape}: validating costs {ratio:.1} MB of job-queue memory per MB of document (bound {bound})"
        );
    }

    // Past the body limit: a 413 in TopChef's envelope, no internal words.
    let (status, body) = post(tiny_objects(1_100_000)).await;
    assert_eq!(status, 413, "{body}");
    let text = body.to_string();
    assert!(body["errors"][0]["detail"].is_string(), "{body}");
    for internal in ["encoded message", "message length", "grpc", "tonic", "hyper"] {
        assert!(!text.to_lowercase().contains(internal), "{internal:?} in {text}");
    }
}

#[tokio::test]
async fn filter_floods_are_refused_quickly_at_every_door() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let (p, base) = processes(&db).await;
    let http = reqwest::Client::new();
    let keywords = |n: usize| -> Vec<String> { (0..n).map(|i| format!("k{i}")).collect() };

    // As many as a URL holds (64 KiB): values two characters long.
    let short = |i: u32| {
        char::from_digit(i / 36, 36)
            .into_iter()
            .chain(char::from_digit(i % 36, 36))
            .collect::<String>()
    };
    let query = (0..1_296)
        .cycle()
        .take(5_000)
        .map(|i| format!("keyword={}", short(i)))
        .collect::<Vec<_>>()
        .join("&");
    let asked = Instant::now();
    let (status, body) = read(
        http.get(format!("{base}/v6/recipe-types/?{query}"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    let took = asked.elapsed();
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("at most 100")),
        "{body}"
    );
    assert!(took < Duration::from_secs(2), "5,000 keywords over REST took {took:?}");

    let mut client = p.recipe_types().await;
    for n in [20_000, 70_000] {
        let asked = Instant::now();
        let refused = client
            .list_recipe_types(rt::ListRecipeTypesRequest {
                keywords: keywords(n),
                ..Default::default()
            })
            .await
            .expect_err("a flood of keywords is refused");
        let took = asked.elapsed();
        assert_eq!(
            refused.code(),
            tonic::Code::InvalidArgument,
            "{n} keywords: {refused:?}"
        );
        assert!(refused.message().contains("keywords"), "{}", refused.message());
        assert!(took < Duration::from_secs(2), "{n} keywords over gRPC took {took:?}");
        let recipes = client
            .list_recipes(rt::ListRecipesRequest {
                recipe_ids: (0..n as i64).collect(),
                ..Default::default()
            })
            .await
            .expect_err("a flood of recipe ids is refused");
        assert_eq!(recipes.code(), tonic::Code::InvalidArgument, "{recipes:?}");
    }
    // At the cap it is an ordinary (empty) list.
    let listed = client
        .list_recipe_types(rt::ListRecipeTypesRequest {
            keywords: keywords(100),
            ..Default::default()
        })
        .await
        .expect("100 keywords are fine");
    assert!(listed.into_inner().recipe_types.is_empty());
}

#[tokio::test]
async fn stalled_bodies_beyond_the_concurrency_limit_do_not_starve_others() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let (p, _) = processes(&db).await;
    const LIMIT: u32 = 16;
    let base = gateway_on(
        format!("http://127.0.0.1:{}", p.jq_port),
        format!("http://127.0.0.1:{}", p.rt_port),
        |c| {
            c.limits.max_concurrent_requests = LIMIT;
            c.limits.body_read_timeout_ms = 20_000;
        },
    )
    .await;
    let addr = base.trim_start_matches("http://").to_owned();
    // Four times the limit of requests whose bodies never come.
    let mut stalled = Vec::new();
    for _ in 0..LIMIT * 4 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        let head =
            "POST /services HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{";
        s.write_all(head.as_bytes()).await.expect("write");
        stalled.push(s);
    }
    // Give the gateway every chance to have read them all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let asked = Instant::now();
        let (status, body): (u16, Value) = read(
            http.get(format!("{base}/services"))
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .expect("GET"),
        )
        .await;
        assert_eq!(status, 200, "another client is served: {body}");
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "another client waited {:?}",
            asked.elapsed()
        );
    }
    drop(stalled);
}
