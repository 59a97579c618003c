//! The interface route and a recipe-type PATCH's answer for an unknown type.

use brigade_tests::{Backend, TestApp};
use serde_json::json;

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
