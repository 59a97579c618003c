//! Property tests over random definitions.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::names::CIRCULAR_DEPENDENCY;
use super::test_support::*;
use super::{Interface, NodeStatus, Resolved, diff, parse_definition, validate};

/// A random DAG: node `i` may depend on any `j < i`.
#[derive(Debug, Clone)]
struct Dag {
    n: usize,
    edges: Vec<bool>,
    picks: Vec<usize>,
    beta: Vec<bool>,
}

impl Dag {
    fn parents(&self, i: usize) -> Vec<usize> {
        (0..i).filter(|&j| self.edges[i * self.n + j]).collect()
    }
}

fn dag() -> impl Strategy<Value = Dag> {
    (1usize..10).prop_flat_map(|n| {
        (vec(any::<bool>(), n * n), vec(any::<usize>(), n), vec(any::<bool>(), n))
            .prop_map(move |(edges, picks, beta)| Dag { n, edges, picks, beta })
    })
}

fn job_interfaces() -> (Interface, Interface) {
    let inputs = iface(
        vec![file("data", &[], false, true)],
        vec![jparam("value", "integer", true)],
    );
    let outputs = iface(
        vec![file("product", &["image/png"], true, false)],
        vec![jparam("result", "integer", true)],
    );
    (inputs, outputs)
}

fn resolved() -> Resolved {
    let (i, o) = job_interfaces();
    let r = with_job(Resolved::default(), job_key("alpha", "1.0", 1), i.clone(), o.clone());
    with_job(r, job_key("beta", "2.0", 3), i, o)
}

/// Each node takes `value` and `data` from the recipe input or from one of
/// its direct parents, picked by `picks`.
fn dag_json(d: &Dag) -> Value {
    let mut nodes = Map::new();
    for i in 0..d.n {
        let parents = d.parents(i);
        let deps: Vec<Value> = parents.iter().map(|p| json!({"name": format!("n{p}")})).collect();
        let pick = d.picks[i];
        let from = |slot: usize, output: &str, recipe_input: &str| {
            if parents.is_empty() || (pick >> slot).is_multiple_of(parents.len() + 1) {
                json!({"type": "recipe", "input": recipe_input})
            } else {
                let p = parents[(pick >> slot) % parents.len()];
                json!({"type": "dependency", "node": format!("n{p}"), "output": output})
            }
        };
        let inputs = json!({"value": from(0, "result", "seed"), "data": from(8, "product", "images")});
        let node = if d.beta[i] {
            job_node("beta", "2.0", 3, Value::Array(deps), inputs)
        } else {
            job_node("alpha", "1.0", 1, Value::Array(deps), inputs)
        };
        nodes.insert(format!("n{i}"), node);
    }
    json!({
        "input": {"files": [{"name": "images", "multiple": true, "required": false}], "json": [{"name": "seed", "type": "integer"}]},
        "nodes": nodes,
    })
}

fn name_strategy() -> impl Strategy<Value = String> {
    "[a-z][a-z_-]{0,6}"
}

fn filter_entry(name: String) -> impl Strategy<Value = Value> {
    prop_oneof![
        (any::<i32>(), any::<bool>()).prop_map({
            let name = name.clone();
            move |(v, text)| {
                let value = if text { json!(v.to_string()) } else { json!(v) };
                json!({"name": name, "type": "integer", "condition": ">=", "values": [value]})
            }
        }),
        (-1.0e6f64..1.0e6, -1.0e6f64..1.0e6).prop_map({
            let name = name.clone();
            move |(a, b)| json!({"name": name, "type": "number", "condition": "between", "values": [a, b.to_string()]})
        }),
        "[a-z]{1,5}".prop_map({
            let name = name.clone();
            move |s| json!({"name": name, "type": "string", "condition": "contains", "values": [s], "all_files": true})
        }),
        any::<bool>().prop_map({
            let name = name.clone();
            move |b| json!({"name": name, "type": "boolean", "condition": "!=", "values": [b]})
        }),
        Just(
            json!({"name": name, "type": "object", "condition": "==", "values": [1], "fields": [["k", "j"]], "all_fields": false})
        ),
    ]
}

fn condition_type() -> impl Strategy<Value = Value> {
    let names = vec(name_strategy(), 0..4);
    (names, any::<bool>(), any::<bool>()).prop_flat_map(|(names, all, with_all)| {
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        let entries: Vec<_> = unique.iter().map(|n| filter_entry(n.clone())).collect();
        (Just(unique), entries, Just(all), Just(with_all)).prop_map(|(unique, filters, all, with_all)| {
            let json_params: Vec<Value> =
                unique.iter().map(|n| json!({"name": n, "type": "integer", "required": n.len() % 2 == 0})).collect();
            let mut filter = json!({"filters": filters});
            if with_all {
                filter["all"] = json!(all);
            }
            json!({"node_type": "condition", "interface": {"version": "6", "files": [], "json": json_params}, "data_filter": filter})
        })
    })
}

fn node_type() -> impl Strategy<Value = Value> {
    prop_oneof![
        (name_strategy(), "[0-9]\\.[0-9]", 1i64..5).prop_map(|(n, v, r)| json!({
            "node_type": "job", "job_type_name": n, "job_type_version": v, "job_type_revision": r})),
        (name_strategy(), 1i64..5).prop_map(|(n, r)| json!({
            "node_type": "recipe", "recipe_type_name": n, "recipe_type_revision": r})),
        condition_type(),
    ]
}

/// Arbitrary valid definitions mixing all node kinds, with defaults
/// sometimes written and sometimes left out.
fn any_definition() -> impl Strategy<Value = Value> {
    (1usize..7)
        .prop_flat_map(|n| (vec(node_type(), n), vec(any::<u8>(), n), any::<bool>()))
        .prop_map(|(types, bits, versioned)| {
            let mut nodes = Map::new();
            for (i, nt) in types.iter().enumerate() {
                let deps: Vec<Value> = (0..i)
                    .filter(|j| bits[i] >> (j % 8) & 1 == 1)
                    .map(|j| if j % 2 == 0 { json!({"name": format!("n{j}")}) } else { json!({"name": format!("n{j}"), "acceptance": false}) })
                    .collect();
                let mut inputs = Map::new();
                inputs.insert("from_recipe".into(), json!({"type": "recipe", "input": "seed"}));
                // Sub-recipes have no outputs, so only job and condition nodes are sources.
                if let Some(j) = (0..i).find(|&j| bits[j] % 3 == 0 && types[j]["node_type"] != "recipe") {
                    inputs.insert("from_node".into(), json!({"type": "dependency", "node": format!("n{j}"), "output": "o"}));
                }
                nodes.insert(format!("n{i}"), json!({"dependencies": deps, "input": inputs, "node_type": nt}));
            }
            let mut def = json!({"input": {"files": [{"name": "img"}], "json": [{"name": "seed", "type": "integer", "required": false}]}, "nodes": nodes});
            if versioned {
                def["version"] = json!("6");
            }
            def
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_dags_validate_cleanly(d in dag()) {
        let def = parse(dag_json(&d));
        let outcome = validate(&def, &resolved());
        prop_assert!(outcome.errors.is_empty(), "{:#?}", outcome.errors);
        prop_assert!(def.topological_order().is_some());
    }

    #[test]
    fn a_back_edge_is_a_cycle(d in dag(), pick in any::<usize>()) {
        let mut json = dag_json(&d);
        let edges: Vec<(usize, usize)> = (0..d.n).flat_map(|c| d.parents(c).into_iter().map(move |p| (p, c))).collect();
        let (parent, child) = if edges.is_empty() { (0, 0) } else { edges[pick % edges.len()] };
        if let Some(deps) = json["nodes"][format!("n{parent}")]["dependencies"].as_array_mut() {
            deps.push(json!({"name": format!("n{child}")}));
        }
        let def = parse(json);
        let outcome = validate(&def, &resolved());
        prop_assert!(outcome.errors.iter().any(|e| e.name == CIRCULAR_DEPENDENCY), "{:#?}", outcome.errors);
        prop_assert_eq!(&outcome.errors[0].name, CIRCULAR_DEPENDENCY);
        prop_assert!(def.topological_order().is_none());
    }

    #[test]
    fn normalising_is_idempotent(raw in any_definition()) {
        let first = match parse_definition(&raw) {
            Ok(def) => def,
            Err(errors) => return Err(TestCaseError::fail(format!("{errors:#?}\n{raw:#}"))),
        };
        let json = first.to_json();
        let second = parse(json.clone());
        prop_assert_eq!(&second, &first);
        prop_assert_eq!(second.to_json(), json);
    }

    #[test]
    fn diff_with_itself_is_unchanged(raw in any_definition()) {
        let def = parse(raw);
        let d = diff(&def, &def.clone());
        prop_assert!(d.can_be_reprocessed());
        prop_assert!(d.reasons().is_empty());
        prop_assert_eq!(d.nodes().len(), def.nodes().len());
        for n in d.nodes() {
            prop_assert_eq!(n.status, NodeStatus::Unchanged);
            prop_assert!(n.changes.is_empty() && !n.reprocess_new_node);
        }
    }
}
