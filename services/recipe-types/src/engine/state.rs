//! What the storage layer knows about a running recipe, and the states Scale
//! names for its nodes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::definition::Message;

/// A TopChef job's status as job-queue reports it, plus the cancellation a
/// recipe applies to its own jobs (TopChef has no cancelled status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Registered,
    Working,
    Completed,
    Error,
    Canceled,
}

impl JobStatus {
    /// The recipe node state of a job node whose job has this status.
    pub fn node_state(self) -> NodeState {
        match self {
            JobStatus::Registered => NodeState::Queued,
            JobStatus::Working => NodeState::Running,
            JobStatus::Completed => NodeState::Completed,
            JobStatus::Error => NodeState::Failed,
            JobStatus::Canceled => NodeState::Canceled,
        }
    }

    /// TopChef's spelling; `None` for an unknown status.
    pub fn parse(s: &str) -> Option<JobStatus> {
        Some(match s {
            "REGISTERED" => JobStatus::Registered,
            "WORKING" => JobStatus::Working,
            "COMPLETED" => JobStatus::Completed,
            "ERROR" => JobStatus::Error,
            "CANCELED" => JobStatus::Canceled,
            _ => return None,
        })
    }
}

/// Scale's job states, used for every recipe node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeState {
    /// Not created yet: waiting for its dependencies.
    Pending,
    /// Can no longer run (a dependency failed, or a condition went the other way).
    Blocked,
    Queued,
    Running,
    Completed,
    Failed,
    Canceled,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Pending => "PENDING",
            NodeState::Blocked => "BLOCKED",
            NodeState::Queued => "QUEUED",
            NodeState::Running => "RUNNING",
            NodeState::Completed => "COMPLETED",
            NodeState::Failed => "FAILED",
            NodeState::Canceled => "CANCELED",
        }
    }
}

/// A recipe's overall status. `Failed` is not final: a failed job that is
/// retried and completes turns the recipe back to `Running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecipeStatus {
    Running,
    Completed,
    Failed,
    Canceled,
}

impl RecipeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipeStatus::Running => "RUNNING",
            RecipeStatus::Completed => "COMPLETED",
            RecipeStatus::Failed => "FAILED",
            RecipeStatus::Canceled => "CANCELED",
        }
    }
}

/// Job and sub-recipe counts, as Scale shows them on a recipe and on a
/// recipe node. Jobs of sub-recipes are included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecipeCounts {
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

impl RecipeCounts {
    pub(super) fn add_job(&mut self, state: NodeState) {
        self.jobs_total += 1;
        let slot = match state {
            NodeState::Pending => &mut self.jobs_pending,
            NodeState::Blocked => &mut self.jobs_blocked,
            NodeState::Queued => &mut self.jobs_queued,
            NodeState::Running => &mut self.jobs_running,
            NodeState::Completed => &mut self.jobs_completed,
            NodeState::Failed => &mut self.jobs_failed,
            NodeState::Canceled => &mut self.jobs_canceled,
        };
        *slot += 1;
    }

    pub(super) fn add(&mut self, other: &RecipeCounts) {
        self.jobs_total += other.jobs_total;
        self.jobs_pending += other.jobs_pending;
        self.jobs_blocked += other.jobs_blocked;
        self.jobs_queued += other.jobs_queued;
        self.jobs_running += other.jobs_running;
        self.jobs_failed += other.jobs_failed;
        self.jobs_completed += other.jobs_completed;
        self.jobs_canceled += other.jobs_canceled;
        self.sub_recipes_total += other.sub_recipes_total;
        self.sub_recipes_completed += other.sub_recipes_completed;
    }
}

/// A job node that became a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFacts {
    pub job_id: String,
    pub status: JobStatus,
    /// The job's result document (output name → value), once it has one.
    pub results: Option<Value>,
}

/// A condition node that was evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionFacts {
    pub accepted: bool,
    /// The data it was evaluated on; its outputs for the nodes after it.
    pub data: Map<String, Value>,
    /// The storage layer's id for the evaluation, when it has one.
    pub condition_id: Option<String>,
}

/// A sub-recipe node that started its child recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct SubRecipeFacts {
    pub recipe_id: String,
    pub status: RecipeStatus,
    /// The child's own counts (see [`super::recipe_counts`]).
    pub counts: RecipeCounts,
}

/// Everything recorded about one node. A node with no entry has not run.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeFacts {
    Job(JobFacts),
    Condition(ConditionFacts),
    SubRecipe(SubRecipeFacts),
    /// The node's input could not be built (a required value was missing);
    /// the node counts as FAILED.
    InputError(Message),
}

/// The recorded facts of one recipe, by node name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecipeState {
    pub canceled: bool,
    pub nodes: BTreeMap<String, NodeFacts>,
}

impl RecipeState {
    pub fn facts(&self, node: &str) -> Option<&NodeFacts> {
        self.nodes.get(node)
    }

    /// Records what an action produced; the test and replay helper.
    pub fn record(&mut self, node: &str, facts: NodeFacts) {
        self.nodes.insert(node.to_owned(), facts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_statuses_map_to_scale_states() {
        let pairs = [
            ("REGISTERED", NodeState::Queued),
            ("WORKING", NodeState::Running),
            ("COMPLETED", NodeState::Completed),
            ("ERROR", NodeState::Failed),
            ("CANCELED", NodeState::Canceled),
        ];
        for (name, state) in pairs {
            assert_eq!(JobStatus::parse(name).map(JobStatus::node_state), Some(state));
        }
        assert_eq!(JobStatus::parse("working"), None);
    }

    #[test]
    fn states_serialise_in_scale_spelling() {
        assert_eq!(serde_json::to_value(NodeState::Blocked).ok(), Some("BLOCKED".into()));
        assert_eq!(NodeState::Canceled.as_str(), "CANCELED");
        assert_eq!(serde_json::to_value(RecipeStatus::Failed).ok(), Some("FAILED".into()));
    }

    #[test]
    fn counts_add_up() {
        let mut c = RecipeCounts::default();
        c.add_job(NodeState::Queued);
        c.add_job(NodeState::Failed);
        let mut total = RecipeCounts {
            sub_recipes_total: 1,
            ..RecipeCounts::default()
        };
        total.add(&c);
        assert_eq!((total.jobs_total, total.jobs_queued, total.jobs_failed), (2, 1, 1));
        assert_eq!(total.sub_recipes_total, 1);
    }
}
