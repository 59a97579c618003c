//! One node's entry in a recipe diff, and the forced-reprocess set.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::{Message, Node, NodeKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeStatus {
    New,
    Changed,
    Unchanged,
    Deleted,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::New => "NEW",
            NodeStatus::Changed => "CHANGED",
            NodeStatus::Unchanged => "UNCHANGED",
            NodeStatus::Deleted => "DELETED",
        }
    }
}

/// The node-type part of a node diff; `prev_*` is set only for what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffNodeType {
    Job {
        job_type_name: String,
        job_type_version: String,
        job_type_revision: i64,
        prev_job_type_name: Option<String>,
        prev_job_type_version: Option<String>,
        prev_job_type_revision: Option<i64>,
    },
    Recipe {
        recipe_type_name: String,
        recipe_type_revision: i64,
        prev_recipe_type_name: Option<String>,
        prev_recipe_type_revision: Option<i64>,
    },
    Condition,
}

/// Which nodes a reprocess must redo regardless of changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForcedNodes {
    pub all: bool,
    pub nodes: BTreeSet<String>,
    pub sub_recipes: BTreeMap<String, ForcedNodes>,
}

impl ForcedNodes {
    pub fn is_forced(&self, name: &str) -> bool {
        self.all || self.nodes.contains(name) || self.sub_recipes.contains_key(name)
    }

    /// What to force inside the sub-recipe of node `name`.
    pub fn for_sub_recipe(&self, name: &str) -> Option<ForcedNodes> {
        if self.all {
            return Some(ForcedNodes {
                all: true,
                ..ForcedNodes::default()
            });
        }
        self.sub_recipes.get(name).cloned()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeDiff {
    pub name: String,
    pub status: NodeStatus,
    pub changes: Vec<Message>,
    pub reprocess_new_node: bool,
    pub force_reprocess: bool,
    /// Parent names (the diff JSON carries no acceptance).
    pub dependencies: Vec<String>,
    pub node_type: DiffNodeType,
    /// Set when the node type itself changed ("job", "recipe", "condition").
    pub prev_node_type: Option<String>,
    /// For a forced recipe node: what to force inside its sub-recipe.
    pub forced_sub_nodes: Option<ForcedNodes>,
}

impl NodeDiff {
    pub(super) fn new(node: &Node, status: NodeStatus) -> NodeDiff {
        let node_type = match &node.kind {
            NodeKind::Job {
                job_type_name,
                job_type_version,
                job_type_revision,
            } => DiffNodeType::Job {
                job_type_name: job_type_name.clone(),
                job_type_version: job_type_version.clone(),
                job_type_revision: *job_type_revision,
                prev_job_type_name: None,
                prev_job_type_version: None,
                prev_job_type_revision: None,
            },
            NodeKind::Recipe {
                recipe_type_name,
                recipe_type_revision,
            } => DiffNodeType::Recipe {
                recipe_type_name: recipe_type_name.clone(),
                recipe_type_revision: *recipe_type_revision,
                prev_recipe_type_name: None,
                prev_recipe_type_revision: None,
            },
            NodeKind::Condition { .. } => DiffNodeType::Condition,
        };
        NodeDiff {
            name: node.name.clone(),
            status,
            changes: Vec::new(),
            reprocess_new_node: false,
            force_reprocess: false,
            dependencies: node.dependencies.iter().map(|d| d.name.clone()).collect(),
            node_type,
            prev_node_type: None,
            forced_sub_nodes: None,
        }
    }

    pub(super) fn recalculate(&mut self, can_be_reprocessed: bool) {
        let by_status = matches!(self.status, NodeStatus::Changed | NodeStatus::New);
        let by_force = self.force_reprocess && self.status != NodeStatus::Deleted;
        self.reprocess_new_node = can_be_reprocessed && (by_status || by_force);
    }

    pub fn to_json(&self) -> Value {
        let mut node_type = Map::new();
        let mut put = |k: &str, v: Value| {
            node_type.insert(k.to_owned(), v);
        };
        match &self.node_type {
            DiffNodeType::Job {
                job_type_name,
                job_type_version,
                job_type_revision,
                prev_job_type_name,
                prev_job_type_version,
                prev_job_type_revision,
            } => {
                put("node_type", json!("job"));
                put("job_type_name", json!(job_type_name));
                put("job_type_version", json!(job_type_version));
                put("job_type_revision", json!(job_type_revision));
                if let Some(v) = prev_job_type_name {
                    put("prev_job_type_name", json!(v));
                }
                if let Some(v) = prev_job_type_version {
                    put("prev_job_type_version", json!(v));
                }
                if let Some(v) = prev_job_type_revision {
                    put("prev_job_type_revision", json!(v));
                }
            }
            DiffNodeType::Recipe {
                recipe_type_name,
                recipe_type_revision,
                prev_recipe_type_name,
                prev_recipe_type_revision,
            } => {
                put("node_type", json!("recipe"));
                put("recipe_type_name", json!(recipe_type_name));
                put("recipe_type_revision", json!(recipe_type_revision));
                if let Some(v) = prev_recipe_type_name {
                    put("prev_recipe_type_name", json!(v));
                }
                if let Some(v) = prev_recipe_type_revision {
                    put("prev_recipe_type_revision", json!(v));
                }
            }
            DiffNodeType::Condition => put("node_type", json!("condition")),
        }
        let deps: Vec<Value> = self.dependencies.iter().map(|d| json!({"name": d})).collect();
        let mut out = json!({
            "status": self.status.as_str(),
            "changes": self.changes,
            "reprocess_new_node": self.reprocess_new_node,
            "force_reprocess": self.force_reprocess,
            "dependencies": deps,
            "node_type": Value::Object(node_type),
        });
        if let (Some(prev), Value::Object(m)) = (&self.prev_node_type, &mut out) {
            m.insert("prev_node_type".into(), json!(prev));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forcing_everything_reaches_into_sub_recipes() {
        let all = ForcedNodes {
            all: true,
            ..ForcedNodes::default()
        };
        assert!(all.is_forced("anything"));
        assert_eq!(all.for_sub_recipe("r"), Some(all.clone()));
        let some = ForcedNodes {
            all: false,
            nodes: ["a".to_owned()].into(),
            sub_recipes: [("r".to_owned(), all.clone())].into(),
        };
        assert!(some.is_forced("a") && some.is_forced("r") && !some.is_forced("b"));
        assert_eq!(some.for_sub_recipe("a"), None);
        assert_eq!(some.for_sub_recipe("r"), Some(all));
    }

    #[test]
    fn status_names() {
        let names: Vec<&str> = [
            NodeStatus::New,
            NodeStatus::Changed,
            NodeStatus::Unchanged,
            NodeStatus::Deleted,
        ]
        .iter()
        .map(|s| s.as_str())
        .collect();
        assert_eq!(names, ["NEW", "CHANGED", "UNCHANGED", "DELETED"]);
    }
}
