//! The README's REST walkthrough is run as written: every block marked
//! `sh walkthrough` is a request, the `json walkthrough` / `http walkthrough`
//! block after it the answer. Each request goes to a fresh system in order;
//! the status, every key shown, and every number, boolean, null and
//! upper-case string (a status or an outcome) must match. Ids, tokens and
//! times are free. Options in the answer's info string:
//! `status=N`, `NAME=/json/pointer` (later requests use `$NAME`),
//! `eventually` (repeat until it matches: the step waits on background work)
//! and `loose` (keys only). Also: the interface route, PATCH's revision
//! headers, and `/docs` rendered by a headless Chromium with the network off.

use std::collections::BTreeMap;
use std::time::Duration;

use brigade_tests::{Backend, TestApp, eventually};
use serde_json::{Value, json};

const README: &str = include_str!("../../../README.md");
const DOCUMENTED_BASE: &str = "http://localhost:8080";
const DEADLINE: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Request {
    method: reqwest::Method,
    /// Path and query, with `$NAME`s still in it.
    path: String,
    body: Option<String>,
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
    captures: Vec<(String, String)>,
    eventually: bool,
    loose: bool,
}

#[derive(Debug)]
struct Step {
    line: usize,
    request: Request,
    answer: Answer,
}

/// Fenced blocks whose info string has the word `walkthrough`: (line, info, text).
fn marked_blocks(markdown: &str) -> Vec<(usize, String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match open.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```")
                    && info.split_whitespace().any(|w| w == "walkthrough")
                {
                    open = Some((n + 1, info.trim().to_owned(), String::new()));
                }
            }
            Some((_, _, text)) if line.trim_end() != "```" => {
                text.push_str(line);
                text.push('\n');
            }
            Some(_) => blocks.extend(open.take()),
        }
    }
    assert!(open.is_none(), "README: a walkthrough block is not closed");
    blocks
}

/// Splits a shell line into words, honouring single and double quotes.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn parse_request(line: usize, text: &str) -> Request {
    let mut lines = text.lines();
    let command = lines.next().unwrap_or_default();
    let words = shell_words(command);
    assert_eq!(
        words.first().map(String::as_str),
        Some("curl"),
        "README:{line}: {command}"
    );
    let mut method = None;
    let mut path = None;
    let mut body = None;
    let mut heredoc = false;
    let mut rest = words.iter().skip(1);
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-s" | "-i" | "-si" | "-is" => {}
            "-X" => method = rest.next().cloned(),
            "--json" => body = rest.next().cloned(),
            "<<EOF" => heredoc = true,
            url if url.starts_with("localhost:8080") => path = Some(url["localhost:8080".len()..].to_owned()),
            other => panic!("README:{line}: the walkthrough test does not know `{other}` in {command}"),
        }
    }
    if heredoc {
        let document: Vec<&str> = lines.take_while(|l| *l != "EOF").collect();
        assert_eq!(
            body.as_deref(),
            Some("@-"),
            "README:{line}: a here-document needs `--json @-`"
        );
        body = Some(document.join("\n"));
    }
    let method = match (method, &body) {
        (Some(m), _) => m.parse().unwrap_or_else(|_| panic!("README:{line}: method {m}")),
        (None, Some(_)) => reqwest::Method::POST,
        (None, None) => reqwest::Method::GET,
    };
    Request {
        method,
        path: path.unwrap_or_else(|| panic!("README:{line}: no localhost:8080 URL in {command}")),
        body,
    }
}

fn parse_answer(line: usize, info: &str, text: &str) -> Answer {
    let mut answer = Answer {
        status: 0,
        headers: Vec::new(),
        body: Value::Null,
        captures: Vec::new(),
        eventually: false,
        loose: false,
    };
    for word in info.split_whitespace().skip(2) {
        match word.split_once('=') {
            Some(("status", n)) => answer.status = n.parse().expect("status=N"),
            Some((name, pointer)) => answer.captures.push((name.to_owned(), pointer.to_owned())),
            None if word == "eventually" => answer.eventually = true,
            None if word == "loose" => answer.loose = true,
            None => panic!("README:{line}: unknown walkthrough option {word}"),
        }
    }
    let mut json_text = text;
    if info.starts_with("http") {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut head = head.lines();
        let status_line = head.next().unwrap_or_default();
        answer.status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("README:{line}: status line {status_line}"));
        for header in head {
            let (name, value) = header.split_once(':').expect("a header line");
            answer
                .headers
                .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        json_text = body;
    }
    assert!(answer.status != 0, "README:{line}: no status for this answer");
    answer.body = serde_json::from_str(json_text).unwrap_or_else(|e| panic!("README:{line}: answer is not JSON: {e}"));
    answer
}

/// The walkthrough as (request, answer) pairs, in README order.
fn walkthrough() -> Vec<Step> {
    let mut steps = Vec::new();
    let mut pending: Option<(usize, Request)> = None;
    for (line, info, text) in marked_blocks(README) {
        if info.starts_with("sh") {
            assert!(
                pending.is_none(),
                "README:{line}: two requests without an answer between"
            );
            pending = Some((line, parse_request(line, &text)));
        } else {
            let (line, request) = pending
                .take()
                .unwrap_or_else(|| panic!("README:{line}: an answer without a request"));
            let answer = parse_answer(line, &info, &text);
            steps.push(Step { line, request, answer });
        }
    }
    assert!(pending.is_none(), "README: the last walkthrough request has no answer");
    steps
}

fn enum_like(s: &str) -> bool {
    s.len() >= 2 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// Where `actual` differs from what the README shows.
fn differences(documented: &Value, actual: &Value, strict: bool, at: &str, out: &mut Vec<String>) {
    match (documented, actual) {
        (Value::Object(doc), Value::Object(act)) => {
            for (key, value) in doc {
                match act.get(key) {
                    Some(a) => differences(value, a, strict, &format!("{at}/{key}"), out),
                    None => out.push(format!("{at}/{key} is missing")),
                }
            }
        }
        (Value::Array(doc), Value::Array(act)) => {
            if act.len() < doc.len() || (strict && doc.is_empty() && !act.is_empty()) {
                out.push(format!("{at}: {} items shown, {} answered", doc.len(), act.len()));
            }
            for (i, (d, a)) in doc.iter().zip(act).enumerate() {
                differences(d, a, strict, &format!("{at}/{i}"), out);
            }
        }
        (Value::String(d), Value::String(a)) if !(strict && enum_like(d)) || d == a => {}
        (Value::Number(_) | Value::Bool(_) | Value::Null, _) if !strict => {}
        (Value::String(_), Value::Null) if !strict => {}
        (d, a) if d == a => {}
        (d, a) => out.push(format!("{at}: README shows {d}, the answer is {a}")),
    }
}

fn substitute(text: &str, vars: &BTreeMap<String, String>) -> String {
    // Longest names first, so `$JOB` never eats part of `$JOBS`.
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names
        .into_iter()
        .fold(text.to_owned(), |t, name| t.replace(&format!("${name}"), &vars[name]))
}

/// Sends one step; `Err` says how the answer differs from the README.
async fn attempt(app: &TestApp, step: &Step, vars: &BTreeMap<String, String>) -> Result<Value, String> {
    let path = substitute(&step.request.path, vars);
    assert!(!path.contains('$'), "README:{}: unknown variable in {path}", step.line);
    let mut request = app.http.request(step.request.method.clone(), app.url(&path));
    if let Some(body) = &step.request.body {
        let body = substitute(body, vars);
        request = request.header("content-type", "application/json").body(body);
    }
    let response = request.send().await.map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let mut problems = Vec::new();
    if status != step.answer.status {
        problems.push(format!("status {status}, README shows {}", step.answer.status));
    }
    for (name, documented) in &step.answer.headers {
        let documented = documented.replace(DOCUMENTED_BASE, &app.base);
        let actual = headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let matches = if name == "content-type" {
            actual.starts_with(&documented)
        } else {
            actual == documented
        };
        if !matches {
            problems.push(format!("header {name}: {actual:?}, README shows {documented:?}"));
        }
    }
    differences(&step.answer.body, &body, !step.answer.loose, "", &mut problems);
    if problems.is_empty() {
        Ok(body)
    } else {
        Err(format!(
            "{} {path}: {}; answer: {body}",
            step.request.method,
            problems.join("; ")
        ))
    }
}

async fn run_walkthrough(app: &TestApp) {
    let steps = walkthrough();
    let mut vars = BTreeMap::new();
    for step in &steps {
        let body = if step.answer.eventually {
            let what = format!("README:{} to answer as shown", step.line);
            eventually(DEADLINE, &what, || async { attempt(app, step, &vars).await.ok() }).await
        } else {
            attempt(app, step, &vars)
                .await
                .unwrap_or_else(|e| panic!("README:{}: {e}", step.line))
        };
        for (name, pointer) in &step.answer.captures {
            let value = body
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("README:{}: no string at {pointer}: {body}", step.line));
            vars.insert(name.clone(), value.to_owned());
        }
    }
}

#[test]
fn the_walkthrough_covers_the_first_hour() {
    let steps = walkthrough();
    let shown: Vec<(String, String)> = steps
        .iter()
        .map(|s| (s.request.method.to_string(), s.request.path.clone()))
        .collect();
    for (method, path) in [
        ("POST", "/services"),
        ("GET", "/services/$SERVICE/interface"),
        ("POST", "/services/$SERVICE/jobs"),
        ("POST", "/services/$SERVICE/jobs/claim"),
        ("POST", "/jobs/$JOB/heartbeat"),
        ("POST", "/jobs/$JOB/complete"),
        ("POST", "/jobs/$JOB/fail"),
        ("GET", "/jobs/$JOB"),
        ("POST", "/v6/recipe-types/"),
        ("POST", "/v6/recipes/"),
        ("GET", "/v6/recipes/1/"),
        ("PATCH", "/v6/recipe-types/add-twice/"),
    ] {
        assert!(
            shown.contains(&(method.to_owned(), path.to_owned())),
            "the README walkthrough lost {method} {path}: {shown:?}"
        );
    }
    // The recipe wires node B's input from node A's output.
    let recipe_type = steps
        .iter()
        .find(|s| s.request.path == "/v6/recipe-types/" && s.request.method == reqwest::Method::POST)
        .and_then(|s| s.request.body.as_deref())
        .map(|b| serde_json::from_str::<Value>(b).expect("the recipe type body is JSON"))
        .expect("a recipe type is created");
    assert_eq!(
        recipe_type["definition"]["nodes"]["second"]["input"]["a"],
        json!({"type": "dependency", "node": "first", "output": "sum"})
    );
}

#[tokio::test]
async fn the_readme_walkthrough_runs_as_written_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    run_walkthrough(&app).await;
}

#[tokio::test]
async fn the_readme_walkthrough_runs_as_written_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    run_walkthrough(&app).await;
}

#[test]
fn a_drifted_answer_is_caught() {
    let documented = json!({"status": "COMPLETED", "n": 1, "id": "a", "errors": [], "data": [{"k": true}]});
    let same = json!({"status": "COMPLETED", "n": 1, "id": "b", "errors": [], "data": [{"k": true}], "extra": 0});
    let mut found = Vec::new();
    differences(&documented, &same, true, "", &mut found);
    assert!(found.is_empty(), "{found:?}");
    for drifted in [
        json!({"status": "ERROR", "n": 1, "id": "a", "errors": [], "data": [{"k": true}]}),
        json!({"status": "COMPLETED", "n": 2, "id": "a", "errors": [], "data": [{"k": true}]}),
        json!({"status": "COMPLETED", "n": 1, "errors": [], "data": [{"k": true}]}),
        json!({"status": "COMPLETED", "n": 1, "id": "a", "errors": [{}], "data": [{"k": true}]}),
        json!({"status": "COMPLETED", "n": 1, "id": "a", "errors": [], "data": []}),
    ] {
        let mut found = Vec::new();
        differences(&documented, &drifted, true, "", &mut found);
        assert_eq!(found.len(), 1, "{drifted}: {found:?}");
    }
    // `loose` checks keys only.
    let mut found = Vec::new();
    let other_values = json!({"status": "ERROR", "n": 7, "id": "a", "errors": [{}], "data": [{"k": false}]});
    differences(&documented, &other_values, false, "", &mut found);
    assert!(found.is_empty(), "{found:?}");
}

/// The interface route derives files, multiple files and JSON parameters the
/// way recipe definitions see them, for the newest or a named revision.
#[tokio::test]
async fn the_interface_route_shows_each_revision_as_the_recipe_engine_sees_it() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let registration = json!({
        "type": "object",
        "properties": {
            "image": {"type": "string", "format": "uri", "contentMediaType": "image/png"},
            "frames": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "exposure": {"type": "number"},
            "anything": {}
        },
        "required": ["image"]
    });
    let id = app
        .create_service(
            "camera",
            registration,
            json!({"type": "object", "properties": {"score": {"type": "integer"}}}),
        )
        .await;
    let (status, shown) = app.get(&format!("/services/{id}/interface")).await;
    assert_eq!(status, 200, "{shown}");
    let data = &shown["data"];
    assert_eq!(
        (data["name"].as_str(), data["version"].as_str()),
        (Some("camera"), Some("1.0.0"))
    );
    assert_eq!(
        (data["revision"].as_i64(), data["latest_revision"].as_i64()),
        (Some(1), Some(1))
    );
    let files = data["inputs"]["files"].as_array().expect("files");
    let image = files.iter().find(|f| f["name"] == "image").expect("image is a file");
    assert_eq!(image["media_types"], json!(["image/png"]));
    assert_eq!(
        (image["required"].as_bool(), image["multiple"].as_bool()),
        (Some(true), Some(false))
    );
    let frames = files.iter().find(|f| f["name"] == "frames").expect("frames is a file");
    assert_eq!(
        (frames["required"].as_bool(), frames["multiple"].as_bool()),
        (Some(false), Some(true))
    );
    let json_inputs = data["inputs"]["json"].as_array().expect("json");
    assert!(
        json_inputs
            .iter()
            .any(|p| p == &json!({"name": "exposure", "type": "number", "required": false}))
    );
    assert!(
        json_inputs
            .iter()
            .any(|p| p == &json!({"name": "anything", "required": false})),
        "no single type: no `type` ({shown})"
    );
    assert_eq!(
        data["outputs"]["json"],
        json!([{"name": "score", "type": "integer", "required": false}])
    );

    // A schema change makes revision 2; revision 1 stays readable.
    let (status, patched) = app
        .patch(
            &format!("/services/{id}"),
            &json!({"job_result_schema": {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let (_, newest) = app.get(&format!("/services/{id}/interface")).await;
    assert_eq!(newest["data"]["revision"], 2, "{newest}");
    assert_eq!(newest["data"]["outputs"]["json"][0]["required"], true);
    let (status, first) = app.get(&format!("/services/{id}/interface?revision=1")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (
            first["data"]["revision"].as_i64(),
            first["data"]["latest_revision"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(first["data"]["outputs"]["json"][0]["required"], false);

    // Bad input is a clear 4xx.
    for (path, expected) in [
        (format!("/services/{id}/interface?revision=0"), 400),
        (format!("/services/{id}/interface?revision=two"), 400),
        (format!("/services/{id}/interface?revision=9"), 404),
        (
            "/services/6f1c2a9e-4d1b-4e57-8c43-0a3f5b7d9e21/interface".to_owned(),
            404,
        ),
        ("/services/not-a-uuid/interface".to_owned(), 404),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body["errors"][0]["title"].is_string(), "{path}: {body}");
    }
}

/// PATCH of an unknown recipe type is Scale's 404 even when the body is invalid.
#[tokio::test]
async fn patching_an_unknown_recipe_type_is_not_found_whatever_the_body() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    for body in [
        json!({"title": "!!!"}),
        json!({"title": ""}),
        json!({"description": "x"}),
    ] {
        let (status, answer) = app.patch("/v6/recipe-types/no-such-type/", &body).await;
        assert_eq!(status, 404, "{body}: {answer}");
        assert_eq!(answer, json!({"detail": "Not found."}), "{body}");
    }
}

/// The operation of `document` that serves `path` (README form, `$VAR`s and
/// literal ids in it), preferring literal segments over `{param}`s.
fn operation_for<'a>(document: &'a Value, method: &reqwest::Method, path: &str) -> Option<(&'a str, &'a Value)> {
    let path = path.split('?').next().unwrap_or_default();
    let wanted: Vec<&str> = path.split('/').collect();
    let paths = document["paths"].as_object()?;
    paths
        .iter()
        .filter_map(|(template, item)| {
            let segments: Vec<&str> = template.split('/').collect();
            if segments.len() != wanted.len() {
                return None;
            }
            let mut literal = 0;
            for (t, w) in segments.iter().zip(&wanted) {
                if t.starts_with('{') {
                    continue;
                }
                if t != w {
                    return None;
                }
                literal += 1;
            }
            let operation = item.get(method.as_str().to_ascii_lowercase())?;
            Some((literal, operation))
        })
        .max_by_key(|(literal, _)| *literal)
        .and_then(|(_, operation)| Some((operation["operationId"].as_str()?, operation)))
}

fn same_shape(what: &str, readme: &Value, example: &Value) {
    let mut found = Vec::new();
    differences(readme, example, true, "", &mut found);
    differences(example, readme, true, "", &mut found);
    assert!(
        found.is_empty(),
        "{what}: the OpenAPI example and the README differ: {found:?}"
    );
}

/// `/openapi.json` shows the walkthrough's bodies as the examples of its
/// operations (the first time the walkthrough uses each), and no others.
#[tokio::test]
async fn the_openapi_examples_are_the_walkthrough_bodies() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let (status, document) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    let mut seen = std::collections::BTreeSet::new();
    for step in walkthrough() {
        let (id, operation) = operation_for(&document, &step.request.method, &step.request.path)
            .unwrap_or_else(|| panic!("README:{}: no operation serves {}", step.line, step.request.path));
        if !seen.insert(id.to_owned()) {
            continue;
        }
        if let Some(body) = &step.request.body {
            let readme: Value = serde_json::from_str(body).expect("request body is JSON");
            let example = &operation["requestBody"]["content"]["application/json"]["example"];
            same_shape(&format!("{id} request"), &readme, example);
        }
        let status = step.answer.status.to_string();
        let example = &operation["responses"][&status]["content"]["application/json"]["example"];
        same_shape(&format!("{id} {status}"), &step.answer.body, example);
    }
    let with_examples: std::collections::BTreeSet<String> = document["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .flat_map(|item| item.as_object().into_iter().flat_map(|ops| ops.values()))
        .filter(|op| op.get("x-alias-of").is_none())
        .filter(|op| {
            op["requestBody"]["content"]["application/json"]["example"].is_object()
                || op["responses"].as_object().is_some_and(|rs| {
                    rs.values()
                        .any(|r| r["content"]["application/json"]["example"].is_object())
                })
        })
        .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(with_examples, seen, "operations with examples vs the walkthrough's");
}

/// A Chromium to drive: `BRIGADE_CHROMIUM`, or Debian's `chromium` (`.ci/run`
/// installs it). Missing: the test fails in CI and is skipped, loudly, elsewhere.
fn chromium() -> Option<std::path::PathBuf> {
    let named = std::env::var_os("BRIGADE_CHROMIUM").map(std::path::PathBuf::from);
    let known = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(std::path::PathBuf::from);
    if let Some(found) = named.into_iter().chain(known).find(|p| p.is_file()) {
        return Some(found);
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !in_ci,
        "no Chromium found (set BRIGADE_CHROMIUM or `apt-get install chromium`, as .ci/run does)"
    );
    eprintln!("SKIPPED: /docs browser test: no Chromium found (set BRIGADE_CHROMIUM or `apt-get install chromium`)");
    None
}

/// `/docs` renders every operation, with the README's examples and without
/// the aliases, in a headless Chromium whose network is off: every request
/// but those to the gateway on loopback goes to a proxy on port 9, which
/// refuses, so the page works only if everything it needs is embedded.
#[tokio::test]
async fn docs_renders_the_operations_and_examples_offline_in_chromium() {
    let Some(browser) = chromium() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let profile = app.db.dir.path().join("chromium-profile");
    let mut command = tokio::process::Command::new(&browser);
    command
        .arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--disable-dev-shm-usage")
        .arg("--disable-extensions")
        .arg("--no-first-run")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--proxy-server=127.0.0.1:9")
        .arg("--proxy-bypass-list=127.0.0.1")
        .arg("--virtual-time-budget=20000")
        .arg("--dump-dom")
        .arg(app.url("/docs"));
    let output = brigade_tests::output_within(&mut command, Duration::from_secs(120), "chromium").await;
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && !dom.is_empty(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // Redoc replaced the server's plain list with its own rendering.
    assert!(
        !dom.contains("id=\"fallback\""),
        "Redoc did not render: {}",
        &dom[..dom.len().min(2000)]
    );
    let (_, document) = app.get("/openapi.json").await;
    let mut operations = 0;
    for item in document["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().into_iter().flat_map(|ops| ops.values()) {
            let Some(id) = operation["operationId"].as_str() else {
                continue;
            };
            let rendered = dom.contains(&format!("/operation/{id}\""));
            if operation.get("x-alias-of").is_some() {
                assert!(!rendered, "the alias {id} is listed as its own entry");
            } else {
                assert!(rendered, "{id} is not rendered");
                operations += 1;
            }
        }
    }
    assert!(operations >= 40, "only {operations} operations");
    assert!(!dom.contains("Scale-v6-aliases"), "the alias tag is shown");
    for shown in [
        "Request samples",
        "Response samples",
        "adds two integers",
        "instrument busy",
        "add-twice",
        "x-brigade-new-revision",
    ] {
        assert!(
            dom.to_lowercase().contains(&shown.to_lowercase()),
            "{shown:?} is not on /docs"
        );
    }
}
