//! The recipe engine's pure core: which nodes of a running recipe run next,
//! with what input, what state each node and the recipe are in, which nodes
//! a reprocess reuses, and the Scale recipe instance JSON.
//!
//! No SQL, no gRPC, no I/O: the storage layer records [`RecipeState`],
//! calls [`next_actions`], takes each [`Action`] once and records its
//! outcome.

mod connect;
mod details;
mod input;
mod media;
mod reprocess;
mod state;
mod step;

pub use details::{
    ConditionNodeDetails, DependencyName, InstanceNode, InstanceNodeType, JobNodeDetails, RecipeInstance,
    RecipeNodeDetails, recipe_counts, recipe_details,
};
pub use input::{RecipeData, is_uri, validate_recipe_input};
pub use media::{file_info, file_name, media_type};
pub use reprocess::{NodePlan, Reprocess, parse_forced_nodes, plan_reprocess};
pub use state::{
    ConditionFacts, JobFacts, JobStatus, NodeFacts, NodeState, RecipeCounts, RecipeState, RecipeStatus, SubRecipeFacts,
};
pub use step::{Action, NodeView, next_actions, node_states, recipe_status};

/// Error names of recipe data and forced nodes, spelled in Scale's style.
pub mod names {
    pub const INVALID_DATA: &str = "INVALID_DATA";
    pub const PARAM_REQUIRED: &str = "PARAM_REQUIRED";
    pub const MISMATCHED_PARAM_TYPE: &str = "MISMATCHED_PARAM_TYPE";
    pub const INVALID_JSON_TYPE: &str = "INVALID_JSON_TYPE";
    pub const INVALID_FILE_URI: &str = "INVALID_FILE_URI";
    pub const MULTIPLE_FILES: &str = "MULTIPLE_FILES";
    pub const UNKNOWN_INPUT: &str = crate::definition::names::UNKNOWN_INPUT;
    pub const MISSING_VALUE: &str = "MISSING_VALUE";
    pub const INVALID_FORCED_NODES: &str = "INVALID_FORCED_NODES";
}

#[cfg(test)]
mod test_support;
