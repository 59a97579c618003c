//! One step of a recipe: from the recorded facts, each node's state, the
//! recipe's status, and what must happen next.
//!
//! Pure and idempotent: the same definition, input and state always give the
//! same actions, so the storage layer can take each action once, keyed by
//! (recipe id, node name), record its outcome in the state, and step again.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::connect::{Datum, Sources, parameters, sub_recipe_input, target_interface};
use super::input::RecipeData;
use super::media::file_info;
use super::state::{NodeFacts, NodeState, RecipeState, RecipeStatus};
use crate::definition::{
    Definition, FileInfo, JobTypeKey, Message, Node, NodeKind, RecipeTypeKey, Resolved, is_data_accepted_with_files,
};

/// What the storage layer must do for a node that is ready to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create the node's job; record [`NodeFacts::Job`].
    CreateJob {
        node: String,
        job_type: JobTypeKey,
        parameters: Value,
    },
    /// The condition was evaluated here; record [`NodeFacts::Condition`].
    EvaluateCondition {
        node: String,
        accepted: bool,
        data: Map<String, Value>,
    },
    /// Start a child recipe; record [`NodeFacts::SubRecipe`].
    StartSubRecipe {
        node: String,
        recipe_type: RecipeTypeKey,
        input: RecipeData,
    },
    /// The node's input cannot be built; record [`NodeFacts::InputError`].
    FailNode { node: String, error: Message },
}

impl Action {
    pub fn node(&self) -> &str {
        match self {
            Action::CreateJob { node, .. }
            | Action::EvaluateCondition { node, .. }
            | Action::StartSubRecipe { node, .. }
            | Action::FailNode { node, .. } => node,
        }
    }

    /// The facts to record for actions whose outcome is known now
    /// (conditions and input failures).
    pub fn immediate_facts(&self) -> Option<NodeFacts> {
        match self {
            Action::EvaluateCondition { accepted, data, .. } => {
                Some(NodeFacts::Condition(super::state::ConditionFacts {
                    accepted: *accepted,
                    data: data.clone(),
                    condition_id: None,
                }))
            }
            Action::FailNode { error, .. } => Some(NodeFacts::InputError(error.clone())),
            _ => None,
        }
    }
}

/// A node's state, and for a BLOCKED node whether a condition (rather than
/// a failure, which a retry may undo) blocked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeView {
    pub state: NodeState,
    pub blocked_by_condition: bool,
    /// PENDING with every dependency satisfied: [`next_actions`] acts on it.
    pub ready: bool,
}

/// Every node's state, by name. Empty when the graph has a cycle (a
/// validated definition has none).
pub fn node_states(def: &Definition, state: &RecipeState) -> BTreeMap<String, NodeView> {
    let Some(order) = def.topological_order() else {
        return BTreeMap::new();
    };
    let mut views: HashMap<String, NodeView> = HashMap::new();
    for name in order {
        let Some(node) = def.node(&name) else { continue };
        let view = view_of(node, state, &views);
        views.insert(name, view);
    }
    views.into_iter().collect()
}

fn view_of(node: &Node, state: &RecipeState, done: &HashMap<String, NodeView>) -> NodeView {
    let settled = |state| NodeView {
        state,
        blocked_by_condition: false,
        ready: false,
    };
    if let Some(facts) = state.facts(&node.name) {
        return settled(match facts {
            NodeFacts::Job(job) => job.status.node_state(),
            NodeFacts::Condition(_) => NodeState::Completed,
            NodeFacts::SubRecipe(sub) => match sub.status {
                RecipeStatus::Running => NodeState::Running,
                RecipeStatus::Completed => NodeState::Completed,
                RecipeStatus::Failed => NodeState::Failed,
                RecipeStatus::Canceled => NodeState::Canceled,
            },
            NodeFacts::InputError(_) => NodeState::Failed,
        });
    }
    let (mut waiting, mut by_condition, mut by_failure) = (false, false, false);
    for dep in &node.dependencies {
        let Some(parent) = done.get(&dep.name) else {
            waiting = true;
            continue;
        };
        match parent.state {
            NodeState::Completed => {
                // Acceptance only means something for a condition parent;
                // a completed job or sub-recipe counts as accepted.
                if let Some(NodeFacts::Condition(c)) = state.facts(&dep.name)
                    && c.accepted != dep.acceptance
                {
                    by_condition = true;
                }
            }
            NodeState::Blocked if parent.blocked_by_condition => by_condition = true,
            NodeState::Blocked | NodeState::Failed | NodeState::Canceled => by_failure = true,
            NodeState::Pending | NodeState::Queued | NodeState::Running => waiting = true,
        }
    }
    if by_condition || by_failure {
        return NodeView {
            state: NodeState::Blocked,
            blocked_by_condition: by_condition,
            ready: false,
        };
    }
    NodeView {
        state: NodeState::Pending,
        blocked_by_condition: false,
        ready: !waiting,
    }
}

/// COMPLETED when every node is completed or blocked by a condition, FAILED
/// while a node has failed, CANCELED when the recipe (or, failing nothing
/// else, one of its nodes) was cancelled, otherwise RUNNING.
pub fn recipe_status(def: &Definition, state: &RecipeState) -> RecipeStatus {
    if state.canceled {
        return RecipeStatus::Canceled;
    }
    let views = node_states(def, state);
    if views.values().any(|v| v.state == NodeState::Failed) {
        return RecipeStatus::Failed;
    }
    if views.values().any(|v| v.state == NodeState::Canceled) {
        return RecipeStatus::Canceled;
    }
    let done = views
        .values()
        .all(|v| v.state == NodeState::Completed || (v.state == NodeState::Blocked && v.blocked_by_condition));
    if done && views.len() == def.nodes().len() {
        RecipeStatus::Completed
    } else {
        RecipeStatus::Running
    }
}

/// What to do next, one action per ready node, in definition order. A
/// cancelled recipe has none.
pub fn next_actions(def: &Definition, types: &Resolved, input: &RecipeData, state: &RecipeState) -> Vec<Action> {
    if state.canceled {
        return Vec::new();
    }
    let views = node_states(def, state);
    let sources = Sources {
        def,
        types,
        input,
        state,
    };
    def.nodes()
        .iter()
        .filter(|n| views.get(&n.name).is_some_and(|v| v.ready))
        .map(|node| {
            action_for(node, &sources).unwrap_or_else(|error| Action::FailNode {
                node: node.name.clone(),
                error,
            })
        })
        .collect()
}

fn action_for(node: &Node, sources: &Sources<'_>) -> Result<Action, Message> {
    let target = target_interface(node, sources.types);
    let gathered = sources.gather(node, target)?;
    let name = node.name.clone();
    Ok(match &node.kind {
        NodeKind::Job {
            job_type_name,
            job_type_version,
            job_type_revision,
        } => Action::CreateJob {
            job_type: JobTypeKey {
                name: job_type_name.clone(),
                version: job_type_version.clone(),
                revision: *job_type_revision,
            },
            parameters: Value::Object(parameters(&gathered, target)?),
            node: name,
        },
        NodeKind::Condition { data_filter, .. } => {
            let data = parameters(&gathered, target)?;
            let infos: HashMap<&str, Vec<FileInfo>> = gathered
                .iter()
                .filter_map(|(input, datum)| match datum {
                    Datum::Files { files, .. } => Some((
                        input.as_str(),
                        files
                            .iter()
                            .map(|(uri, media)| file_info(uri, std::slice::from_ref(media)))
                            .collect(),
                    )),
                    Datum::Json(_) => None,
                })
                .collect();
            let accepted = is_data_accepted_with_files(data_filter, &data, &|input, _| infos.get(input).cloned());
            Action::EvaluateCondition {
                node: name,
                accepted,
                data,
            }
        }
        NodeKind::Recipe {
            recipe_type_name,
            recipe_type_revision,
        } => Action::StartSubRecipe {
            recipe_type: RecipeTypeKey {
                name: recipe_type_name.clone(),
                revision: *recipe_type_revision,
            },
            input: sub_recipe_input(&gathered),
            node: name,
        },
    })
}

#[cfg(test)]
#[path = "step_tests.rs"]
mod tests;
