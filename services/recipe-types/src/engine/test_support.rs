//! Builders and a tiny in-memory "storage layer" for the engine's tests.

use serde_json::{Value, json};

pub(crate) use crate::definition::test_support::{
    cond_node, file, iface, job_key, job_node, jparam, parse, recipe_node, with_job, with_recipe,
};
use crate::definition::{Definition, Interface, Resolved};

use super::{
    Action, JobFacts, JobStatus, NodeFacts, RecipeCounts, RecipeData, RecipeState, RecipeStatus, SubRecipeFacts,
    next_actions,
};

/// Records each action's outcome as storage would: a new job is REGISTERED,
/// a child recipe RUNNING, conditions and input failures as decided.
pub(crate) fn apply(state: &mut RecipeState, actions: &[Action]) {
    for action in actions {
        let node = action.node().to_owned();
        assert!(state.facts(&node).is_none(), "node {node} acted on twice");
        let facts = match action {
            Action::CreateJob { .. } => NodeFacts::Job(JobFacts {
                job_id: format!("job-{node}"),
                status: JobStatus::Registered,
                results: None,
            }),
            Action::StartSubRecipe { .. } => NodeFacts::SubRecipe(SubRecipeFacts {
                recipe_id: format!("recipe-{node}"),
                status: RecipeStatus::Running,
                counts: RecipeCounts::default(),
            }),
            other => other.immediate_facts().unwrap_or_else(|| unreachable!()),
        };
        state.record(&node, facts);
    }
}

/// `next_actions`, checked to be idempotent, then applied.
pub(crate) fn step(def: &Definition, types: &Resolved, input: &RecipeData, state: &mut RecipeState) -> Vec<Action> {
    let actions = next_actions(def, types, input, state);
    assert_eq!(
        actions,
        next_actions(def, types, input, state),
        "next_actions must be idempotent"
    );
    apply(state, &actions);
    actions
}

pub(crate) fn set_job(state: &mut RecipeState, node: &str, status: JobStatus, results: Option<Value>) {
    match state.nodes.get_mut(node) {
        Some(NodeFacts::Job(job)) => {
            job.status = status;
            job.results = results;
        }
        other => panic!("{node} is not a job: {other:?}"),
    }
}

pub(crate) fn complete(state: &mut RecipeState, node: &str, results: Value) {
    set_job(state, node, JobStatus::Completed, Some(results));
}

pub(crate) fn nodes_of(actions: &[Action]) -> Vec<&str> {
    actions.iter().map(Action::node).collect()
}

/// A job type "name" 1.0 revision 1 with these interfaces.
pub(crate) fn job_type(types: Resolved, name: &str, inputs: Interface, outputs: Interface) -> Resolved {
    with_job(types, job_key(name, "1.0", 1), inputs, outputs)
}

pub(crate) fn job(name: &str, deps: Value, inputs: Value) -> Value {
    job_node(name, "1.0", 1, deps, inputs)
}

pub(crate) fn dep(node: &str, output: &str) -> Value {
    json!({"type": "dependency", "node": node, "output": output})
}

pub(crate) fn rin(input: &str) -> Value {
    json!({"type": "recipe", "input": input})
}

/// Job nodes `n0…`, node `i` depending on the picked earlier nodes.
pub(crate) fn dag(parents: &[Vec<proptest::sample::Index>]) -> Definition {
    let mut nodes = serde_json::Map::new();
    for (i, ps) in parents.iter().enumerate() {
        let mut deps: Vec<String> = if i == 0 {
            vec![]
        } else {
            ps.iter().map(|p| format!("n{}", p.index(i))).collect()
        };
        deps.sort();
        deps.dedup();
        let deps: Vec<Value> = deps.iter().map(|d| json!({"name": d})).collect();
        nodes.insert(format!("n{i}"), job("w", Value::Array(deps), json!({})));
    }
    parse(json!({ "nodes": nodes }))
}
