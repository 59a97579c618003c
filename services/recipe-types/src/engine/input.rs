//! Recipe input (Scale's data shape) checked against the recipe type's input
//! interface.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::names;
use crate::definition::{FileParameter, Interface, Message, Parameter};

/// Data in Scale's v6 shape: `{"files": {name: [uri, …]}, "json": {name: value}}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecipeData {
    #[serde(default)]
    pub files: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub json: Map<String, Value>,
}

impl RecipeData {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Checks recipe input against `interface`, naming every problem: a missing
/// required input, a JSON value of the wrong type, a file input given
/// something other than URIs or more than one file when it takes one, and
/// an input the interface does not declare.
pub fn validate_recipe_input(interface: &Interface, input: &Value) -> Result<RecipeData, Vec<Message>> {
    let mut errors = Vec::new();
    let Some(top) = input.as_object() else {
        return Err(vec![Message::new(
            names::INVALID_DATA,
            "Recipe input must be a JSON object",
        )]);
    };
    for key in top.keys().filter(|k| *k != "files" && *k != "json") {
        errors.push(Message::new(
            names::INVALID_DATA,
            format!("Recipe input has an unknown section '{key}': expected 'files' and 'json'"),
        ));
    }
    let files = section(top, "files", &mut errors);
    let json = section(top, "json", &mut errors);

    let mut data = RecipeData::default();
    for (name, value) in &files {
        match interface.parameter(name) {
            Some(Parameter::File(p)) => {
                if let Some(uris) = check_files(p, value, &mut errors) {
                    data.files.insert(name.clone(), uris);
                }
            }
            Some(Parameter::Json(_)) => errors.push(Message::new(
                names::MISMATCHED_PARAM_TYPE,
                format!("Parameter '{name}' must receive a JSON value, not files"),
            )),
            None => errors.push(unknown(name)),
        }
    }
    for (name, value) in &json {
        match interface.parameter(name) {
            Some(Parameter::Json(p)) => match p.json_type.as_deref() {
                Some(t) if !json_type_matches(t, value) => errors.push(Message::new(
                    names::INVALID_JSON_TYPE,
                    format!("Parameter '{name}' must receive {}", with_article(t)),
                )),
                _ => {
                    data.json.insert(name.clone(), value.clone());
                }
            },
            Some(Parameter::File(_)) => errors.push(Message::new(
                names::MISMATCHED_PARAM_TYPE,
                format!("Parameter '{name}' must receive a file"),
            )),
            None => errors.push(unknown(name)),
        }
    }
    for param in interface.parameters() {
        if !param.required() {
            continue;
        }
        let name = param.name();
        if !files.contains_key(name) && !json.contains_key(name) {
            errors.push(Message::new(
                names::PARAM_REQUIRED,
                format!("Parameter '{name}' is required"),
            ));
        }
    }
    if errors.is_empty() { Ok(data) } else { Err(errors) }
}

fn section(top: &Map<String, Value>, key: &str, errors: &mut Vec<Message>) -> Map<String, Value> {
    match top.get(key) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            errors.push(Message::new(
                names::INVALID_DATA,
                format!("Recipe input '{key}' must be a JSON object"),
            ));
            Map::new()
        }
    }
}

fn unknown(name: &str) -> Message {
    Message::new(names::UNKNOWN_INPUT, format!("Parameter '{name}' is not defined"))
}

fn check_files(p: &FileParameter, value: &Value, errors: &mut Vec<Message>) -> Option<Vec<String>> {
    let name = &p.name;
    let Some(items) = value.as_array() else {
        errors.push(Message::new(
            names::INVALID_DATA,
            format!("Parameter '{name}' must receive a list of file URIs"),
        ));
        return None;
    };
    let mut uris = Vec::new();
    for item in items {
        match item.as_str().filter(|s| is_uri(s)) {
            Some(uri) => uris.push(uri.to_owned()),
            None => errors.push(Message::new(
                names::INVALID_FILE_URI,
                format!("Parameter '{name}' must receive file URIs: {item} is not a URI"),
            )),
        }
    }
    if items.is_empty() && p.required {
        errors.push(Message::new(
            names::PARAM_REQUIRED,
            format!("Parameter '{name}' is required"),
        ));
    }
    if !p.multiple && items.len() > 1 {
        errors.push(Message::new(
            names::MULTIPLE_FILES,
            format!("Parameter '{name}' cannot accept multiple files"),
        ));
    }
    (uris.len() == items.len() && !items.is_empty()).then_some(uris)
}

/// An absolute URI with a scheme (`s3://…`, `https://…`, `file:///…`).
pub fn is_uri(s: &str) -> bool {
    url::Url::parse(s).is_ok()
}

fn json_type_matches(t: &str, v: &Value) -> bool {
    match t {
        "array" => v.is_array(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "object" => v.is_object(),
        "string" => v.is_string(),
        _ => true,
    }
}

fn with_article(t: &str) -> String {
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
