//! Scale v6/v7 recipe definitions: parsing and normalising the definition JSON,
//! validating the node graph against the job and recipe types it names, data
//! filters for condition nodes, and the diff between two revisions.
//!
//! Pure code: everything that lives in another service or the database arrives
//! through [`Resolved`] or a lookup closure.
//!
//! Where the errors come from:
//! * [`parse_definition`]: `INVALID_DEFINITION`, `INVALID_DEFINITION_JSON`,
//!   `INVALID_INTERFACE`, `DUPLICATE_INPUT`, `INVALID_DATA_FILTER`, the filter
//!   rule names, `UNKNOWN_NODE`, `UNKNOWN_INPUT`, `CONNECTION_INVALID_NODE`.
//! * [`validate`]: `CIRCULAR_DEPENDENCY`, `JOB_TYPE_DOES_NOT_EXIST`,
//!   `RECIPE_TYPE_DOES_NOT_EXIST`, `INPUT_INTERFACE`, `NODE_INTERFACE`, and the
//!   warning `MISMATCHED_MEDIA_TYPES`. As in Scale, connection failures
//!   (`MISSING_DEPENDENCY`, `MISSING_OUTPUT_NAME`, `PARAM_REQUIRED`,
//!   `MISMATCHED_PARAM_TYPE`, `NO_MULTIPLE_FILES`, `MISMATCHED_JSON_TYPE`)
//!   are reported as `NODE_INTERFACE`, their text in the description.
//! * `RECURSIVE_SUBRECIPES` comes from [`check_recursive_subs`].

mod diff;
mod diff_node;
mod filter;
mod filter_eval;
mod filter_rules;
mod graph;
mod interface;
mod interface_from_schema;
mod parse;
#[cfg(test)]
mod proptests;
mod schema;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use diff::{Diff, diff};
pub use diff_node::{DiffNodeType, ForcedNodes, NodeDiff, NodeStatus};
pub use filter::{Condition, DataFilter, Filter, FilterType};
pub use filter_eval::{FileInfo, is_data_accepted, is_data_accepted_with_files};
pub use graph::{check_recursive_subs, validate};
pub use interface::{FileParameter, Interface, JSON_TYPES, JsonParameter, Parameter};
pub use interface_from_schema::interface_from_schema;
pub use parse::parse_definition;

/// The schema version written into every normalised document.
pub const SCHEMA_VERSION: &str = "7";

/// Error, warning, change and reason names, spelled as Scale spells them.
pub mod names {
    pub const INVALID_DEFINITION: &str = "INVALID_DEFINITION";
    pub const INVALID_DEFINITION_JSON: &str = "INVALID_DEFINITION_JSON";
    pub const INVALID_INTERFACE: &str = "INVALID_INTERFACE";
    pub const DUPLICATE_INPUT: &str = "DUPLICATE_INPUT";
    pub const INVALID_DATA_FILTER: &str = "INVALID_DATA_FILTER";
    pub const MISSING_NAME: &str = "MISSING_NAME";
    pub const MISSING_TYPE: &str = "MISSING_TYPE";
    pub const MISSING_CONDITION: &str = "MISSING_CONDITION";
    pub const MISSING_VALUES: &str = "MISSING_VALUES";
    pub const INVALID_CONDITION: &str = "INVALID_CONDITION";
    pub const INVALID_FIELDS: &str = "INVALID_FIELDS";
    pub const INVALID_TYPE: &str = "INVALID_TYPE";
    pub const VALUE_ERROR: &str = "VALUE_ERROR";
    pub const UNKNOWN_NODE: &str = "UNKNOWN_NODE";
    pub const UNKNOWN_INPUT: &str = "UNKNOWN_INPUT";
    pub const CONNECTION_INVALID_NODE: &str = "CONNECTION_INVALID_NODE";
    pub const CIRCULAR_DEPENDENCY: &str = "CIRCULAR_DEPENDENCY";
    pub const JOB_TYPE_DOES_NOT_EXIST: &str = "JOB_TYPE_DOES_NOT_EXIST";
    pub const RECIPE_TYPE_DOES_NOT_EXIST: &str = "RECIPE_TYPE_DOES_NOT_EXIST";
    pub const INPUT_INTERFACE: &str = "INPUT_INTERFACE";
    pub const NODE_INTERFACE: &str = "NODE_INTERFACE";
    pub const RECURSIVE_SUBRECIPES: &str = "RECURSIVE_SUBRECIPES";
    pub const MISMATCHED_MEDIA_TYPES: &str = "MISMATCHED_MEDIA_TYPES";
    pub const REPROCESS_WARNING: &str = "REPROCESS_WARNING";
    pub const DEPRECATED_RECIPES: &str = "DEPRECATED_RECIPES";
    pub const INPUT_CHANGE: &str = "INPUT_CHANGE";
}

/// An error, warning, diff change or diff reason: `{"name", "description"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("{name}: {description}")]
pub struct Message {
    pub name: String,
    pub description: String,
}

impl Message {
    pub fn new(name: &str, description: impl Into<String>) -> Self {
        Message {
            name: name.to_owned(),
            description: description.into(),
        }
    }
}

/// A job type revision as a job node names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobTypeKey {
    pub name: String,
    pub version: String,
    pub revision: i64,
}

/// A recipe type revision as a sub-recipe node names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecipeTypeKey {
    pub name: String,
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobTypeInterfaces {
    pub inputs: Interface,
    pub outputs: Interface,
}

/// What the caller looked up before validating. A key that is absent counts
/// as "does not exist", the same as an explicit `None`.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub job_types: HashMap<JobTypeKey, Option<JobTypeInterfaces>>,
    /// The input interface of each sub-recipe type revision.
    pub recipe_types: HashMap<RecipeTypeKey, Option<Interface>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub errors: Vec<Message>,
    pub warnings: Vec<Message>,
}

impl Outcome {
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: String,
    /// Whether the child runs when the parent is accepted (true) or rejected.
    pub acceptance: bool,
}

/// Where a node input gets its value from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Recipe { input: String },
    Dependency { node: String, output: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Job {
        job_type_name: String,
        job_type_version: String,
        job_type_revision: i64,
    },
    Recipe {
        recipe_type_name: String,
        recipe_type_revision: i64,
    },
    Condition {
        interface: Interface,
        data_filter: DataFilter,
    },
}

impl NodeKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Job { .. } => "job",
            NodeKind::Recipe { .. } => "recipe",
            NodeKind::Condition { .. } => "condition",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    /// One entry per parent, in the order first listed.
    pub dependencies: Vec<Dependency>,
    /// Node input name → connection, in definition order.
    pub inputs: Vec<(String, Connection)>,
    pub kind: NodeKind,
}

/// A parsed, default-filled recipe definition. Only [`parse_definition`]
/// builds one, so node names are unique and every dependency, recipe input
/// and source node it mentions exists. It may still contain cycles, which
/// [`validate`] reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Definition {
    input: Interface,
    nodes: Vec<Node>,
}

impl Definition {
    pub fn input_interface(&self) -> &Interface {
        &self.input
    }

    /// The nodes in definition (insertion) order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Node names parents-first, or `None` when the graph has a cycle.
    pub fn topological_order(&self) -> Option<Vec<String>> {
        let order = graph::Order::of(self);
        if !order.cycles.is_empty() {
            return None;
        }
        Some(order.nodes.iter().map(|&i| self.nodes[i].name.clone()).collect())
    }

    /// The normalised v7 JSON, as stored.
    pub fn to_json(&self) -> Value {
        let mut nodes = Map::new();
        for node in &self.nodes {
            nodes.insert(node.name.clone(), parse::node_to_json(node));
        }
        let mut out = Map::new();
        out.insert("version".into(), Value::from(SCHEMA_VERSION));
        out.insert("input".into(), self.input.to_json(false));
        out.insert("nodes".into(), Value::Object(nodes));
        Value::Object(out)
    }

    /// The form the REST API shows: [`Definition::to_json`] without the
    /// top-level `version` (nested interfaces and filters keep theirs).
    pub fn to_json_without_version(&self) -> Value {
        let mut json = self.to_json();
        if let Value::Object(map) = &mut json {
            map.shift_remove("version");
        }
        json
    }

    /// Distinct job type revisions used by job nodes, in node order.
    pub fn job_type_keys(&self) -> Vec<JobTypeKey> {
        let mut seen = HashSet::new();
        let mut keys = Vec::new();
        for node in &self.nodes {
            if let NodeKind::Job {
                job_type_name,
                job_type_version,
                job_type_revision,
            } = &node.kind
            {
                let key = JobTypeKey {
                    name: job_type_name.clone(),
                    version: job_type_version.clone(),
                    revision: *job_type_revision,
                };
                if seen.insert(key.clone()) {
                    keys.push(key);
                }
            }
        }
        keys
    }

    /// Distinct sub-recipe type revisions used by recipe nodes, in node order.
    pub fn sub_recipe_keys(&self) -> Vec<RecipeTypeKey> {
        let mut seen = HashSet::new();
        let mut keys = Vec::new();
        for node in &self.nodes {
            if let NodeKind::Recipe {
                recipe_type_name,
                recipe_type_revision,
            } = &node.kind
            {
                let key = RecipeTypeKey {
                    name: recipe_type_name.clone(),
                    revision: *recipe_type_revision,
                };
                if seen.insert(key.clone()) {
                    keys.push(key);
                }
            }
        }
        keys
    }

    /// Moves job nodes of `(name, version)` up to `revision` (auto-update).
    /// Like Scale, a node already at that revision or newer is left alone.
    /// Returns true when any node changed.
    pub fn set_job_type_revision(&mut self, name: &str, version: &str, revision: i64) -> bool {
        let mut changed = false;
        for node in &mut self.nodes {
            if let NodeKind::Job {
                job_type_name,
                job_type_version,
                job_type_revision,
            } = &mut node.kind
                && job_type_name == name
                && job_type_version == version
                && *job_type_revision < revision
            {
                *job_type_revision = revision;
                changed = true;
            }
        }
        changed
    }

    /// Moves recipe nodes of `name` up to `revision`; older-or-equal rule as
    /// for [`Definition::set_job_type_revision`].
    pub fn set_sub_recipe_revision(&mut self, name: &str, revision: i64) -> bool {
        let mut changed = false;
        for node in &mut self.nodes {
            if let NodeKind::Recipe {
                recipe_type_name,
                recipe_type_revision,
            } = &mut node.kind
                && recipe_type_name == name
                && *recipe_type_revision < revision
            {
                *recipe_type_revision = revision;
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_distinct_and_in_node_order() {
        let def = parse(json!({"nodes": {
            "b": job_node("jt-2", "1.0", 1, json!([]), json!({})),
            "a": job_node("jt-1", "1.0", 3, json!([]), json!({})),
            "c": job_node("jt-2", "1.0", 1, json!([]), json!({})),
            "d": job_node("jt-2", "1.0", 2, json!([]), json!({})),
            "r": recipe_node("sub", 4, json!([]), json!({})),
            "s": recipe_node("sub", 4, json!([]), json!({})),
        }}));
        let keys: Vec<_> = def.job_type_keys().into_iter().map(|k| (k.name, k.revision)).collect();
        assert_eq!(keys, vec![("jt-2".into(), 1), ("jt-1".into(), 3), ("jt-2".into(), 2)]);
        assert_eq!(
            def.sub_recipe_keys(),
            vec![RecipeTypeKey {
                name: "sub".into(),
                revision: 4
            }]
        );
    }

    #[test]
    fn set_revisions_only_moves_older_nodes_up() {
        let mut def = parse(json!({"nodes": {
            "a": job_node("jt", "1.0", 1, json!([]), json!({})),
            "b": job_node("jt", "1.0", 5, json!([]), json!({})),
            "c": job_node("jt", "2.0", 1, json!([]), json!({})),
            "r": recipe_node("sub", 2, json!([]), json!({})),
        }}));
        assert!(def.set_job_type_revision("jt", "1.0", 3));
        let revs: Vec<_> = def
            .job_type_keys()
            .into_iter()
            .map(|k| (k.version, k.revision))
            .collect();
        assert_eq!(revs, vec![("1.0".into(), 3), ("1.0".into(), 5), ("2.0".into(), 1)]);
        assert!(!def.set_job_type_revision("jt", "1.0", 2));
        assert!(!def.set_job_type_revision("other", "1.0", 9));
        assert!(def.set_sub_recipe_revision("sub", 3));
        assert!(!def.set_sub_recipe_revision("sub", 3));
        assert_eq!(def.sub_recipe_keys()[0].revision, 3);
    }

    #[test]
    fn rest_form_drops_only_the_top_level_version() {
        let def = parse(json!({"nodes": {"c": condition_node(json!([]), json!({}))}}));
        let full = def.to_json();
        assert_eq!(full["version"], json!("7"));
        let shown = def.to_json_without_version();
        assert!(shown.get("version").is_none());
        assert_eq!(shown["nodes"]["c"]["node_type"]["interface"]["version"], json!("7"));
        assert_eq!(shown["nodes"]["c"]["node_type"]["data_filter"]["version"], json!("7"));
    }

    #[test]
    fn topological_order_is_none_for_cycles() {
        let def = parse(json!({"nodes": {
            "b": job_node("jt", "1.0", 1, json!([{"name": "a"}]), json!({})),
            "a": job_node("jt", "1.0", 1, json!([]), json!({})),
        }}));
        assert_eq!(def.topological_order(), Some(vec!["a".to_owned(), "b".to_owned()]));
        let cyclic = parse(json!({"nodes": {
            "a": job_node("jt", "1.0", 1, json!([{"name": "b"}]), json!({})),
            "b": job_node("jt", "1.0", 1, json!([{"name": "a"}]), json!({})),
        }}));
        assert_eq!(cyclic.topological_order(), None);
    }

    #[test]
    fn message_serialises_as_name_and_description() {
        let m = Message::new("X", "y");
        assert_eq!(
            serde_json::to_value(&m).ok(),
            Some(json!({"name": "X", "description": "y"}))
        );
        assert_eq!(m.to_string(), "X: y");
    }
}
