//! `GET /v6/recipes/{id}/events/` over real HTTP: server-sent events relaying
//! recipe-types' `WatchRecipe`, each event the recipe's details as the GET
//! route gives them; events arrive as nodes change, and the stream ends once
//! the recipe is finished. An unknown id is Scale's 404 before any stream.

use std::time::Duration;

use brigade_tests::{Backend, TestApp, eventually};
use serde_json::{Value, json};

use crate::recipes::{integer_props, job, n_input, rin};
use crate::recipes_rest::{queue_chain_of_two, work_one};

const DEADLINE: Duration = Duration::from_secs(60);

/// The events of one response, parsed as they arrive (`event:` and `data:` lines; comments skipped).
pub(crate) struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next (event name, data as JSON); `None` when the stream ended.
    pub(crate) async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).expect("event data is JSON")));
            }
            let chunk = tokio::time::timeout(DEADLINE, self.response.chunk())
                .await
                .expect("an event or the end within the deadline")
                .expect("stream read")?;
            self.buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }
}

fn state(recipe: &Value, node: &str) -> String {
    recipe["details"]["nodes"][node]["node_type"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn recipe_events_follow_the_nodes_and_end_when_the_recipe_is_done() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let service = app
        .create_service("add", integer_props(&["n"]), integer_props(&["n"]))
        .await;
    let id = queue_chain_of_two(&app, "Add Twice", 1).await;

    let response = app
        .http
        .get(app.url(&format!("/v6/recipes/{id}/events")))
        .send()
        .await
        .expect("GET events");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/event-stream")),
        "{:?}",
        response.headers()
    );
    let mut events = Events::new(response);

    // First the recipe as it is: the same JSON the details route answers.
    let (name, first) = events.next().await.expect("a first event");
    assert_eq!(name, "recipe");
    assert_eq!(first["id"], id);
    let (_, details) = app.get(&format!("/v6/recipes/{id}/")).await;
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(keys(&first), keys(&details), "the details route's shape");
    assert_ne!(state(&first, "a"), "COMPLETED", "{first}");

    // Work a: an event shows a COMPLETED while b is not.
    eventually(DEADLINE, "a's job worked", || async {
        work_one(&app, &service).await.then_some(())
    })
    .await;
    let mut seen = Vec::new();
    let middle = loop {
        let (_, recipe) = events.next().await.expect("an event after a's job");
        seen.push((state(&recipe, "a"), state(&recipe, "b")));
        if state(&recipe, "a") == "COMPLETED" {
            break recipe;
        }
    };
    assert_ne!(state(&middle, "b"), "COMPLETED", "{seen:?}");

    // Work b: the last event shows the recipe completed, then the stream ends.
    eventually(DEADLINE, "b's job worked", || async {
        work_one(&app, &service).await.then_some(())
    })
    .await;
    let mut last = middle;
    while let Some((name, recipe)) = events.next().await {
        assert_eq!(name, "recipe", "{recipe}");
        last = recipe;
    }
    assert!(
        last["completed"].is_string(),
        "the stream ended on the finished recipe: {last}"
    );
    assert_eq!(
        (state(&last, "a"), state(&last, "b")),
        ("COMPLETED".to_owned(), "COMPLETED".to_owned())
    );

    // A finished recipe: one event, then the end.
    let response = app
        .http
        .get(app.url(&format!("/v6/recipes/{id}/events/")))
        .send()
        .await
        .expect("GET events again");
    let mut again = Events::new(response);
    assert_eq!(again.next().await.expect("the recipe").1["id"], id);
    assert!(again.next().await.is_none(), "ends at once");

    // Unknown ids: Scale's 404 before any stream.
    for path in [
        "/v6/recipes/999999/events/",
        "/v6/recipes/x/events",
        "/v7/recipes/0/events/",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["detail"], "Not found.", "{path}");
    }
}

/// An open stream does not hold the gateway up: stopping Brigade (the gateway
/// first, while recipe-types still runs) ends the stream and finishes.
#[tokio::test]
async fn a_stopping_gateway_ends_open_recipe_streams() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    app.create_service("add", integer_props(&["n"]), integer_props(&["n"]))
        .await;
    let definition = json!({"version": "7", "input": n_input(), "nodes": {
        "a": job("add", json!([]), json!({"n": rin("n")})),
    }});
    let (status, created) = app
        .post("/v6/recipe-types/", &json!({"title": "Once", "definition": definition}))
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, recipe) = app
        .post(
            "/v6/recipes/",
            &json!({"recipe_type_name": "once", "input": {"json": {"n": 1}}}),
        )
        .await;
    assert_eq!(status, 201, "{recipe}");
    let response = app
        .http
        .get(app.url(&format!("/v6/recipes/{}/events/", recipe["id"])))
        .send()
        .await
        .expect("GET events");
    let mut events = Events::new(response);
    let (_, first) = events.next().await.expect("the running recipe");
    assert!(first["completed"].is_null(), "{first}");
    let system = app.system.take().expect("running");
    tokio::time::timeout(DEADLINE, system.stop())
        .await
        .expect("Brigade stops with a stream open")
        .expect("clean stop");
    let rest = tokio::time::timeout(DEADLINE, async {
        let mut more = 0;
        while events.next().await.is_some() {
            more += 1;
        }
        more
    })
    .await
    .expect("the stream ended");
    assert_eq!(rest, 0, "no event after the first: the recipe did not change");
}
