use proptest::prelude::*;
use serde_json::{Value, json};

use crate::engine::names;
use crate::engine::test_support::*;
use crate::engine::{RecipeData, validate_recipe_input};

fn interface() -> crate::definition::Interface {
    iface(
        vec![file("image", &[], true, false), file("extras", &[], false, true)],
        vec![
            jparam("count", "integer", true),
            jparam("label", "string", false),
            jparam("ratio", "number", false),
        ],
    )
}

fn errors(v: Value) -> Vec<(String, String)> {
    match validate_recipe_input(&interface(), &v) {
        Ok(data) => panic!("should be rejected, got {data:?}"),
        Err(errors) => errors.into_iter().map(|m| (m.name, m.description)).collect(),
    }
}

#[test]
fn valid_input_is_kept_in_scale_shape() {
    let v = json!({"files": {"image": ["s3://b/a.tif"], "extras": ["s3://b/1", "https://h/2"]},
                   "json": {"count": 3, "ratio": 0.5}});
    let data = validate_recipe_input(&interface(), &v).unwrap_or_default();
    assert_eq!(data.files["extras"].len(), 2);
    assert_eq!(data.to_json(), v);
    let back: Result<RecipeData, _> = serde_json::from_value(v);
    assert_eq!(back.ok(), Some(data));
}

#[test]
fn every_problem_is_named() {
    let found = errors(json!({
        "files": {"image": ["s3://b/a.tif", "s3://b/b.tif"], "extras": ["not a uri", 5], "count": ["s3://x"], "ghost": []},
        "json": {"label": 7, "ratio": "half", "image": "x", "phantom": 1},
    }));
    let has = |name: &str, text: &str| found.iter().any(|(n, d)| n == name && d.contains(text));
    assert!(
        has(names::MULTIPLE_FILES, "Parameter 'image' cannot accept multiple files"),
        "{found:#?}"
    );
    assert!(has(names::INVALID_FILE_URI, "\"not a uri\" is not a URI"), "{found:#?}");
    assert!(has(names::INVALID_FILE_URI, "5 is not a URI"), "{found:#?}");
    assert!(
        has(
            names::MISMATCHED_PARAM_TYPE,
            "Parameter 'count' must receive a JSON value"
        ),
        "{found:#?}"
    );
    assert!(
        has(names::MISMATCHED_PARAM_TYPE, "Parameter 'image' must receive a file"),
        "{found:#?}"
    );
    assert!(
        has(names::UNKNOWN_INPUT, "Parameter 'ghost' is not defined"),
        "{found:#?}"
    );
    assert!(
        has(names::UNKNOWN_INPUT, "Parameter 'phantom' is not defined"),
        "{found:#?}"
    );
    assert!(
        has(names::INVALID_JSON_TYPE, "Parameter 'label' must receive a string"),
        "{found:#?}"
    );
    assert!(
        has(names::INVALID_JSON_TYPE, "Parameter 'ratio' must receive a number"),
        "{found:#?}"
    );
    assert!(
        !has(names::PARAM_REQUIRED, "'image'"),
        "image was given, wrongly: {found:#?}"
    );
    assert_eq!(found.len(), 9, "{found:#?}");
}

#[test]
fn missing_required_inputs_are_named() {
    let found = errors(json!({"files": {}, "json": {}}));
    assert_eq!(
        found,
        vec![
            (
                names::PARAM_REQUIRED.to_owned(),
                "Parameter 'image' is required".to_owned()
            ),
            (
                names::PARAM_REQUIRED.to_owned(),
                "Parameter 'count' is required".to_owned()
            ),
        ]
    );
    let empty_list = errors(json!({"files": {"image": []}, "json": {"count": 1}}));
    assert_eq!(empty_list.len(), 1);
    assert_eq!(empty_list[0].0, names::PARAM_REQUIRED);
}

#[test]
fn integers_are_whole_numbers() {
    let ok = json!({"files": {"image": ["s3://b/a"]}, "json": {"count": 4}});
    assert!(validate_recipe_input(&interface(), &ok).is_ok());
    let found = errors(json!({"files": {"image": ["s3://b/a"]}, "json": {"count": 4.5}}));
    assert_eq!(
        found,
        vec![(
            names::INVALID_JSON_TYPE.to_owned(),
            "Parameter 'count' must receive an integer".to_owned()
        )]
    );
}

#[test]
fn the_shape_itself_is_checked() {
    let not_object = errors(json!([1]));
    assert_eq!(not_object[0].0, names::INVALID_DATA);
    let found = errors(json!({"files": [], "json": {"count": 1}, "extra": {}}));
    let names_found: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names_found,
        [names::INVALID_DATA, names::INVALID_DATA, names::PARAM_REQUIRED]
    );
    let found = errors(json!({"files": {"image": "s3://b/a"}, "json": {"count": 1}}));
    assert_eq!(found[0].0, names::INVALID_DATA);
}

#[test]
fn an_empty_interface_takes_empty_input() {
    let empty = crate::definition::Interface::default();
    assert_eq!(validate_recipe_input(&empty, &json!({})), Ok(RecipeData::default()));
    assert_eq!(
        validate_recipe_input(&empty, &json!({"files": null, "json": {}})),
        Ok(RecipeData::default())
    );
}

fn item() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("s3://bucket/a.tif")),
        Just(json!("https://h/b.png")),
        Just(json!("not a uri")),
        Just(json!(5)),
        Just(json!(2.5)),
        Just(json!(true)),
        Just(json!("text")),
    ]
}

proptest! {
    /// Accepted input always satisfies the interface and keeps every value
    /// given; each unknown name is reported.
    #[test]
    fn accepted_input_satisfies_the_interface(
        files in proptest::collection::btree_map(
            prop::sample::select(vec!["image", "extras", "count", "ghost"]),
            proptest::collection::vec(item(), 0..3), 0..4),
        json in proptest::collection::btree_map(
            prop::sample::select(vec!["count", "label", "ratio", "image", "phantom"]), item(), 0..5),
    ) {
        let given = json!({"files": files, "json": json});
        match validate_recipe_input(&interface(), &given) {
            Ok(data) => {
                prop_assert_eq!(data.files.get("image").map(Vec::len), Some(1));
                prop_assert!(data.json.get("count").is_some_and(serde_json::Value::is_i64));
                prop_assert!(data.files.values().flatten().all(|u| crate::engine::is_uri(u)));
                // An empty optional file list counts as not given.
                let non_empty = files.values().filter(|v| !v.is_empty()).count();
                prop_assert_eq!(data.files.len() + data.json.len(), non_empty + json.len());
            }
            Err(errors) => {
                let unknown = files.keys().filter(|k| **k == "ghost").count()
                    + json.keys().filter(|k| **k == "phantom").count();
                let reported = errors.iter().filter(|m| m.name == names::UNKNOWN_INPUT).count();
                prop_assert_eq!(reported, unknown);
            }
        }
    }
}
