use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::definition::{Definition, ForcedNodes, Resolved};
use crate::engine::test_support::*;
use crate::engine::*;

fn forced(v: Value) -> ForcedNodes {
    match parse_forced_nodes(&v) {
        Ok(f) => f,
        Err(e) => panic!("forced nodes should parse: {e:?}"),
    }
}

fn none() -> ForcedNodes {
    forced(json!({"all": false}))
}

/// a → b, a → c; c's job type revision is `c_rev`.
fn fork(c_rev: i64) -> Definition {
    parse(json!({"nodes": {
        "a": job("w", json!([]), json!({})),
        "b": job("w", json!([{"name": "a"}]), json!({"x": dep("a", "x")})),
        "c": job_node("w", "1.0", c_rev, json!([{"name": "a"}]), json!({"x": dep("a", "x")})),
    }}))
}

/// Runs `def` to completion; every job returns `{"x": "s3://b/<node>"}`.
fn finished(def: &Definition) -> RecipeState {
    let types = with_job(
        job_type(Resolved::default(), "w", Default::default(), Default::default()),
        job_key("w", "1.0", 2),
        Default::default(),
        Default::default(),
    );
    let mut state = RecipeState::default();
    loop {
        let actions = step(def, &types, &RecipeData::default(), &mut state);
        if actions.is_empty() {
            return state;
        }
        for a in &actions {
            if let Action::CreateJob { node, .. } = a {
                complete(&mut state, node, json!({"x": format!("s3://b/{node}")}));
            }
        }
    }
}

fn plans(r: &Reprocess) -> Vec<(&str, &NodePlan)> {
    r.nodes.iter().map(|(n, p)| (n.as_str(), p)).collect()
}

#[test]
fn one_changed_node_runs_again_and_the_rest_is_reused() {
    let old = fork(1);
    let old_state = finished(&old);
    let new = fork(2);
    let r = plan_reprocess(&old, &old_state, &new, &none());
    assert!(r.can_be_reprocessed);
    assert_eq!(
        plans(&r),
        [("a", &NodePlan::Reuse), ("b", &NodePlan::Reuse), ("c", &NodePlan::Run)]
    );
    assert_eq!(r.superseded, ["c"]);
    assert_eq!(r.state.facts("a"), old_state.facts("a"));
    assert!(r.state.facts("c").is_none());

    // The new recipe picks up from the reused results.
    let types = job_type(
        with_job(
            Resolved::default(),
            job_key("w", "1.0", 2),
            Default::default(),
            Default::default(),
        ),
        "w",
        Default::default(),
        Default::default(),
    );
    let actions = next_actions(&new, &types, &RecipeData::default(), &r.state);
    assert_eq!(
        actions,
        vec![Action::CreateJob {
            node: "c".into(),
            job_type: job_key("w", "1.0", 2),
            parameters: json!({"x": "s3://b/a"}),
        }]
    );
}

#[test]
fn a_forced_node_reruns_with_its_descendants() {
    let def = fork(1);
    let old_state = finished(&def);
    let r = plan_reprocess(&def, &old_state, &def, &forced(json!({"all": false, "nodes": ["a"]})));
    assert!(r.reused().is_empty());
    assert_eq!(r.superseded, ["a", "b", "c"]);
    let r = plan_reprocess(&def, &old_state, &def, &forced(json!({"all": false, "nodes": ["b"]})));
    assert_eq!(r.reused(), ["a", "c"]);
    let r = plan_reprocess(&def, &old_state, &def, &forced(json!({"all": true})));
    assert!(r.reused().is_empty());
}

#[test]
fn an_unchanged_node_that_failed_runs_again_and_so_do_its_dependents() {
    let def = parse(json!({"nodes": {
        "a": job("w", json!([]), json!({})),
        "b": job("w", json!([{"name": "a"}]), json!({})),
        "c": job("w", json!([{"name": "b"}]), json!({})),
    }}));
    let mut old_state = finished(&def);
    set_job(&mut old_state, "b", JobStatus::Error, None);
    let r = plan_reprocess(&def, &old_state, &def, &none());
    assert_eq!(
        plans(&r),
        [("a", &NodePlan::Reuse), ("b", &NodePlan::Run), ("c", &NodePlan::Run)]
    );
}

#[test]
fn an_incompatible_input_change_reuses_nothing() {
    let old = fork(1);
    let old_state = finished(&old);
    let mut new_json = old.to_json();
    new_json["input"] = json!({"files": [], "json": [{"name": "needed", "type": "string", "required": true}]});
    let new = parse(new_json);
    let r = plan_reprocess(&old, &old_state, &new, &none());
    assert!(!r.can_be_reprocessed);
    assert_eq!(r.reasons.first().map(|m| m.name.as_str()), Some("INPUT_CHANGE"));
    assert!(r.reused().is_empty());
    assert_eq!(r.superseded.len(), 3);
}

#[test]
fn deleted_nodes_are_superseded() {
    let old = fork(1);
    let old_state = finished(&old);
    let new = parse(json!({"nodes": {"a": job("w", json!([]), json!({}))}}));
    let r = plan_reprocess(&old, &old_state, &new, &none());
    assert_eq!(r.reused(), ["a"]);
    assert_eq!(r.superseded, ["b", "c"]);
}

fn with_sub(rev: i64) -> Definition {
    parse(json!({"nodes": {
        "a": job("w", json!([]), json!({})),
        "r": recipe_node("child", rev, json!([{"name": "a"}]), json!({})),
    }}))
}

fn sub_done(state: &mut RecipeState) {
    if let Some(NodeFacts::SubRecipe(sub)) = state.nodes.get_mut("r") {
        sub.status = RecipeStatus::Completed;
    }
}

#[test]
fn sub_recipes_are_reused_reprocessed_or_restarted() {
    let old = with_sub(1);
    let mut old_state = finished(&old);
    sub_done(&mut old_state);
    assert_eq!(plan_reprocess(&old, &old_state, &old, &none()).reused(), ["a", "r"]);

    let inside = forced(json!({"all": false, "sub_recipes": {"r": {"all": false, "nodes": ["x"]}}}));
    let r = plan_reprocess(&old, &old_state, &old, &inside);
    assert_eq!(
        r.nodes["r"],
        NodePlan::ReprocessSubRecipe {
            old_recipe_id: "recipe-r".into(),
            forced: forced(json!({"all": false, "nodes": ["x"]})),
        }
    );
    assert_eq!(r.nodes["a"], NodePlan::Reuse);

    let newer = plan_reprocess(&old, &old_state, &with_sub(2), &none());
    assert!(
        matches!(&newer.nodes["r"], NodePlan::ReprocessSubRecipe { forced, .. } if *forced == ForcedNodes::default())
    );

    let parent_redone = plan_reprocess(&old, &old_state, &old, &forced(json!({"all": false, "nodes": ["a"]})));
    assert_eq!(
        parent_redone.nodes["r"],
        NodePlan::Run,
        "a new parent result means a new child recipe"
    );
}

#[test]
fn forced_nodes_json_is_checked() {
    let f = forced(json!({"all": false, "nodes": ["a", "b"], "sub_recipes": {"r": {"all": true}}}));
    assert!(f.is_forced("a") && f.is_forced("r") && !f.is_forced("c"));
    assert!(f.sub_recipes["r"].all);
    let errors = parse_forced_nodes(&json!({"nodes": [1], "sub_recipes": {"r": {"all": "yes"}}, "extra": 1}));
    let errors = errors.err().unwrap_or_default();
    let texts: Vec<&str> = errors.iter().map(|m| m.description.as_str()).collect();
    assert!(errors.iter().all(|m| m.name == names::INVALID_FORCED_NODES));
    assert_eq!(
        texts,
        [
            "'forced_nodes' has an unknown field 'extra'",
            "'forced_nodes.all' is required",
            "'forced_nodes.nodes' must be a list of node names",
            "'forced_nodes.sub_recipes.r.all' must be a boolean",
        ]
    );
    assert!(parse_forced_nodes(&json!("all")).is_err());
}

proptest! {
    /// In any DAG, forcing one node reruns exactly it and its descendants;
    /// forcing nothing reuses everything.
    #[test]
    fn forcing_reruns_exactly_the_forced_subtree(
        parents in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..3), 1..10),
        pick in any::<prop::sample::Index>(),
    ) {
        let def = dag(&parents);
        let old_state = finished(&def);
        prop_assert_eq!(plan_reprocess(&def, &old_state, &def, &none()).reused().len(), def.nodes().len());

        let target = format!("n{}", pick.index(parents.len()));
        let mut expected = BTreeSet::from([target.clone()]);
        for node in def.nodes() {
            // Nodes are listed parents-first, so one pass finds every descendant.
            if node.dependencies.iter().any(|d| expected.contains(&d.name)) {
                expected.insert(node.name.clone());
            }
        }
        let r = plan_reprocess(&def, &old_state, &def, &forced(json!({"all": false, "nodes": [target]})));
        let rerun: BTreeSet<String> =
            r.nodes.iter().filter(|(_, p)| **p == NodePlan::Run).map(|(n, _)| n.clone()).collect();
        prop_assert_eq!(&rerun, &expected);
        let superseded: BTreeSet<String> = r.superseded.iter().cloned().collect();
        prop_assert_eq!(superseded, expected);
    }
}
