//! Builders shared by the unit and property tests.

use serde_json::{Value, json};

use super::{
    Definition, FileParameter, Interface, JobTypeInterfaces, JobTypeKey, JsonParameter, Message, RecipeTypeKey,
    Resolved, parse_definition,
};

pub(crate) fn parse(v: Value) -> Definition {
    match parse_definition(&v) {
        Ok(def) => def,
        Err(errors) => panic!("definition should parse: {errors:#?}\n{v:#}"),
    }
}

pub(crate) fn parse_err(v: Value) -> Vec<Message> {
    match parse_definition(&v) {
        Ok(def) => panic!("definition should not parse: {def:#?}"),
        Err(errors) => errors,
    }
}

pub(crate) fn names(msgs: &[Message]) -> Vec<&str> {
    msgs.iter().map(|m| m.name.as_str()).collect()
}

pub(crate) fn job_node(name: &str, version: &str, revision: i64, deps: Value, inputs: Value) -> Value {
    json!({"dependencies": deps, "input": inputs, "node_type": {
        "node_type": "job", "job_type_name": name, "job_type_version": version, "job_type_revision": revision}})
}

pub(crate) fn recipe_node(name: &str, revision: i64, deps: Value, inputs: Value) -> Value {
    json!({"dependencies": deps, "input": inputs, "node_type": {
        "node_type": "recipe", "recipe_type_name": name, "recipe_type_revision": revision}})
}

/// A condition node with an empty interface and an empty filter.
pub(crate) fn condition_node(deps: Value, inputs: Value) -> Value {
    cond_node(deps, inputs, json!({"files": [], "json": []}), json!({}))
}

pub(crate) fn cond_node(deps: Value, inputs: Value, interface: Value, filter: Value) -> Value {
    json!({"dependencies": deps, "input": inputs, "node_type": {
        "node_type": "condition", "interface": interface, "data_filter": filter}})
}

pub(crate) fn file(name: &str, media: &[&str], required: bool, multiple: bool) -> FileParameter {
    FileParameter {
        name: name.into(),
        media_types: media.iter().map(std::string::ToString::to_string).collect(),
        required,
        multiple,
    }
}

pub(crate) fn jparam(name: &str, json_type: &str, required: bool) -> JsonParameter {
    JsonParameter {
        name: name.into(),
        json_type: Some(json_type.into()),
        required,
    }
}

pub(crate) fn iface(files: Vec<FileParameter>, json: Vec<JsonParameter>) -> Interface {
    Interface { files, json }
}

pub(crate) fn job_key(name: &str, version: &str, revision: i64) -> JobTypeKey {
    JobTypeKey {
        name: name.into(),
        version: version.into(),
        revision,
    }
}

pub(crate) fn with_job(mut r: Resolved, key: JobTypeKey, inputs: Interface, outputs: Interface) -> Resolved {
    r.job_types.insert(key, Some(JobTypeInterfaces { inputs, outputs }));
    r
}

pub(crate) fn with_recipe(mut r: Resolved, name: &str, revision: i64, input: Interface) -> Resolved {
    r.recipe_types.insert(
        RecipeTypeKey {
            name: name.into(),
            revision,
        },
        Some(input),
    );
    r
}
