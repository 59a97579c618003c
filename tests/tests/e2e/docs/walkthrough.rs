//! Runs the README walkthrough in order against a fresh system: the status,
//! every key shown, and every number, boolean, null and upper-case string (a
//! status or an outcome) must match; ids, tokens and times are free.

use std::collections::BTreeMap;
use std::time::Duration;

use brigade_tests::{Backend, TestApp, eventually};
use serde_json::{Value, json};

use super::readme::{DOCUMENTED_BASE, Step, walkthrough};

const DEADLINE: Duration = Duration::from_secs(30);

fn enum_like(s: &str) -> bool {
    s.len() >= 2 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// Where `actual` differs from what the README shows.
pub(super) fn differences(documented: &Value, actual: &Value, strict: bool, at: &str, out: &mut Vec<String>) {
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
        ("PATCH", "/v6/recipe-types/add-thrice/"),
    ] {
        assert!(
            shown.contains(&(method.to_owned(), path.to_owned())),
            "the README walkthrough lost {method} {path}: {shown:?}"
        );
    }
    // The recipe wires node B's input from node A's output, and C's from B's.
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
    // Three nodes in a chain: the third takes the second's output.
    assert_eq!(
        recipe_type["definition"]["nodes"].as_object().map(serde_json::Map::len),
        Some(3)
    );
    assert_eq!(
        recipe_type["definition"]["nodes"]["third"]["input"]["a"],
        json!({"type": "dependency", "node": "second", "output": "sum"})
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
