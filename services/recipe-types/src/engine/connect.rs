//! Values flowing into a node through its connections: from the recipe
//! input or a finished dependency, rendered as a job's parameters, a
//! condition's data or a sub-recipe's input.

use serde_json::{Map, Value};

use super::input::RecipeData;
use super::media::media_type;
use super::names;
use super::state::{NodeFacts, RecipeState};
use crate::definition::{
    Connection, Definition, Interface, JobTypeKey, Message, Node, NodeKind, Parameter, RecipeTypeKey, Resolved,
};

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
                                .map(|v| v.as_str().map(str::to_owned))
                                .collect::<Option<_>>()?,
                            _ => return None,
                        };
                        Some(files(&uris, &self.declared_media(conn), p.multiple))
                    }
                    _ => Some(Datum::Json(value.clone())),
                }
            }
        }
    }

    /// The media types the producer of a file value declared. A condition
    /// passes its inputs on, so its outputs keep their producer's types.
    fn declared_media(&self, conn: &Connection) -> Vec<String> {
        let file_types = |param: Option<Parameter<'_>>| match param {
            Some(Parameter::File(p)) => p.media_types.clone(),
            _ => Vec::new(),
        };
        match conn {
            Connection::Recipe { input } => file_types(self.def.input_interface().parameter(input)),
            Connection::Dependency { node, output } => match self.def.node(node) {
                Some(
                    source @ Node {
                        kind: NodeKind::Job { .. },
                        ..
                    },
                ) => file_types(job_outputs(source, self.types).and_then(|i| i.parameter(output))),
                Some(Node {
                    kind: NodeKind::Condition { interface, .. },
                    inputs,
                    ..
                }) => match inputs.iter().find(|(name, _)| name == output) {
                    Some((_, upstream)) => self.declared_media(upstream),
                    None => file_types(interface.parameter(output)),
                },
                _ => Vec::new(),
            },
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
