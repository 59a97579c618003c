//! The REST surface's newer rules, through real HTTP: API metadata from
//! configuration, method override only on POST, JSON-only writes, JSON errors for
//! bad paths, `Retry-After` on 503, capped list filters, bounded job lists with
//! `links.next`, per-connection read deadlines, TopChef's compatibility fixes, and
//! the checks of the queue-control and recipe fields the gateway makes itself.

use std::time::Duration;

use brigade_gateway::config::Config;
use brigade_tests::{Backend, TestApp, read};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn titles(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A second gateway in front of the app's services, with its own settings.
async fn gateway(app: &TestApp, tune: impl FnOnce(&mut Config)) -> String {
    brigade_tests::gateway_on(app.job_queue_url(), app.recipe_types_url(), tune).await
}

#[tokio::test]
async fn api_metadata_comes_from_configuration() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (status, body) = app.get("/").await;
    assert_eq!(status, 200);
    let data = &body["data"];
    assert_ne!(data["maintainer_name"], "Michal Kononenko", "{data}");
    assert_ne!(data["maintainer_email"], "michalkononenko@gmail.com", "{data}");
    for key in [
        "documentation_url",
        "maintainer_email",
        "maintainer_name",
        "source_code_repository_url",
        "version",
    ] {
        assert!(data[key].as_str().is_some_and(|v| !v.is_empty()), "{key}: {data}");
    }
    let base = gateway(&app, |c| {
        c.limits.api.maintainer_name = "Instrument Lab".to_owned();
        c.limits.api.maintainer_email = "lab@example.org".to_owned();
    })
    .await;
    let (_, body) = read(app.http.get(format!("{base}/")).send().await.expect("GET /")).await;
    assert_eq!(body["data"]["maintainer_name"], "Instrument Lab");
    assert_eq!(body["data"]["maintainer_email"], "lab@example.org");
}

#[tokio::test]
async fn method_override_works_only_on_post() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let service = json!({"name": "ovr", "description": "d", "job_registration_schema": {}, "job_result_schema": {}});
    // A HEAD or GET that asks to be a POST stays a read: nothing is created.
    for method in [reqwest::Method::HEAD, reqwest::Method::GET] {
        let r = (app.http.request(method.clone(), app.url("/services")))
            .header("X-HTTP-Method-Override", "POST")
            .json(&service)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{method}");
    }
    let (_, list) = app.get("/services").await;
    assert_eq!(list["data"], json!([]), "no service was created: {list}");
    // A POST may become a PATCH where PATCH is served…
    let id = app.create_service("ovr", json!({}), json!({})).await;
    let r = (app.http.post(app.url(&format!("/services/{id}"))))
        .header("X-HTTP-Method-Override", "PATCH")
        .json(&json!({"description": "patched"}))
        .send()
        .await
        .expect("override");
    let (status, body) = read(r).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["description"], "patched");
    // …and not to a method the route does not serve.
    let r = (app.http.post(app.url("/services")))
        .header("X-HTTP-Method-Override", "DELETE")
        .send()
        .await
        .expect("override");
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn cross_site_form_posts_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let id = app.create_service("forms", json!({}), json!({})).await;
    let (_, job) = app
        .post(&format!("/services/{id}/jobs"), &json!({"parameters": {}}))
        .await;
    let job_id = job["data"]["id"].as_str().expect("job id").to_owned();
    let form = "application/x-www-form-urlencoded";
    // Brigade's own routes: 415 in TopChef's envelope, even with an empty body.
    for path in [
        format!("/jobs/{job_id}/cancel"),
        format!("/services/{id}/jobs/claim"),
        format!("/services/{id}/jobs/batch"),
    ] {
        for content_type in [form, "text/plain", "multipart/form-data; boundary=x"] {
            let r = (app.http.post(app.url(&path)))
                .header("content-type", content_type)
                .send()
                .await
                .expect("post");
            let (status, body) = read(r).await;
            assert_eq!(status, 415, "{path} {content_type}: {body}");
            assert_eq!(body["errors"][0]["status_code"], 415, "{body}");
        }
    }
    let (_, detail) = app.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(
        detail["data"]["status"], "REGISTERED",
        "the form post cancelled nothing"
    );
    // TopChef's routes: its 400 `Request Not JSON`.
    let r = (app.http.post(app.url(&format!("/services/{id}/jobs"))))
        .header("content-type", form)
        .body("parameters=1")
        .send()
        .await
        .expect("post");
    let (status, body) = read(r).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(titles(&body), vec!["Request Not JSON"]);
    // Scale's routes: 415 in `{"detail"}`.
    for path in ["/v6/recipe-types/", "/v6/recipes/", "/v6/recipes/1/cancel/"] {
        let r = (app.http.post(app.url(path)))
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .expect("post");
        let (status, body) = read(r).await;
        assert_eq!(status, 415, "{path}: {body}");
        assert!(body["detail"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn a_path_that_is_not_utf8_gets_a_json_error() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (status, body) = app.get("/services/%FF%FE").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["status_code"], 400, "{body}");
    let (status, body) = app.get("/v6/recipe-types/%FF/").await;
    assert_eq!(status, 400);
    assert!(body["detail"].is_string(), "{body}");
}

#[tokio::test]
async fn unavailable_answers_carry_retry_after() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let base = gateway(&app, |c| {
        c.job_queue_url = dead.clone();
        c.recipe_types_url = dead;
    })
    .await;
    for path in ["/services", "/v6/recipe-types/"] {
        let r = app.http.get(format!("{base}{path}")).send().await.expect("GET");
        assert_eq!(r.status(), 503, "{path}");
        assert!(r.headers().get("retry-after").is_some(), "{path} has Retry-After");
        let (_, body) = read(r).await;
        assert!(body.is_object(), "{path}: JSON error {body}");
    }
}

#[tokio::test]
async fn list_filters_are_capped() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let many = |n: usize, value: &str| {
        (0..n)
            .map(|i| format!("keyword={value}{i}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let (status, _) = app.get(&format!("/v6/recipe-types/?{}", many(100, "k"))).await;
    assert_eq!(status, 200, "100 keywords are fine");
    let (status, body) = app.get(&format!("/v6/recipe-types/?{}", many(101, "k"))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].is_string());
    let long = "x".repeat(201);
    let (status, _) = app.get(&format!("/v6/recipe-types/?keyword={long}")).await;
    assert_eq!(status, 400);
    let statuses = (0..101).map(|_| "status=ERROR").collect::<Vec<_>>().join("&");
    let (status, body) = app.get(&format!("/jobs?{statuses}")).await;
    assert_eq!(status, 400, "{body}");
    for query in [
        "status=bogus",
        "status=",
        "status=REGISTERED,",
        "since=yesterday",
        "until=2026-13-01",
        "page_size=0",
    ] {
        let (status, body) = app.get(&format!("/jobs?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(titles(&body), vec!["Deserialization Error From Client Data"], "{query}");
    }
    let (status, _) = app
        .get("/jobs?status=registered,WORKING&since=2020-01-01T00:00:00Z")
        .await;
    assert_eq!(status, 200);
}

/// Follows `links.next` from `first` to the end, collecting the ids under `pick`.
async fn follow(app: &TestApp, first: String, pick: fn(&Value) -> Vec<String>, max: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = Some(first);
    while let Some(url) = next {
        let (status, body) = read(app.http.get(&url).send().await.expect("GET")).await;
        assert_eq!(status, 200, "{url}: {body}");
        let page = pick(&body);
        assert!(
            page.len() <= max,
            "{url} answered {} items, more than {max}",
            page.len()
        );
        ids.extend(page);
        next = body["links"]["next"].as_str().map(str::to_owned);
        assert!(ids.len() <= 100, "links.next never ends");
    }
    ids
}

#[tokio::test]
async fn job_lists_are_bounded_and_link_to_the_rest() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let base = gateway(&app, |c| c.limits.max_list_items = 3).await;
    let id = app.create_service("bounded", json!({}), json!({})).await;
    let mut submitted = Vec::new();
    for n in 0..7 {
        let (_, job) = app
            .post(&format!("/services/{id}/jobs"), &json!({"parameters": {"n": n}}))
            .await;
        submitted.push(job["data"]["id"].as_str().expect("id").to_owned());
    }
    let data_ids = |body: &Value| -> Vec<String> {
        (body["data"].as_array().into_iter().flatten())
            .filter_map(|j| j["id"].as_str().map(str::to_owned))
            .collect()
    };
    let embedded_ids = |body: &Value| -> Vec<String> {
        (body["data"]["jobs"].as_array().into_iter().flatten())
            .filter_map(|j| j["id"].as_str().map(str::to_owned))
            .collect()
    };
    for (path, pick) in [
        ("/jobs".to_owned(), data_ids as fn(&Value) -> Vec<String>),
        (format!("/services/{id}/jobs"), data_ids),
        (format!("/services/{id}"), embedded_ids),
    ] {
        let ids = follow(&app, format!("{base}{path}"), pick, 3).await;
        assert_eq!(ids, submitted, "{path}: every job once, oldest first");
    }
    // A page size above the limit is held to it.
    let ids = follow(&app, format!("{base}/jobs?page_size=500"), data_ids, 3).await;
    assert_eq!(ids.len(), 7);
    // Filters travel along `links.next`.
    let (_, page) = read(
        app.http
            .get(format!("{base}/jobs?status=REGISTERED&page_size=2"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    let next = page["links"]["next"].as_str().expect("next");
    assert!(
        next.contains("status=REGISTERED") && next.contains("page_size=2"),
        "{next}"
    );
}

#[tokio::test]
async fn stalled_headers_and_bodies_time_out_per_connection() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let base = gateway(&app, |c| {
        c.limits.header_read_timeout_ms = 300;
        c.limits.body_read_timeout_ms = 300;
    })
    .await;
    let addr = base.trim_start_matches("http://").to_owned();
    // A body that never finishes: 408 once its deadline passes.
    let mut slow_body = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let head = "POST /services HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{";
    slow_body.write_all(head.as_bytes()).await.expect("write");
    // Headers that never finish: the connection is closed.
    let mut slow_head = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    slow_head
        .write_all(b"GET /services HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("write");
    // Meanwhile other clients are served.
    let (status, _) = read(app.http.get(format!("{base}/services")).send().await.expect("GET")).await;
    assert_eq!(status, 200);
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), slow_body.read(&mut answer))
        .await
        .expect("the stalled body is answered within its deadline")
        .expect("read");
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let closed = tokio::time::timeout(Duration::from_secs(5), slow_head.read(&mut answer))
        .await
        .expect("the stalled headers end within their deadline");
    assert!(matches!(closed, Ok(0) | Err(_)), "the connection is closed: {closed:?}");
}

#[tokio::test]
async fn topchef_compatibility_fixes() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    // `"version": ""` is a 400, on create and on PATCH.
    let (status, body) = app
        .post(
            "/services",
            &json!({"name": "v", "description": "d", "job_registration_schema": {}, "job_result_schema": {}, "version": ""}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("version"), "{body}");
    let id = app.create_service("compat", json!({}), json!({})).await;
    let (status, body) = app.patch(&format!("/services/{id}"), &json!({"version": ""})).await;
    assert_eq!(status, 400, "{body}");
    // PATCH /services/{id}/jobs is a heartbeat.
    let r = app
        .http
        .patch(app.url(&format!("/services/{id}/jobs")))
        .send()
        .await
        .expect("PATCH");
    let (status, body) = read(r).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["meta"]
            .as_str()
            .is_some_and(|m| m.starts_with("Service checked in at ")),
        "{body}"
    );
    let (status, _) = app
        .patch("/services/6f1c2a9e-4d1b-4e57-8c43-0a3f5b7d9e21/jobs", &json!({}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn queue_control_fields_are_checked() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let id = app.create_service("controls", json!({}), json!({})).await;
    let (status, service) = app.get(&format!("/services/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(service["data"]["max_concurrency"], Value::Null, "no limit by default");
    assert_eq!(service["data"]["paused"], false);
    let submit = format!("/services/{id}/jobs");
    for (field, value) in [
        ("priority", json!("high")),
        ("priority", json!(1.5)),
        ("run_at", json!("tomorrow")),
        ("run_at", json!(12)),
        ("idempotency_key", json!("")),
        ("idempotency_key", json!(7)),
    ] {
        let mut body = json!({"parameters": {}});
        body[field] = value.clone();
        let (status, answer) = app.post(&submit, &body).await;
        assert_eq!(status, 400, "{field}={value}: {answer}");
        assert!(answer.to_string().contains(field), "{answer}");
        let (status, _) = app
            .post(&format!("/services/{id}/jobs/batch"), &{
                let mut b = json!({"parameters": [{}]});
                b[field] = value.clone();
                b
            })
            .await;
        assert_eq!(status, 400, "batch {field}={value}");
    }
    for (field, value) in [
        ("max_concurrency", json!(0)),
        ("max_concurrency", json!("1")),
        ("paused", json!("yes")),
    ] {
        let mut body =
            json!({"name": "c2", "description": "d", "job_registration_schema": {}, "job_result_schema": {}});
        body[field] = value.clone();
        let (status, answer) = app.post("/services", &body).await;
        assert_eq!(status, 400, "{field}={value}: {answer}");
        let (status, _) = app.patch(&format!("/services/{id}"), &json!({ field: value })).await;
        assert_eq!(status, 400, "PATCH {field}={value}");
    }
    for (path, body) in [
        (format!("/services/{id}/jobs/cancel"), json!({})),
        (format!("/services/{id}/jobs/retry"), json!({"status": "DONE"})),
        (
            format!("/services/{id}/jobs/retry"),
            json!({"status": ["ERROR"], "since": "soon"}),
        ),
    ] {
        let (status, answer) = app.post(&path, &body).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
    }
    let (status, _) = app
        .post(
            "/jobs/6f1c2a9e-4d1b-4e57-8c43-0a3f5b7d9e21/heartbeat",
            &json!({"lease_token": "t", "progress": 101}),
        )
        .await;
    assert_eq!(status, 400, "progress is 0–100");
}

#[tokio::test]
async fn recipe_requests_are_checked_in_scales_words() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    for path in [
        "/v6/recipes/abc/",
        "/v6/recipes/0/",
        "/v7/recipes/-1",
        "/v6/recipes/1.5/cancel/",
    ] {
        let r = (app.http.get(app.url(path))).send().await.expect("GET");
        let status = r.status().as_u16();
        let (_, body) = read(r).await;
        assert!(status == 404 || status == 405, "{path}: {status}");
        assert!(body["detail"].is_string(), "{path}: {body}");
    }
    for (body, expected) in [
        (json!({"input": {}}), "recipe_type_id"),
        (json!({"recipe_type_id": "four", "input": {}}), "recipe_type_id"),
        (json!({"recipe_type_name": 4, "input": {}}), "recipe_type_name"),
        (json!({"recipe_type_id": 1}), "input"),
        (json!({"recipe_type_id": 1, "input": []}), "input"),
        (
            json!({"recipe_type_id": 1, "input": {}, "revision_num": 0}),
            "revision_num",
        ),
        (
            json!({"recipe_type_id": 1, "input": {}, "configuration": 3}),
            "configuration",
        ),
    ] {
        for prefix in ["/v6/recipes/", "/v7/recipes"] {
            let (status, answer) = app.post(prefix, &body).await;
            assert_eq!(status, 400, "{prefix} {body}: {answer}");
            let detail = answer["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(expected), "{body}: {detail}");
        }
    }
    for body in [
        json!({}),
        json!({"forced_nodes": 1}),
        json!({"forced_nodes": {"all": "x"}}),
    ] {
        let (status, answer) = app.post("/v6/recipes/1/reprocess/", &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["detail"].is_string());
    }
    for query in [
        "status=BOGUS",
        "started=yesterday",
        "recipe_type_id=x",
        "recipe_id=1&recipe_id=y",
        "is_superseded=maybe",
        "order=name",
    ] {
        let (status, answer) = app.get(&format!("/v6/recipes/?{query}")).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert!(answer["detail"].is_string(), "{query}: {answer}");
    }
}
