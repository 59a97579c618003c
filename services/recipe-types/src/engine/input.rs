//! Recipe input (Scale's data shape) checked against the recipe type's input
//! interface, and the values that flow into a node through its connections.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::media::media_type;
use super::names;
use super::state::{NodeFacts, RecipeState};
use crate::definition::{
    Connection, Definition, FileParameter, Interface, JobTypeKey, Message, Node, NodeKind, Parameter, RecipeTypeKey,
    Resolved,
};

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
    for param in interface.parameters().filter(|p| p.required()) {
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
            Some(uri) => uris.push(uri.to_string()),
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

/// A value travelling along a connection.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Datum {
    /// URIs with their media types; `multiple` is the source parameter's.
    Files {
        files: Vec<(String, String)>,
        multiple: bool,
    },
    Json(Value),
}

/// Where connection values come from: the recipe input and the finished
/// nodes' facts.
pub(super) struct Sources<'a> {
    pub(super) def: &'a Definition,
    pub(super) types: &'a Resolved,
    pub(super) input: &'a RecipeData,
    pub(super) state: &'a RecipeState,
}

impl Sources<'_> {
    fn value(&self, conn: &Connection) -> Option<Datum> {
        match conn {
            Connection::Recipe { input } => {
                let param = self.def.input_interface().parameter(input);
                match param {
                    Some(Parameter::File(p)) => {
                        let uris = self.input.files.get(input)?;
                        Some(files(uris, &p.media_types, p.multiple))
                    }
                    _ => self.input.json.get(input).cloned().map(Datum::Json),
                }
            }
            Connection::Dependency { node, output } => {
                let source = self.def.node(node)?;
                let (outputs, value) = match (&source.kind, self.state.facts(node)?) {
                    (NodeKind::Job { .. }, NodeFacts::Job(job)) => {
                        (job_outputs(source, self.types), job.results.as_ref()?.get(output)?)
                    }
                    (NodeKind::Condition { interface, .. }, NodeFacts::Condition(c)) => {
                        (Some(interface), c.data.get(output)?)
                    }
                    _ => return None,
                };
                match outputs.and_then(|i| i.parameter(output)) {
                    Some(Parameter::File(p)) => {
                        let uris = match value {
                            Value::String(s) => vec![s.clone()],
                            Value::Array(items) => items
                                .iter()
                                .map(|v| v.as_str().map(str::to_string))
                                .collect::<Option<_>>()?,
                            _ => return None,
                        };
                        Some(files(&uris, &p.media_types, p.multiple))
                    }
                    _ => Some(Datum::Json(value.clone())),
                }
            }
        }
    }

    /// The node's inputs that have a value, in definition order, each with
    /// the target parameter it feeds (when the target interface is known).
    /// A required target with no value is an error (Scale's `MISSING_VALUE`).
    pub(super) fn gather(&self, node: &Node, target: Option<&Interface>) -> Result<Vec<(String, Datum)>, Message> {
        let mut out = Vec::new();
        for (name, conn) in &node.inputs {
            let param = target.and_then(|i| i.parameter(name));
            match self.value(conn) {
                Some(datum) => out.push((name.clone(), datum)),
                None if param.is_some_and(|p| p.required()) => {
                    return Err(Message::new(
                        names::MISSING_VALUE,
                        format!("Node '{}' has no value for its required input '{name}'", node.name),
                    ));
                }
                None => {}
            }
        }
        Ok(out)
    }
}

fn files(uris: &[String], declared: &[String], multiple: bool) -> Datum {
    Datum::Files {
        files: uris.iter().map(|u| (u.clone(), media_type(u, declared))).collect(),
        multiple,
    }
}

pub(super) fn job_key(node: &Node) -> Option<JobTypeKey> {
    match &node.kind {
        NodeKind::Job {
            job_type_name,
            job_type_version,
            job_type_revision,
        } => Some(JobTypeKey {
            name: job_type_name.clone(),
            version: job_type_version.clone(),
            revision: *job_type_revision,
        }),
        _ => None,
    }
}

pub(super) fn recipe_key(node: &Node) -> Option<RecipeTypeKey> {
    match &node.kind {
        NodeKind::Recipe {
            recipe_type_name,
            recipe_type_revision,
        } => Some(RecipeTypeKey {
            name: recipe_type_name.clone(),
            revision: *recipe_type_revision,
        }),
        _ => None,
    }
}

fn job_outputs<'a>(node: &Node, types: &'a Resolved) -> Option<&'a Interface> {
    types.job_types.get(&job_key(node)?)?.as_ref().map(|i| &i.outputs)
}

/// The interface a node's inputs feed: a job type's inputs, a condition's
/// interface, a sub-recipe type's input.
pub(super) fn target_interface<'a>(node: &'a Node, types: &'a Resolved) -> Option<&'a Interface> {
    match &node.kind {
        NodeKind::Job { .. } => types.job_types.get(&job_key(node)?)?.as_ref().map(|i| &i.inputs),
        NodeKind::Recipe { .. } => types.recipe_types.get(&recipe_key(node)?)?.as_ref(),
        NodeKind::Condition { interface, .. } => Some(interface),
    }
}

/// A value as a job parameter: one file is a URI string, a `multiple`
/// target gets an array of URIs, JSON is the value itself.
pub(super) fn render(name: &str, datum: &Datum, target: Option<&Interface>) -> Result<Value, Message> {
    let (files, multiple) = match datum {
        Datum::Json(v) => return Ok(v.clone()),
        Datum::Files { files, multiple } => (files, *multiple),
    };
    let as_array = match target.and_then(|i| i.parameter(name)) {
        Some(Parameter::File(p)) => {
            if !p.multiple && files.len() > 1 {
                return Err(Message::new(
                    names::MULTIPLE_FILES,
                    format!("Parameter '{name}' cannot accept multiple files"),
                ));
            }
            p.multiple
        }
        _ => multiple || files.len() != 1,
    };
    let mut uris = files.iter().map(|(u, _)| Value::from(u.clone()));
    Ok(if as_array {
        Value::Array(uris.collect())
    } else {
        uris.next().unwrap_or_default()
    })
}

/// The parameters JSON of a job (or a condition's data): node input name → value.
pub(super) fn parameters(
    gathered: &[(String, Datum)],
    target: Option<&Interface>,
) -> Result<Map<String, Value>, Message> {
    let mut out = Map::new();
    for (name, datum) in gathered {
        out.insert(name.clone(), render(name, datum, target)?);
    }
    Ok(out)
}

/// A sub-recipe's input in Scale's data shape.
pub(super) fn sub_recipe_input(gathered: &[(String, Datum)]) -> RecipeData {
    let mut data = RecipeData::default();
    for (name, datum) in gathered {
        match datum {
            Datum::Files { files, .. } => {
                data.files
                    .insert(name.clone(), files.iter().map(|(u, _)| u.clone()).collect());
            }
            Datum::Json(v) => {
                data.json.insert(name.clone(), v.clone());
            }
        }
    }
    data
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
