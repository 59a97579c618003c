//! Recipe instances as recipe-types stores them: one row per recipe, one per
//! node that has run (or is being created), and the translation of those
//! rows into the engine's [`RecipeState`].

use std::collections::HashMap;

use serde_json::Value;

use crate::definition::Message;
use crate::engine::{
    ConditionFacts, JobFacts, JobStatus, NodeFacts, RecipeCounts, RecipeState, RecipeStatus, SubRecipeFacts,
};
use crate::error::{Error, Result};

/// A recipe row.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    pub id: i64,
    pub recipe_type_id: i64,
    pub revision_id: i64,
    pub revision_num: i64,
    /// Scale's data JSON, validated against the type's input interface.
    pub input: String,
    pub configuration: String,
    pub status: RecipeStatus,
    pub counts: RecipeCounts,
    pub canceled: bool,
    pub parent_recipe_id: Option<i64>,
    pub parent_node: Option<String>,
    pub root_recipe_id: Option<i64>,
    pub is_superseded: bool,
    pub superseded_recipe_id: Option<i64>,
    pub superseded_by_recipe_id: Option<i64>,
    pub needs_step: bool,
    pub created: i64,
    pub started: Option<i64>,
    pub completed: Option<i64>,
    pub ended: Option<i64>,
    pub superseded: Option<i64>,
    pub last_modified: i64,
    pub row_version: i64,
}

impl Recipe {
    /// The recipe type and revision of a top-level recipe (both fixed for
    /// its life); `None` for a sub-recipe.
    pub fn top_level_key(&self) -> Option<(i64, i64)> {
        self.parent_recipe_id
            .is_none()
            .then_some((self.recipe_type_id, self.revision_num))
    }
}

/// What a node row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKindTag {
    Job,
    Condition,
    Recipe,
    InputError,
}

impl NodeKindTag {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKindTag::Job => "job",
            NodeKindTag::Condition => "condition",
            NodeKindTag::Recipe => "recipe",
            NodeKindTag::InputError => "input_error",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "job" => NodeKindTag::Job,
            "condition" => NodeKindTag::Condition,
            "recipe" => NodeKindTag::Recipe,
            "input_error" => NodeKindTag::InputError,
            _ => return Err(Error::Internal(format!("unknown node kind {s}"))),
        })
    }
}

/// A node row's state. `Creating` is a job node whose intent is committed and
/// whose job job-queue has not confirmed yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRowState {
    Creating,
    Job(JobStatus),
    Evaluated,
    Started,
    Failed,
}

impl NodeRowState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRowState::Creating => "CREATING",
            NodeRowState::Job(JobStatus::Registered) => "REGISTERED",
            NodeRowState::Job(JobStatus::Working) => "WORKING",
            NodeRowState::Job(JobStatus::Completed) => "COMPLETED",
            NodeRowState::Job(JobStatus::Error) => "ERROR",
            NodeRowState::Job(JobStatus::Canceled) => "CANCELED",
            NodeRowState::Evaluated => "EVALUATED",
            NodeRowState::Started => "STARTED",
            NodeRowState::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "CREATING" => NodeRowState::Creating,
            "EVALUATED" => NodeRowState::Evaluated,
            "STARTED" => NodeRowState::Started,
            "FAILED" => NodeRowState::Failed,
            other => NodeRowState::Job(
                JobStatus::parse(other).ok_or_else(|| Error::Internal(format!("unknown node state {other}")))?,
            ),
        })
    }
}

/// A recipe node row.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeRecord {
    pub recipe_id: i64,
    pub node_name: String,
    pub generation: i64,
    pub kind: NodeKindTag,
    pub state: NodeRowState,
    pub idempotency_key: Option<String>,
    pub service_id: Option<String>,
    pub parameters: Option<String>,
    pub job_id: Option<String>,
    pub job_version: i64,
    pub results: Option<String>,
    pub accepted: Option<bool>,
    pub condition_data: Option<String>,
    pub child_recipe_id: Option<i64>,
    pub error: Option<String>,
    pub cancel_pending: bool,
    /// When the node's last dependency finished (scheduling latency).
    pub ready_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub created: i64,
    pub last_modified: i64,
}

impl NodeRecord {
    pub fn new(recipe_id: i64, node_name: &str, kind: NodeKindTag, state: NodeRowState, at: i64) -> Self {
        Self {
            recipe_id,
            node_name: node_name.to_owned(),
            generation: 1,
            kind,
            state,
            idempotency_key: None,
            service_id: None,
            parameters: None,
            job_id: None,
            job_version: 0,
            results: None,
            accepted: None,
            condition_data: None,
            child_recipe_id: None,
            error: None,
            cancel_pending: false,
            ready_at: None,
            finished_at: None,
            created: at,
            last_modified: at,
        }
    }

    /// job-queue's idempotency key for this node's job.
    pub fn job_key(recipe_id: i64, node: &str, generation: i64) -> String {
        format!("recipe:{recipe_id}:{node}:{generation}")
    }

    /// A job node whose job is queued or working (what a cancel must stop).
    pub fn job_is_active(&self) -> bool {
        matches!(
            self.state,
            NodeRowState::Creating | NodeRowState::Job(JobStatus::Registered | JobStatus::Working)
        )
    }
}

/// Filters of `ListRecipes`.
#[derive(Clone, Debug, Default)]
pub struct RecipeFilter {
    pub recipe_ids: Vec<i64>,
    pub recipe_type_ids: Vec<i64>,
    pub statuses: Vec<RecipeStatus>,
    pub started: Option<i64>,
    pub ended: Option<i64>,
    pub is_superseded: Option<bool>,
    pub is_completed: Option<bool>,
    pub root_recipe_ids: Vec<i64>,
    /// (column, descending), whitelisted.
    pub order: Vec<(RecipeOrder, bool)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecipeOrder {
    Id,
    Created,
    LastModified,
}

impl RecipeOrder {
    pub fn sql(self) -> &'static str {
        match self {
            RecipeOrder::Id => "id",
            RecipeOrder::Created => "created",
            RecipeOrder::LastModified => "last_modified",
        }
    }
}

/// Scale's `order` values: field names, each optionally prefixed with `-`.
pub fn parse_recipe_order(order: &[String]) -> std::result::Result<Vec<(RecipeOrder, bool)>, String> {
    let mut out = Vec::new();
    // An empty value names no field: refused like any other (see parse_order).
    for item in order {
        let (field, descending) = item.strip_prefix('-').map_or((item.as_str(), false), |f| (f, true));
        let column = match field {
            "id" => RecipeOrder::Id,
            "created" => RecipeOrder::Created,
            "last_modified" => RecipeOrder::LastModified,
            _ => {
                return Err(format!(
                    "Invalid order field: {field} (use id, created or last_modified)"
                ));
            }
        };
        out.push((column, descending));
    }
    if out.is_empty() {
        out.push((RecipeOrder::LastModified, true));
    }
    Ok(out)
}

pub fn parse_recipe_status(s: &str) -> Result<RecipeStatus> {
    Ok(match s {
        "RUNNING" => RecipeStatus::Running,
        "COMPLETED" => RecipeStatus::Completed,
        "FAILED" => RecipeStatus::Failed,
        "CANCELED" => RecipeStatus::Canceled,
        _ => return Err(Error::Internal(format!("unknown recipe status {s}"))),
    })
}

fn json_or_null(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// The engine's view of a recipe: its node rows, and the children its
/// sub-recipe nodes started.
pub fn recipe_state(recipe: &Recipe, nodes: &[NodeRecord], children: &HashMap<i64, Recipe>) -> RecipeState {
    let mut state = RecipeState {
        canceled: recipe.canceled,
        ..RecipeState::default()
    };
    for node in nodes {
        let facts = match node.kind {
            NodeKindTag::Job => NodeFacts::Job(JobFacts {
                job_id: node.job_id.clone().unwrap_or_default(),
                status: match node.state {
                    NodeRowState::Job(status) => status,
                    _ => JobStatus::Registered,
                },
                results: json_or_null(node.results.as_deref()),
            }),
            NodeKindTag::Condition => NodeFacts::Condition(ConditionFacts {
                accepted: node.accepted.unwrap_or(false),
                data: json_or_null(node.condition_data.as_deref())
                    .and_then(|v| match v {
                        Value::Object(m) => Some(m),
                        _ => None,
                    })
                    .unwrap_or_default(),
                condition_id: None,
            }),
            NodeKindTag::Recipe => {
                let child = node.child_recipe_id.and_then(|id| children.get(&id));
                NodeFacts::SubRecipe(SubRecipeFacts {
                    recipe_id: node.child_recipe_id.map(|id| id.to_string()).unwrap_or_default(),
                    status: child.map_or(RecipeStatus::Running, |c| c.status),
                    counts: child.map(|c| c.counts).unwrap_or_default(),
                })
            }
            NodeKindTag::InputError => NodeFacts::InputError(
                node.error
                    .as_deref()
                    .and_then(|e| serde_json::from_str::<Message>(e).ok())
                    .unwrap_or_else(|| Message::new("INPUT_ERROR", "the node's input could not be built")),
            ),
        };
        state.record(&node.node_name, facts);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_spelling() {
        for s in [
            "CREATING",
            "REGISTERED",
            "WORKING",
            "COMPLETED",
            "ERROR",
            "CANCELED",
            "EVALUATED",
            "STARTED",
            "FAILED",
        ] {
            assert_eq!(NodeRowState::parse(s).map(NodeRowState::as_str).ok(), Some(s));
        }
        assert!(NodeRowState::parse("working").is_err());
        assert_eq!(NodeRecord::job_key(7, "a", 1), "recipe:7:a:1");
    }

    #[test]
    fn order_defaults_to_newest_change_and_rejects_unknown_fields() {
        assert_eq!(parse_recipe_order(&[]), Ok(vec![(RecipeOrder::LastModified, true)]));
        assert_eq!(parse_recipe_order(&["-id".into()]), Ok(vec![(RecipeOrder::Id, true)]));
        assert!(parse_recipe_order(&["input".into()]).is_err());
    }
}
