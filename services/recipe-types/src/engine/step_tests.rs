use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::definition::{Interface, Resolved};
use crate::engine::test_support::*;
use crate::engine::*;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn input(v: Value) -> RecipeData {
    match serde_json::from_value(v) {
        Ok(data) => data,
        Err(e) => panic!("bad recipe data: {e}"),
    }
}

fn state_of(def: &crate::definition::Definition, state: &RecipeState, node: &str) -> NodeState {
    node_states(def, state)
        .get(node)
        .map_or(NodeState::Pending, |v| v.state)
}

/// The seed's shape: job → job → condition → sub-recipe.
fn seed_recipe() -> (crate::definition::Definition, Resolved) {
    let def = parse(json!({
        "input": {"files": [{"name": "image", "media_types": ["image/tiff"]}], "json": [{"name": "threshold", "type": "integer"}]},
        "nodes": {
            "detect": job("detector", json!([]), json!({"image": rin("image"), "threshold": rin("threshold")})),
            "measure": job("measurer", json!([{"name": "detect"}]), json!({"mask": dep("detect", "mask")})),
            "big_enough": cond_node(
                json!([{"name": "measure"}]),
                json!({"area": dep("measure", "area"), "mask": dep("detect", "mask")}),
                json!({"files": [{"name": "mask", "media_types": [], "required": true, "multiple": false}],
                       "json": [{"name": "area", "type": "integer", "required": true}]}),
                json!({"filters": [{"name": "area", "type": "integer", "condition": ">", "values": [10]}]}),
            ),
            "report": recipe_node("reporting", 2, json!([{"name": "big_enough"}]),
                json!({"mask": dep("big_enough", "mask"), "area": dep("big_enough", "area")})),
        }
    }));
    let types = Resolved::default();
    let types = job_type(
        types,
        "detector",
        iface(
            vec![file("image", &[], true, false)],
            vec![jparam("threshold", "integer", true)],
        ),
        iface(vec![file("mask", &["image/png"], true, false)], vec![]),
    );
    let types = job_type(
        types,
        "measurer",
        iface(vec![file("mask", &[], true, false)], vec![]),
        iface(vec![], vec![jparam("area", "integer", true)]),
    );
    let types = with_recipe(
        types,
        "reporting",
        2,
        iface(
            vec![file("mask", &[], true, false)],
            vec![jparam("area", "integer", true)],
        ),
    );
    (def, types)
}

#[test]
fn seed_shape_runs_job_job_condition_sub_recipe() {
    let (def, types) = seed_recipe();
    let data = input(json!({"files": {"image": ["s3://in/scan.tif"]}, "json": {"threshold": 3}}));
    let mut state = RecipeState::default();

    let first = step(&def, &types, &data, &mut state);
    assert_eq!(
        first,
        vec![Action::CreateJob {
            node: "detect".into(),
            job_type: job_key("detector", "1.0", 1),
            parameters: json!({"image": "s3://in/scan.tif", "threshold": 3}),
        }]
    );
    assert_eq!(state_of(&def, &state, "detect"), NodeState::Queued);
    assert_eq!(state_of(&def, &state, "measure"), NodeState::Pending);
    assert!(
        step(&def, &types, &data, &mut state).is_empty(),
        "nothing runs before detect completes"
    );
    set_job(&mut state, "detect", JobStatus::Working, None);
    assert_eq!(state_of(&def, &state, "detect"), NodeState::Running);
    assert!(step(&def, &types, &data, &mut state).is_empty());

    complete(&mut state, "detect", json!({"mask": "s3://out/mask.png"}));
    let second = step(&def, &types, &data, &mut state);
    assert_eq!(second.len(), 1);
    assert!(matches!(&second[0], Action::CreateJob { node, parameters, .. }
        if node == "measure" && *parameters == json!({"mask": "s3://out/mask.png"})));

    complete(&mut state, "measure", json!({"area": 42}));
    let third = step(&def, &types, &data, &mut state);
    assert_eq!(
        third,
        vec![Action::EvaluateCondition {
            node: "big_enough".into(),
            accepted: true,
            data: obj(json!({"area": 42, "mask": "s3://out/mask.png"})),
        }]
    );

    let fourth = step(&def, &types, &data, &mut state);
    let expected_input = input(json!({"files": {"mask": ["s3://out/mask.png"]}, "json": {"area": 42}}));
    assert_eq!(
        fourth,
        vec![Action::StartSubRecipe {
            node: "report".into(),
            recipe_type: crate::definition::RecipeTypeKey {
                name: "reporting".into(),
                revision: 2
            },
            input: expected_input,
        }]
    );
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Running);
    if let Some(NodeFacts::SubRecipe(sub)) = state.nodes.get_mut("report") {
        sub.status = RecipeStatus::Completed;
    }
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Completed);
    assert!(step(&def, &types, &data, &mut state).is_empty());
}

fn fan(sink_multiple: bool) -> (crate::definition::Definition, Resolved) {
    let mut nodes = Map::new();
    nodes.insert("split".into(), job("splitter", json!([]), json!({})));
    let mut sink_inputs = Map::new();
    for k in 0..50 {
        let mid = format!("tile_{k:02}");
        nodes.insert(
            mid.clone(),
            job(
                "tiler",
                json!([{"name": "split"}]),
                json!({"piece": dep("split", "piece")}),
            ),
        );
        sink_inputs.insert(format!("part_{k:02}"), dep(&mid, "tile"));
    }
    let deps: Vec<Value> = (0..50).map(|k| json!({"name": format!("tile_{k:02}")})).collect();
    nodes.insert(
        "merge".into(),
        job("merger", Value::Array(deps), Value::Object(sink_inputs)),
    );
    let def = parse(json!({"nodes": nodes}));
    let sink = Interface {
        files: (0..50)
            .map(|k| file(&format!("part_{k:02}"), &[], true, sink_multiple))
            .collect(),
        json: vec![],
    };
    let types = job_type(
        Resolved::default(),
        "splitter",
        Interface::default(),
        iface(vec![file("piece", &[], true, false)], vec![]),
    );
    let types = job_type(
        types,
        "tiler",
        iface(vec![file("piece", &[], true, false)], vec![]),
        iface(vec![file("tile", &[], true, false)], vec![]),
    );
    (def, job_type(types, "merger", sink, Interface::default()))
}

fn run_fan(sink_multiple: bool) -> Value {
    let (def, types) = fan(sink_multiple);
    let data = RecipeData::default();
    let mut state = RecipeState::default();
    assert_eq!(nodes_of(&step(&def, &types, &data, &mut state)), ["split"]);
    complete(&mut state, "split", json!({"piece": "s3://b/whole.tif"}));
    let mids = step(&def, &types, &data, &mut state);
    assert_eq!(mids.len(), 50, "one job per tile node");
    for (k, action) in mids.iter().enumerate() {
        assert!(
            matches!(action, Action::CreateJob { parameters, .. } if *parameters == json!({"piece": "s3://b/whole.tif"}))
        );
        complete(
            &mut state,
            action.node(),
            json!({"tile": format!("s3://b/tile-{k:02}.tif")}),
        );
        if k < 49 {
            assert!(
                next_actions(&def, &types, &data, &state).is_empty(),
                "merge waits for all 50"
            );
        }
    }
    let last = step(&def, &types, &data, &mut state);
    assert_eq!(nodes_of(&last), ["merge"]);
    let Action::CreateJob { parameters, .. } = &last[0] else {
        panic!("merge should become a job: {last:?}")
    };
    complete(&mut state, "merge", json!({}));
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Completed);
    assert_eq!(recipe_counts(&def, &state).jobs_completed, 52);
    parameters.clone()
}

#[test]
fn fan_out_fan_in_gives_the_last_node_all_fifty_outputs() {
    let single = run_fan(false);
    let multiple = run_fan(true);
    for k in 0..50 {
        let key = format!("part_{k:02}");
        let uri = format!("s3://b/tile-{k:02}.tif");
        assert_eq!(single[&key], json!(uri), "a single-file input gets a URI string");
        assert_eq!(multiple[&key], json!([uri]), "a multiple input gets an array of URIs");
    }
    assert_eq!(single.as_object().map(Map::len), Some(50));
}

#[test]
fn a_multiple_output_reaches_a_multiple_input_as_an_array() {
    let def = parse(json!({"nodes": {
        "a": job("many", json!([]), json!({})),
        "b": job("takes", json!([{"name": "a"}]), json!({"files": dep("a", "files")})),
    }}));
    let types = job_type(
        Resolved::default(),
        "many",
        Interface::default(),
        iface(vec![file("files", &[], true, true)], vec![]),
    );
    let types = job_type(
        types,
        "takes",
        iface(vec![file("files", &[], true, true)], vec![]),
        Interface::default(),
    );
    let data = RecipeData::default();
    let mut state = RecipeState::default();
    step(&def, &types, &data, &mut state);
    complete(&mut state, "a", json!({"files": ["s3://x/1.png", "s3://x/2.png"]}));
    let actions = step(&def, &types, &data, &mut state);
    assert!(matches!(&actions[..], [Action::CreateJob { parameters, .. }]
        if *parameters == json!({"files": ["s3://x/1.png", "s3://x/2.png"]})));
}

/// a → gate (n > 0) → yes (on accept) → after_yes; gate → no (on reject).
fn branching() -> (crate::definition::Definition, Resolved) {
    let def = parse(json!({"nodes": {
        "a": job("counter", json!([]), json!({})),
        "gate": cond_node(json!([{"name": "a"}]), json!({"n": dep("a", "n")}),
            json!({"files": [], "json": [{"name": "n", "type": "integer", "required": true}]}),
            json!({"filters": [{"name": "n", "type": "integer", "condition": ">", "values": [0]}]})),
        "yes": job("worker", json!([{"name": "gate", "acceptance": true}]), json!({"n": dep("gate", "n")})),
        "after_yes": job("worker", json!([{"name": "yes"}]), json!({})),
        "no": job("worker", json!([{"name": "gate", "acceptance": false}]), json!({})),
    }}));
    let types = job_type(
        Resolved::default(),
        "counter",
        Interface::default(),
        iface(vec![], vec![jparam("n", "integer", true)]),
    );
    (
        def,
        job_type(types, "worker", Interface::default(), Interface::default()),
    )
}

fn run_branching(n: i64) -> (crate::definition::Definition, RecipeState, Vec<String>) {
    let (def, types) = branching();
    let data = RecipeData::default();
    let mut state = RecipeState::default();
    let mut ran = Vec::new();
    step(&def, &types, &data, &mut state);
    complete(&mut state, "a", json!({"n": n}));
    loop {
        let actions = step(&def, &types, &data, &mut state);
        if actions.is_empty() {
            break;
        }
        for action in &actions {
            ran.push(action.node().to_owned());
            if let Action::CreateJob { node, .. } = action {
                complete(&mut state, node, json!({}));
            }
        }
    }
    (def, state, ran)
}

#[test]
fn an_accepted_condition_runs_the_accept_branch_and_blocks_the_other() {
    let (def, state, ran) = run_branching(5);
    assert_eq!(ran, ["gate", "yes", "after_yes"]);
    let views = node_states(&def, &state);
    assert_eq!(views["no"].state, NodeState::Blocked);
    assert!(views["no"].blocked_by_condition);
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Completed);
    let details = serde_json::to_value(recipe_details(&def, &state)).unwrap_or_default();
    assert_eq!(details["nodes"]["gate"]["node_type"]["is_accepted"], json!(true));
    assert_eq!(details["nodes"]["no"]["node_type"]["status"], json!("BLOCKED"));
}

#[test]
fn a_rejected_condition_runs_the_reject_branch_and_blocks_the_chain() {
    let (def, state, ran) = run_branching(0);
    assert_eq!(ran, ["gate", "no"]);
    let views = node_states(&def, &state);
    assert_eq!(views["yes"].state, NodeState::Blocked);
    assert_eq!(
        views["after_yes"].state,
        NodeState::Blocked,
        "blocked through the chain"
    );
    assert!(views["after_yes"].blocked_by_condition);
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Completed);
}

#[test]
fn media_type_and_filename_filters_see_declared_or_guessed_types() {
    let def = parse(json!({"nodes": {
        "a": job("imager", json!([]), json!({})),
        "is_png": cond_node(json!([{"name": "a"}]), json!({"declared": dep("a", "declared"), "guessed": dep("a", "guessed")}),
            json!({"files": [{"name": "declared", "media_types": [], "required": true, "multiple": false},
                             {"name": "guessed", "media_types": [], "required": true, "multiple": false}], "json": []}),
            json!({"filters": [
                {"name": "declared", "type": "media-type", "condition": "==", "values": ["image/png"]},
                {"name": "guessed", "type": "media-type", "condition": "==", "values": ["image/tiff"]},
                {"name": "guessed", "type": "filename", "condition": "==", "values": ["scan.tif"]}]})),
    }}));
    let types = job_type(
        Resolved::default(),
        "imager",
        Interface::default(),
        iface(
            vec![
                file("declared", &["image/png"], true, false),
                file("guessed", &[], true, false),
            ],
            vec![],
        ),
    );
    let data = RecipeData::default();
    let mut state = RecipeState::default();
    step(&def, &types, &data, &mut state);
    let accepted_for = |guessed: &str| {
        let mut s = state.clone();
        complete(
            &mut s,
            "a",
            json!({"declared": "s3://b/no-extension", "guessed": guessed}),
        );
        match &next_actions(&def, &types, &data, &s)[..] {
            [Action::EvaluateCondition { accepted, .. }] => *accepted,
            other => panic!("expected one evaluation: {other:?}"),
        }
    };
    assert!(accepted_for("https://h/dir/scan.tif?sig=x"));
    assert!(!accepted_for("https://h/dir/scan.png"));
    assert!(!accepted_for("https://h/dir/other.tif"));
}

/// a → b → c, and d after a only.
fn chain() -> (crate::definition::Definition, Resolved) {
    let def = parse(json!({"nodes": {
        "a": job("w", json!([]), json!({})),
        "b": job("w", json!([{"name": "a"}]), json!({})),
        "c": job("w", json!([{"name": "b"}]), json!({})),
        "d": job("w", json!([{"name": "a"}]), json!({})),
    }}));
    (
        def,
        job_type(Resolved::default(), "w", Interface::default(), Interface::default()),
    )
}

#[test]
fn a_failed_job_blocks_its_dependents_until_a_retry_completes() {
    let (def, types) = chain();
    let data = RecipeData::default();
    let mut state = RecipeState::default();
    step(&def, &types, &data, &mut state);
    complete(&mut state, "a", json!({}));
    assert_eq!(nodes_of(&step(&def, &types, &data, &mut state)), ["b", "d"]);

    set_job(&mut state, "b", JobStatus::Error, None);
    assert_eq!(state_of(&def, &state, "b"), NodeState::Failed);
    assert_eq!(state_of(&def, &state, "c"), NodeState::Blocked);
    assert!(!node_states(&def, &state)["c"].blocked_by_condition);
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Failed);
    assert!(step(&def, &types, &data, &mut state).is_empty());
    complete(&mut state, "d", json!({}));
    assert_eq!(
        recipe_status(&def, &state),
        RecipeStatus::Failed,
        "a failure is not completion"
    );

    // The job is retried: ERROR → REGISTERED → COMPLETED.
    set_job(&mut state, "b", JobStatus::Registered, None);
    assert_eq!(state_of(&def, &state, "c"), NodeState::Pending);
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Running);
    assert!(step(&def, &types, &data, &mut state).is_empty());
    complete(&mut state, "b", json!({}));
    assert_eq!(nodes_of(&step(&def, &types, &data, &mut state)), ["c"]);
    complete(&mut state, "c", json!({}));
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Completed);
}

#[test]
fn a_missing_required_value_fails_the_node() {
    let def = parse(json!({"nodes": {
        "a": job("w", json!([]), json!({})),
        "b": job("needs", json!([{"name": "a"}]), json!({"x": dep("a", "x")})),
    }}));
    let types = job_type(
        Resolved::default(),
        "w",
        Interface::default(),
        iface(vec![], vec![jparam("x", "string", false)]),
    );
    let types = job_type(
        types,
        "needs",
        iface(vec![], vec![jparam("x", "string", true)]),
        Interface::default(),
    );
    let data = RecipeData::default();
    let mut state = RecipeState::default();
    step(&def, &types, &data, &mut state);
    complete(&mut state, "a", json!({}));
    let actions = step(&def, &types, &data, &mut state);
    assert!(matches!(&actions[..], [Action::FailNode { node, error }]
        if node == "b" && error.name == names::MISSING_VALUE));
    assert_eq!(state_of(&def, &state, "b"), NodeState::Failed);
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Failed);
}

#[test]
fn a_cancelled_recipe_does_nothing_more() {
    let (def, types) = chain();
    let mut state = RecipeState {
        canceled: true,
        ..RecipeState::default()
    };
    assert!(next_actions(&def, &types, &RecipeData::default(), &state).is_empty());
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Canceled);
    state.canceled = false;
    step(&def, &types, &RecipeData::default(), &mut state);
    set_job(&mut state, "a", JobStatus::Canceled, None);
    assert_eq!(state_of(&def, &state, "b"), NodeState::Blocked);
    assert_eq!(recipe_status(&def, &state), RecipeStatus::Canceled);
}

#[test]
fn an_empty_recipe_is_complete_at_once() {
    let def = parse(json!({}));
    assert_eq!(recipe_status(&def, &RecipeState::default()), RecipeStatus::Completed);
}

proptest! {
    /// Any DAG of jobs, finished in any order with failures retried: every
    /// node becomes a job exactly once, never before its parents completed,
    /// and the recipe ends COMPLETED.
    #[test]
    fn every_node_runs_once_after_its_parents(
        parents in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..3), 1..12),
        picks in proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 64),
    ) {
        let def = dag(&parents);
        let types = job_type(Resolved::default(), "w", Interface::default(), Interface::default());
        let data = RecipeData::default();
        let mut state = RecipeState::default();
        let mut picks = picks.into_iter().cycle();
        for _ in 0..400 {
            for action in step(&def, &types, &data, &mut state) {
                let node = def.node(action.node()).map(|n| n.dependencies.clone()).unwrap_or_default();
                for d in node {
                    let parent = state.facts(&d.name);
                    prop_assert!(matches!(parent, Some(NodeFacts::Job(j)) if j.status == JobStatus::Completed));
                }
            }
            let open: Vec<String> = state.nodes.iter()
                .filter(|(_, f)| matches!(f, NodeFacts::Job(j) if j.status != JobStatus::Completed))
                .map(|(n, _)| n.clone()).collect();
            if open.is_empty() {
                break;
            }
            let Some((pick, fail)) = picks.next() else { break };
            let node = &open[pick.index(open.len())];
            let failed = matches!(state.facts(node), Some(NodeFacts::Job(j)) if j.status == JobStatus::Error);
            if fail && !failed {
                set_job(&mut state, node, JobStatus::Error, None);
                prop_assert_eq!(recipe_status(&def, &state), RecipeStatus::Failed);
            } else {
                complete(&mut state, node, json!({}));
            }
        }
        prop_assert_eq!(state.nodes.len(), def.nodes().len());
        prop_assert_eq!(recipe_status(&def, &state), RecipeStatus::Completed);
    }
}

#[test]
fn a_file_passed_on_by_a_condition_keeps_its_producers_media_type() {
    let one_file =
        json!({"files": [{"name": "img", "media_types": [], "required": true, "multiple": false}], "json": []});
    let def = parse(json!({"nodes": {
        "a": job("imager", json!([]), json!({})),
        "pass": cond_node(json!([{"name": "a"}]), json!({"img": dep("a", "img")}), one_file.clone(), json!({})),
        "is_png": cond_node(json!([{"name": "pass"}]), json!({"img": dep("pass", "img")}), one_file,
            json!({"filters": [{"name": "img", "type": "media-type", "condition": "==", "values": ["image/png"]}]})),
    }}));
    let types = job_type(
        Resolved::default(),
        "imager",
        Interface::default(),
        iface(vec![file("img", &["image/png"], true, false)], vec![]),
    );
    let data = RecipeData::default();
    let mut state = RecipeState::default();
    step(&def, &types, &data, &mut state);
    complete(&mut state, "a", json!({"img": "s3://b/no-extension"}));
    assert_eq!(nodes_of(&step(&def, &types, &data, &mut state)), ["pass"]);
    let last = step(&def, &types, &data, &mut state);
    assert!(
        matches!(&last[..], [Action::EvaluateCondition { node, accepted: true, .. }] if node == "is_png"),
        "{last:?}"
    );
}
