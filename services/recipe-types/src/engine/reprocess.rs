//! Reprocessing: which nodes of a superseded recipe the new recipe reuses.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use super::names::INVALID_FORCED_NODES;
use super::state::{JobStatus, NodeFacts, RecipeState, RecipeStatus};
use crate::definition::{Definition, ForcedNodes, Message, diff};

/// What the new recipe does with one of its nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodePlan {
    /// The old node's job, condition outcome or child recipe is carried over.
    Reuse,
    /// The node runs again from scratch.
    Run,
    /// The sub-recipe node reprocesses its old child recipe (which reuses
    /// what it can inside) instead of starting a new one.
    ReprocessSubRecipe { old_recipe_id: String, forced: ForcedNodes },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reprocess {
    /// False when the input interface changed incompatibly: nothing is reused.
    pub can_be_reprocessed: bool,
    pub reasons: Vec<Message>,
    /// Every node of the new definition.
    pub nodes: BTreeMap<String, NodePlan>,
    /// The new recipe's starting state: the reused nodes' facts.
    pub state: RecipeState,
    /// Nodes of the old recipe that had run and are not reused (run again,
    /// or deleted from the definition): the storage layer supersedes them.
    pub superseded: Vec<String>,
}

impl Reprocess {
    pub fn reused(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|(_, p)| **p == NodePlan::Reuse)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// A node is reused when the diff leaves it unchanged and unforced, it had
/// finished successfully in the old recipe, and every dependency is reused
/// too; otherwise it runs again.
pub fn plan_reprocess(
    old_def: &Definition,
    old_state: &RecipeState,
    new_def: &Definition,
    forced: &ForcedNodes,
) -> Reprocess {
    let mut d = diff(old_def, new_def);
    d.set_force_reprocess(forced);
    let copyable: HashSet<&str> = d.nodes_to_copy().into_iter().collect();
    let recursive: HashSet<&str> = d.nodes_to_recursively_supersede().into_iter().collect();

    let mut nodes = BTreeMap::new();
    let mut state = RecipeState::default();
    for name in new_def.topological_order().unwrap_or_default() {
        let Some(node) = new_def.node(&name) else { continue };
        let old = old_state.facts(&name);
        let parents_reused = node
            .dependencies
            .iter()
            .all(|dep| nodes.get(&dep.name) == Some(&NodePlan::Reuse));
        let plan = match old {
            Some(facts) if copyable.contains(name.as_str()) && finished(facts) && parents_reused => {
                state.record(&name, facts.clone());
                NodePlan::Reuse
            }
            Some(NodeFacts::SubRecipe(sub)) if d.can_be_reprocessed() && !recursive.contains(name.as_str()) => {
                NodePlan::ReprocessSubRecipe {
                    old_recipe_id: sub.recipe_id.clone(),
                    forced: d
                        .node(&name)
                        .and_then(|n| n.forced_sub_nodes.clone())
                        .unwrap_or_default(),
                }
            }
            _ => NodePlan::Run,
        };
        nodes.insert(name, plan);
    }
    let superseded = old_state
        .nodes
        .keys()
        .filter(|n| nodes.get(n.as_str()) != Some(&NodePlan::Reuse))
        .cloned()
        .collect();
    Reprocess {
        can_be_reprocessed: d.can_be_reprocessed(),
        reasons: d.reasons().to_vec(),
        nodes,
        state,
        superseded,
    }
}

/// Only a successful outcome is worth reusing; a failed or unfinished node
/// runs again.
fn finished(facts: &NodeFacts) -> bool {
    match facts {
        NodeFacts::Job(job) => job.status == JobStatus::Completed,
        NodeFacts::Condition(_) => true,
        NodeFacts::SubRecipe(sub) => sub.status == RecipeStatus::Completed,
        NodeFacts::InputError(_) => false,
    }
}

/// Scale's forced-nodes JSON: `{"all": bool, "nodes": [names],
/// "sub_recipes": {name: forced_nodes}}`.
pub fn parse_forced_nodes(v: &Value) -> Result<ForcedNodes, Vec<Message>> {
    let mut errors = Vec::new();
    let forced = forced_at(v, "forced_nodes", &mut errors);
    if errors.is_empty() { Ok(forced) } else { Err(errors) }
}

fn forced_at(v: &Value, at: &str, errors: &mut Vec<Message>) -> ForcedNodes {
    let mut out = ForcedNodes::default();
    let mut fail = |text: String| errors.push(Message::new(INVALID_FORCED_NODES, text));
    let Some(obj) = v.as_object() else {
        fail(format!("'{at}' must be a JSON object"));
        return out;
    };
    for key in obj
        .keys()
        .filter(|k| !matches!(k.as_str(), "all" | "nodes" | "sub_recipes"))
    {
        fail(format!("'{at}' has an unknown field '{key}'"));
    }
    match obj.get("all") {
        Some(Value::Bool(all)) => out.all = *all,
        Some(_) => fail(format!("'{at}.all' must be a boolean")),
        None => fail(format!("'{at}.all' is required")),
    }
    match obj.get("nodes") {
        None => {}
        Some(Value::Array(items)) => {
            let names: Option<BTreeSet<String>> = items.iter().map(|i| i.as_str().map(str::to_owned)).collect();
            match names {
                Some(names) => out.nodes = names,
                None => fail(format!("'{at}.nodes' must be a list of node names")),
            }
        }
        Some(_) => fail(format!("'{at}.nodes' must be a list of node names")),
    }
    let subs = match obj.get("sub_recipes") {
        None => None,
        Some(Value::Object(subs)) => Some(subs),
        Some(_) => {
            fail(format!("'{at}.sub_recipes' must be a JSON object"));
            None
        }
    };
    for (name, sub) in subs.into_iter().flatten() {
        let parsed = forced_at(sub, &format!("{at}.sub_recipes.{name}"), errors);
        out.sub_recipes.insert(name.clone(), parsed);
    }
    out
}

#[cfg(test)]
#[path = "reprocess_tests.rs"]
mod tests;
