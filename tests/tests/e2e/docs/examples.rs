//! `/openapi.json` carries the walkthrough's bodies as examples.

use brigade_tests::{Backend, TestApp};
use serde_json::Value;

use super::readme::walkthrough;
use super::walkthrough::differences;

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
