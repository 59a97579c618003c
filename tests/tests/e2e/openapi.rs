//! `/openapi.json` documents exactly what the gateway serves, and `/docs`
//! renders it without needing the internet.

use std::collections::{BTreeMap, BTreeSet};

use brigade_tests::{Backend, TestApp};
use serde_json::Value;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// (METHOD, path) of every operation in an OpenAPI document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths is an object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect()
}

/// What the router is built from (`routes::table`).
fn served() -> BTreeSet<(String, String)> {
    brigade_gateway::routes::served()
        .into_iter()
        .map(|(method, path)| (method.as_str().to_owned(), path))
        .collect()
}

async fn openapi(app: &TestApp) -> Value {
    let response = app.http.get(app.url("/openapi.json")).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    serde_json::from_str(&response.text().await.expect("body")).expect("/openapi.json is JSON")
}

/// A concrete URL path for a templated one.
fn concrete(path: &str) -> String {
    path.replace("{id}", "6f1c2a9e-4d1b-4e57-8c43-0a3f5b7d9e21")
        .replace("{name}", "no-such-recipe")
        .replace("{revision_num}", "1")
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_router_serves() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let doc = openapi(&app).await;
    let documented = documented(&doc);
    let served = served();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not in /openapi.json: {undocumented:?}; in /openapi.json but not served: {unserved:?}"
    );
    // The brief's minimum: the TopChef, worker, health and Scale v6 routes.
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("POST", "/services/{id}/jobs/claim"),
        ("POST", "/jobs/{id}/complete"),
        ("GET", "/v6/recipe-types/"),
        ("GET", "/v6/recipe-types/{name}/revisions/{revision_num}/"),
    ] {
        assert!(
            documented.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path}"
        );
    }
}

/// The live router agrees too: `OPTIONS` on each documented path answers 200
/// with an `Allow` that lists exactly the documented methods (plus HEAD for
/// GET, and OPTIONS).
#[tokio::test]
async fn the_live_router_allows_exactly_the_documented_methods() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let doc = openapi(&app).await;
    let mut by_path: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (method, path) in documented(&doc) {
        by_path.entry(path).or_default().insert(method);
    }
    for (path, methods) in by_path {
        let url = app.url(&concrete(&path));
        let response = app
            .http
            .request(reqwest::Method::OPTIONS, &url)
            .send()
            .await
            .expect("OPTIONS");
        assert_eq!(response.status(), 200, "OPTIONS {path}: nothing is routed there");
        let allow: BTreeSet<String> = response.headers()["allow"]
            .to_str()
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty() && m != "OPTIONS" && m != "HEAD")
            .collect();
        assert_eq!(allow, methods, "Allow on {path}");
    }
}

/// Resolves a local `$ref` (`#/a/b`) in `doc`.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn check_refs(doc: &Value, value: &Value, broken: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref")
                && resolve(doc, reference).is_none()
            {
                broken.push(reference.clone());
            }
            map.values().for_each(|v| check_refs(doc, v, broken));
        }
        Value::Array(items) => items.iter().for_each(|v| check_refs(doc, v, broken)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_json_is_an_openapi_3_document() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let doc = openapi(&app).await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert!(!doc["paths"].as_object().expect("paths").is_empty());

    let mut broken = Vec::new();
    check_refs(&doc, &doc, &mut broken);
    assert!(broken.is_empty(), "unresolved $refs: {broken:?}");

    // Operation ids are unique, and every path parameter is declared.
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            let templated: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, templated, "{method} {path}");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
        }
    }

    // Spot checks of what the document says.
    let claim = &doc["paths"]["/services/{id}/jobs/claim"]["post"];
    assert!(claim["requestBody"]["content"]["application/json"].is_object());
    let queue = &doc["paths"]["/services/{id}/queue"]["get"]["responses"];
    assert!(queue["204"].is_object(), "the empty queue's 204 is documented");
    let create = &doc["paths"]["/services"]["post"]["responses"];
    for status in ["201", "400", "409", "413", "503"] {
        assert!(create[status].is_object(), "POST /services documents {status}");
    }
    let claim_responses = &doc["paths"]["/services/{id}/jobs/claim"]["post"]["responses"];
    assert!(claim_responses["415"].is_object(), "Brigade routes document 415");
    let list = &doc["paths"]["/v6/recipe-types/"]["get"]["parameters"];
    let names: BTreeSet<&str> = list
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in ["page", "page_size", "keyword", "is_active", "is_system", "order"] {
        assert!(names.contains(name), "Scale list documents {name}");
    }
}

#[tokio::test]
async fn docs_page_renders_the_document_offline() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let response = app.http.get(app.url("/docs")).send().await.expect("GET /docs");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.expect("body");
    assert!(page.to_ascii_lowercase().starts_with("<!doctype html>"));
    assert!(page.contains("/openapi.json"), "the page loads /openapi.json");
    // Nothing is fetched from elsewhere: no absolute URLs at all.
    assert!(
        !page.contains("http://") && !page.contains("https://") && !page.contains("//cdn"),
        "the docs page must not load anything from the internet"
    );
}
