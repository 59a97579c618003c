//! Scale's recipe instance JSON (the `details` of `GET /v6/recipes/{id}/`)
//! and a recipe's job counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::state::{NodeFacts, NodeState, RecipeCounts, RecipeState, RecipeStatus};
use super::step::node_states;
use crate::definition::{Definition, NodeKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecipeInstance {
    pub nodes: BTreeMap<String, InstanceNode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceNode {
    pub dependencies: Vec<DependencyName>,
    pub node_type: InstanceNodeType,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyName {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "node_type", rename_all = "lowercase")]
pub enum InstanceNodeType {
    Job(JobNodeDetails),
    Recipe(RecipeNodeDetails),
    Condition(ConditionNodeDetails),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobNodeDetails {
    pub job_type_name: String,
    pub job_type_version: String,
    pub job_type_revision: i64,
    /// Null until the node becomes a job.
    pub job_id: Option<String>,
    pub status: NodeState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecipeNodeDetails {
    pub recipe_type_name: String,
    pub recipe_type_revision: i64,
    /// Null until the child recipe starts.
    pub recipe_id: Option<String>,
    pub is_completed: bool,
    pub jobs_total: u64,
    pub jobs_pending: u64,
    pub jobs_blocked: u64,
    pub jobs_queued: u64,
    pub jobs_running: u64,
    pub jobs_failed: u64,
    pub jobs_completed: u64,
    pub jobs_canceled: u64,
    pub sub_recipes_total: u64,
    pub sub_recipes_completed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionNodeDetails {
    pub condition_id: Option<String>,
    pub is_processed: bool,
    pub is_accepted: bool,
}

/// The instance JSON of a recipe: every node of its definition with its
/// dependencies and what it has become so far.
pub fn recipe_details(def: &Definition, state: &RecipeState) -> RecipeInstance {
    let views = node_states(def, state);
    let mut nodes = BTreeMap::new();
    for node in def.nodes() {
        let facts = state.facts(&node.name);
        let node_type = match &node.kind {
            NodeKind::Job {
                job_type_name,
                job_type_version,
                job_type_revision,
            } => InstanceNodeType::Job(JobNodeDetails {
                job_type_name: job_type_name.clone(),
                job_type_version: job_type_version.clone(),
                job_type_revision: *job_type_revision,
                job_id: match facts {
                    // A job being created (its id not yet known) shows null.
                    Some(NodeFacts::Job(job)) if !job.job_id.is_empty() => Some(job.job_id.clone()),
                    _ => None,
                },
                status: views.get(&node.name).map_or(NodeState::Pending, |v| v.state),
            }),
            NodeKind::Recipe {
                recipe_type_name,
                recipe_type_revision,
            } => {
                let (recipe_id, is_completed, c) = match facts {
                    Some(NodeFacts::SubRecipe(sub)) => (
                        Some(sub.recipe_id.clone()),
                        sub.status == RecipeStatus::Completed,
                        sub.counts,
                    ),
                    _ => (None, false, RecipeCounts::default()),
                };
                InstanceNodeType::Recipe(RecipeNodeDetails {
                    recipe_type_name: recipe_type_name.clone(),
                    recipe_type_revision: *recipe_type_revision,
                    recipe_id,
                    is_completed,
                    jobs_total: c.jobs_total,
                    jobs_pending: c.jobs_pending,
                    jobs_blocked: c.jobs_blocked,
                    jobs_queued: c.jobs_queued,
                    jobs_running: c.jobs_running,
                    jobs_failed: c.jobs_failed,
                    jobs_completed: c.jobs_completed,
                    jobs_canceled: c.jobs_canceled,
                    sub_recipes_total: c.sub_recipes_total,
                    sub_recipes_completed: c.sub_recipes_completed,
                })
            }
            NodeKind::Condition { .. } => {
                let cond = match facts {
                    Some(NodeFacts::Condition(c)) => Some(c),
                    _ => None,
                };
                InstanceNodeType::Condition(ConditionNodeDetails {
                    condition_id: cond.and_then(|c| c.condition_id.clone()),
                    is_processed: cond.is_some(),
                    is_accepted: cond.is_some_and(|c| c.accepted),
                })
            }
        };
        let dependencies = node
            .dependencies
            .iter()
            .map(|d| DependencyName { name: d.name.clone() })
            .collect();
        nodes.insert(
            node.name.clone(),
            InstanceNode {
                dependencies,
                node_type,
            },
        );
    }
    RecipeInstance { nodes }
}

/// A recipe's counts: every job node by its state (a node not yet created
/// is PENDING or BLOCKED), plus the counts of the sub-recipes it started.
pub fn recipe_counts(def: &Definition, state: &RecipeState) -> RecipeCounts {
    let views = node_states(def, state);
    let mut counts = RecipeCounts::default();
    for node in def.nodes() {
        let view_state = views.get(&node.name).map_or(NodeState::Pending, |v| v.state);
        match (&node.kind, state.facts(&node.name)) {
            (NodeKind::Job { .. }, _) => counts.add_job(view_state),
            (NodeKind::Recipe { .. }, facts) => {
                counts.sub_recipes_total += 1;
                if let Some(NodeFacts::SubRecipe(sub)) = facts {
                    counts.add(&sub.counts);
                    if sub.status == RecipeStatus::Completed {
                        counts.sub_recipes_completed += 1;
                    }
                }
            }
            (NodeKind::Condition { .. }, _) => {}
        }
    }
    counts
}

#[cfg(test)]
#[path = "details_tests.rs"]
mod tests;
