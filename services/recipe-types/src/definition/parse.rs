//! Definition JSON (v6/v7) → [`Definition`], and the normalised JSON form.
//!
//! Errors come out in the order Scale would meet them: the recipe input's
//! version (checked while defaults are filled in), then schema problems in
//! document order, then what `get_definition` finds while building
//! (duplicate parameters, condition interface and filter problems), then
//! the graph references (`UNKNOWN_NODE`, `UNKNOWN_INPUT`,
//! `CONNECTION_INVALID_NODE`).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::filter_rules::parse_data_filter;
use super::interface::{Interface, parse_interface};
use super::names::{CONNECTION_INVALID_NODE, INVALID_DEFINITION, INVALID_INTERFACE, UNKNOWN_INPUT, UNKNOWN_NODE};
use super::schema::{Issues, raw, show};
use super::{Connection, Definition, Dependency, Message, Node, NodeKind};

#[derive(Default)]
struct Found {
    early: Vec<Message>,
    schema: Vec<Message>,
    build: Vec<Message>,
    graph: Vec<Message>,
}

impl Found {
    fn is_empty(&self) -> bool {
        self.early.is_empty() && self.schema.is_empty() && self.build.is_empty() && self.graph.is_empty()
    }

    fn into_vec(self) -> Vec<Message> {
        [self.early, self.schema, self.build, self.graph].concat()
    }
}

struct RawNode {
    name: String,
    deps: Option<Vec<Dependency>>,
    inputs: Option<Vec<(String, Connection)>>,
    kind: Option<NodeKind>,
}

/// Parses and normalises a recipe definition, reporting every problem found.
///
/// `version` may be `"6"`, `"7"` or absent; anything else (including v1's
/// `"1.0"`, whose conversion is not supported) is refused on its own.
/// `input` and `nodes` default to empty, and the recipe input's parameters
/// get Scale's defaults. Cycles are not checked here but by
/// [`super::validate`].
pub fn parse_definition(json: &Value) -> Result<Definition, Vec<Message>> {
    let Some(top) = json.as_object() else {
        let text = format!("Issue with definition: {} is not of type 'object'", show(json));
        return Err(vec![Message::new(INVALID_DEFINITION, text)]);
    };
    if let Some(v) = top.get("version")
        && !matches!(v.as_str(), Some("6" | "7"))
    {
        let text = format!("{} is an unsupported version number", raw(v));
        return Err(vec![Message::new(INVALID_DEFINITION, text)]);
    }
    let mut found = Found::default();
    let mut issues = Issues::new("definition");
    issues.allow_keys(top, &["version", "input", "nodes"]);
    found.schema.extend(issues.into_plain());

    let input = match top.get("input") {
        // Scale turns a missing or null recipe input into an empty one.
        None | Some(Value::Null) => Interface::default(),
        Some(v) => {
            let parsed = parse_interface(v, "input", true);
            if let Some(text) = parsed.bad_version {
                found
                    .early
                    .push(Message::new(INVALID_INTERFACE, format!("Issue with input: {text}")));
            }
            found.schema.extend(parsed.issues.into_plain());
            found.build.extend(parsed.duplicates);
            parsed.interface
        }
    };

    let empty = Map::new();
    let nodes = match top.get("nodes") {
        None => &empty,
        Some(v) => {
            let mut issues = Issues::new("nodes");
            let map = issues.object(v);
            found.schema.extend(issues.into_plain());
            map.unwrap_or(&empty)
        }
    };
    let raws: Vec<RawNode> = nodes.iter().map(|(name, v)| parse_node(name, v, &mut found)).collect();
    check_references(&raws, &input, &mut found);
    if !found.is_empty() {
        return Err(found.into_vec());
    }
    let mut out = Definition {
        input,
        nodes: Vec::with_capacity(raws.len()),
    };
    for raw in raws {
        if let (Some(dependencies), Some(inputs), Some(kind)) = (raw.deps, raw.inputs, raw.kind) {
            out.nodes.push(Node {
                name: raw.name,
                dependencies,
                inputs,
                kind,
            });
        }
    }
    Ok(out)
}

fn parse_node(name: &str, v: &Value, found: &mut Found) -> RawNode {
    let mut raw = RawNode {
        name: name.to_owned(),
        deps: None,
        inputs: None,
        kind: None,
    };
    let mut issues = Issues::new(name);
    let Some(map) = issues.object(v) else {
        found.schema.extend(issues.into_plain());
        return raw;
    };
    issues.allow_keys(map, &["dependencies", "input", "node_type"]);
    let deps = issues.require(map, "dependencies");
    let inputs = issues.require(map, "input");
    let node_type = issues.require(map, "node_type");
    raw.deps = deps.and_then(|d| parse_dependencies(d, &mut issues));
    let input_map = inputs.and_then(|i| issues.object(i));
    found.schema.extend(issues.into_plain());
    raw.inputs = input_map.and_then(|m| parse_inputs(name, m, found));
    raw.kind = node_type.and_then(|t| parse_node_type(name, t, found));
    raw
}

/// A parent listed twice keeps its first position and its last
/// `acceptance`, as Scale's parent dictionary does.
fn parse_dependencies(v: &Value, issues: &mut Issues) -> Option<Vec<Dependency>> {
    let list = issues.array(v)?;
    let before = issues.list.len();
    let mut deps: Vec<Dependency> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    for item in list {
        let Some(m) = issues.object(item) else {
            continue;
        };
        issues.allow_keys(m, &["name", "acceptance"]);
        let name = issues.req_string(m, "name");
        let acceptance = issues.opt_bool(m, "acceptance", true);
        let (Some(name), Some(acceptance)) = (name, acceptance) else {
            continue;
        };
        match position.get(&name) {
            Some(&at) => deps[at].acceptance = acceptance,
            None => {
                position.insert(name.clone(), deps.len());
                deps.push(Dependency { name, acceptance });
            }
        }
    }
    (issues.list.len() == before).then_some(deps)
}

fn parse_inputs(node: &str, map: &Map<String, Value>, found: &mut Found) -> Option<Vec<(String, Connection)>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (input_name, v) in map {
        let mut issues = Issues::new(node);
        match parse_connection(v, &mut issues) {
            Some(c) if issues.is_empty() => out.push((input_name.clone(), c)),
            _ => ok = false,
        }
        found.schema.extend(issues.into_one_of());
    }
    ok.then_some(out)
}

fn parse_connection(v: &Value, issues: &mut Issues) -> Option<Connection> {
    let m = issues.object(v)?;
    match m.get("type").map(|t| (t, t.as_str())) {
        Some((_, Some("recipe"))) => {
            issues.allow_keys(m, &["type", "input"]);
            Some(Connection::Recipe {
                input: issues.req_string(m, "input")?,
            })
        }
        Some((_, Some("dependency"))) => {
            issues.allow_keys(m, &["type", "node", "output"]);
            let node = issues.req_string(m, "node");
            let output = issues.req_string(m, "output");
            Some(Connection::Dependency {
                node: node?,
                output: output?,
            })
        }
        Some((t, _)) => {
            issues.push(format!("{} is not one of ['dependency', 'recipe']", show(t)));
            None
        }
        None => {
            issues.push("'type' is a required property");
            None
        }
    }
}

fn parse_node_type(node: &str, v: &Value, found: &mut Found) -> Option<NodeKind> {
    let mut issues = Issues::new(node);
    let mut rules = Vec::new();
    let kind = node_type_inner(node, v, &mut issues, &mut rules);
    let ok = issues.is_empty() && rules.is_empty();
    found.schema.extend(issues.into_one_of());
    found.build.extend(rules);
    if ok { kind } else { None }
}

fn node_type_inner(node: &str, v: &Value, issues: &mut Issues, rules: &mut Vec<Message>) -> Option<NodeKind> {
    let m = issues.object(v)?;
    match m.get("node_type").map(|t| (t, t.as_str())) {
        Some((_, Some("job"))) => {
            issues.allow_keys(
                m,
                &["node_type", "job_type_name", "job_type_version", "job_type_revision"],
            );
            let name = issues.req_string(m, "job_type_name");
            let version = issues.req_string(m, "job_type_version");
            let revision = issues.require(m, "job_type_revision").and_then(|r| issues.integer(r));
            Some(NodeKind::Job {
                job_type_name: name?,
                job_type_version: version?,
                job_type_revision: revision?,
            })
        }
        Some((_, Some("recipe"))) => {
            issues.allow_keys(m, &["node_type", "recipe_type_name", "recipe_type_revision"]);
            let name = issues.req_string(m, "recipe_type_name");
            let revision = issues
                .require(m, "recipe_type_revision")
                .and_then(|r| issues.integer(r));
            Some(NodeKind::Recipe {
                recipe_type_name: name?,
                recipe_type_revision: revision?,
            })
        }
        Some((_, Some("condition"))) => {
            issues.allow_keys(m, &["node_type", "interface", "data_filter"]);
            let interface = issues.require(m, "interface").map(|i| parse_interface(i, node, false));
            let data_filter = issues.require(m, "data_filter").map(|f| parse_data_filter(f, node));
            let interface = interface.and_then(|p| {
                if let Some(text) = p.bad_version {
                    rules.push(Message::new(INVALID_INTERFACE, format!("Issue with {node}: {text}")));
                }
                rules.extend(p.duplicates);
                let ok = p.issues.is_empty();
                issues.absorb(p.issues);
                ok.then_some(p.interface)
            });
            let data_filter = data_filter.and_then(|p| {
                issues.absorb(p.issues);
                rules.extend(p.rules);
                p.filter
            });
            Some(NodeKind::Condition {
                interface: interface?,
                data_filter: data_filter?,
            })
        }
        Some((t, _)) => {
            issues.push(format!("{} is not one of ['condition', 'job', 'recipe']", show(t)));
            None
        }
        None => {
            issues.push("'node_type' is a required property");
            None
        }
    }
}

fn check_references(raws: &[RawNode], input: &Interface, found: &mut Found) {
    let recipe_inputs: HashSet<&str> = input.parameters().map(|p| p.name()).collect();
    let kinds: HashMap<&str, Option<&NodeKind>> = raws.iter().map(|r| (r.name.as_str(), r.kind.as_ref())).collect();
    let unknown = |name: &str| Message::new(UNKNOWN_NODE, format!("Node '{name}' is not defined"));
    for raw in raws {
        for dep in raw.deps.iter().flatten() {
            if !kinds.contains_key(dep.name.as_str()) {
                found.graph.push(unknown(&dep.name));
            }
        }
        for (_, conn) in raw.inputs.iter().flatten() {
            match conn {
                Connection::Recipe { input: name } if !recipe_inputs.contains(name.as_str()) => {
                    found.graph.push(Message::new(
                        UNKNOWN_INPUT,
                        format!("Recipe input '{name}' is not defined"),
                    ));
                }
                Connection::Dependency { node, .. } => match kinds.get(node.as_str()) {
                    None => found.graph.push(unknown(node)),
                    Some(Some(NodeKind::Recipe { .. })) => {
                        let text = format!("Node '{}' cannot have a connection to a recipe node", raw.name);
                        found.graph.push(Message::new(CONNECTION_INVALID_NODE, text));
                    }
                    Some(_) => {}
                },
                Connection::Recipe { .. } => {}
            }
        }
    }
}

pub(super) fn node_to_json(node: &Node) -> Value {
    let deps: Vec<Value> = node
        .dependencies
        .iter()
        .map(|d| json!({"name": d.name, "acceptance": d.acceptance}))
        .collect();
    let mut inputs = Map::new();
    for (name, conn) in &node.inputs {
        let v = match conn {
            Connection::Recipe { input } => json!({"type": "recipe", "input": input}),
            Connection::Dependency { node, output } => {
                json!({"type": "dependency", "node": node, "output": output})
            }
        };
        inputs.insert(name.clone(), v);
    }
    let node_type = match &node.kind {
        NodeKind::Job {
            job_type_name,
            job_type_version,
            job_type_revision,
        } => json!({
            "node_type": "job", "job_type_name": job_type_name,
            "job_type_version": job_type_version, "job_type_revision": job_type_revision,
        }),
        NodeKind::Recipe {
            recipe_type_name,
            recipe_type_revision,
        } => json!({
            "node_type": "recipe", "recipe_type_name": recipe_type_name, "recipe_type_revision": recipe_type_revision,
        }),
        NodeKind::Condition { interface, data_filter } => json!({
            "node_type": "condition", "interface": interface.to_json(true), "data_filter": data_filter.to_json(),
        }),
    };
    json!({"dependencies": deps, "input": Value::Object(inputs), "node_type": node_type})
}

#[cfg(test)]
mod tests {
    use super::super::names::*;
    use super::super::test_support::*;
    use super::*;

    /// The example from Scale's v6 recipe-type documentation, made valid JSON.
    /// Its condition parameter was called `input_2`, which the interface
    /// name pattern (no digits) rejects, so it is renamed here.
    fn doc_example() -> Value {
        json!({
            "input": {
                "files": [{"name": "foo", "media_types": ["image/tiff"], "required": true, "multiple": true}],
                "json": [{"name": "bar", "type": "integer", "required": false}]
            },
            "nodes": {
                "node_a": job_node("job-type-1", "1.0", 1, json!([]), json!({"input_1": {"type": "recipe", "input": "foo"}})),
                "node_b": job_node("job-type-2", "2.0", 1, json!([{"name": "node_a", "acceptance": true}]), json!({
                    "input_1": {"type": "recipe", "input": "foo"},
                    "input_2": {"type": "dependency", "node": "node_a", "output": "output_1"}})),
                "node_c": cond_node(json!([{"name": "node_b"}]), json!({
                        "input_1": {"type": "recipe", "input": "bar"},
                        "input_two": {"type": "dependency", "node": "node_b", "output": "output_1"}}),
                    json!({"files": [{"name": "input_two", "media_types": ["image/tiff"], "required": true, "multiple": true}], "json": []}),
                    json!({"filters": [{"name": "input_two", "type": "media-type", "condition": "==", "values": ["image/tiff"]}]})),
                "node_d": recipe_node("recipe-type-1", 5, json!([{"name": "node_c", "acceptance": true}]), json!({
                    "input_1": {"type": "recipe", "input": "bar"},
                    "input_2": {"type": "dependency", "node": "node_c", "output": "input_two"}}))
            }
        })
    }

    #[test]
    fn doc_example_normalises_with_defaults_written_out() {
        let def = parse(doc_example());
        let out = def.to_json();
        assert_eq!(out["version"], json!("7"));
        assert!(out["input"].get("version").is_none());
        assert_eq!(
            out["nodes"]["node_c"]["dependencies"],
            json!([{"name": "node_b", "acceptance": true}])
        );
        let cond = &out["nodes"]["node_c"]["node_type"];
        assert_eq!(cond["interface"]["version"], json!("7"));
        assert_eq!(
            cond["data_filter"],
            json!({"version": "7", "filters": [{"name": "input_two", "type": "media-type", "condition": "==", "values": ["image/tiff"]}], "all": true})
        );
        let keys: Vec<&String> = out["nodes"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert_eq!(keys, ["node_a", "node_b", "node_c", "node_d"]);
        assert_eq!(parse(out.clone()).to_json(), out);
    }

    #[test]
    fn empty_object_is_an_empty_definition() {
        let def = parse(json!({}));
        assert_eq!(
            def.to_json(),
            json!({"version": "7", "input": {"files": [], "json": []}, "nodes": {}})
        );
        assert_eq!(parse(json!({"version": "6"})), def);
        assert_eq!(parse(json!({"input": null})), def);
        assert_eq!(
            parse(json!({"version": "7", "input": {"version": "6"}, "nodes": {}})),
            def
        );
    }

    #[test]
    fn recipe_input_defaults_are_filled_in() {
        let def = parse(json!({"input": {"files": [{"name": "f"}], "json": [{"name": "j", "type": "string"}]}}));
        assert_eq!(
            def.to_json()["input"],
            json!({"files": [{"name": "f", "media_types": [], "required": true, "multiple": false}],
                   "json": [{"name": "j", "type": "string", "required": true}]})
        );
    }

    #[test]
    fn unsupported_version_is_the_only_error() {
        for v in [json!("1.0"), json!("BAD"), json!(7), json!(null)] {
            let errors = parse_err(json!({"version": v.clone(), "bogus": 1, "nodes": {"a": {}}}));
            assert_eq!(names(&errors), [INVALID_DEFINITION], "{v}");
            assert!(
                errors[0].description.ends_with("is an unsupported version number"),
                "{}",
                errors[0].description
            );
        }
        assert_eq!(
            parse_err(json!({"version": "BAD"}))[0].description,
            "BAD is an unsupported version number"
        );
    }

    #[test]
    fn non_objects_and_unexpected_keys_are_invalid_definitions() {
        assert_eq!(names(&parse_err(json!([1]))), [INVALID_DEFINITION]);
        let errors = parse_err(json!({"nodes": {}, "extra": 1}));
        assert_eq!(names(&errors), [INVALID_DEFINITION]);
        assert_eq!(
            errors[0].description,
            "Issue with definition: Additional properties are not allowed ('extra' was unexpected)"
        );
        assert_eq!(names(&parse_err(json!({"nodes": []}))), [INVALID_DEFINITION]);
        assert_eq!(
            names(&parse_err(json!({"input": {"files": [{"name": "x1"}]}}))),
            [INVALID_DEFINITION]
        );
    }

    #[test]
    fn node_shape_problems_are_invalid_definitions() {
        let errors = parse_err(json!({"nodes": {"a": {"input": {}, "node_type": {"node_type": "job",
            "job_type_name": "j", "job_type_version": "1", "job_type_revision": 1}}}}));
        assert_eq!(names(&errors), [INVALID_DEFINITION]);
        assert!(errors[0].description.contains("'dependencies' is a required property"));
        let errors = parse_err(json!({"nodes": {
            "a": job_node("j", "1", 1, json!([]), json!({})),
            "b": job_node("j", "1", 1, json!([{"name": "a", "acceptance": "yes"}, {"name": "a", "x": 1}]), json!({})),
            "c": 5,
        }}));
        assert_eq!(
            names(&errors),
            [INVALID_DEFINITION, INVALID_DEFINITION, INVALID_DEFINITION]
        );
    }

    #[test]
    fn bad_node_type_is_a_one_of_failure() {
        let cases = [
            json!({"node_type": "job", "job_type_name": "j", "job_type_revision": 1}),
            json!({"node_type": "job", "job_type_name": "j", "job_type_version": "1", "job_type_revision": "1"}),
            json!({"node_type": "job", "job_type_name": "j", "job_type_version": "1", "job_type_revision": 1.0}),
            json!({"node_type": "job", "job_type_name": "j", "job_type_version": "1", "job_type_revision": 99999999999999999999u128}),
            json!({"node_type": "recipe", "recipe_type_name": "r", "recipe_type_revision": 1, "extra": true}),
            json!({"node_type": "connection"}),
            json!({"job_type_name": "j"}),
            json!("job"),
            json!({"node_type": "condition", "interface": {"files": [], "json": []}}),
            json!({"node_type": "condition", "interface": {"files": [{"name": "f"}], "json": []}, "data_filter": {}}),
        ];
        for node_type in cases {
            let errors =
                parse_err(json!({"nodes": {"n": {"dependencies": [], "input": {}, "node_type": node_type.clone()}}}));
            assert_eq!(names(&errors), [INVALID_DEFINITION_JSON], "{node_type}");
            let list: Vec<String> = serde_json::from_str(&errors[0].description).unwrap_or_default();
            assert!(
                !list.is_empty() && list.iter().all(|s| s.starts_with("Issue with n: ")),
                "{list:?}"
            );
        }
    }

    #[test]
    fn bad_connection_is_a_one_of_failure() {
        let cases = [
            json!({"type": "dependency", "node": "a"}),
            json!({"type": "recipe"}),
            json!({"type": "recipe", "input": "x", "node": "a"}),
            json!({"type": "magic"}),
            json!({"input": "x"}),
            json!("x"),
        ];
        for conn in cases {
            let def = json!({"input": {"json": [{"name": "x", "type": "string"}]}, "nodes": {
                "a": job_node("j", "1", 1, json!([]), json!({})),
                "b": job_node("j", "1", 1, json!([{"name": "a"}]), json!({"in": conn.clone(), "ok": {"type": "recipe", "input": "x"}}))}});
            assert_eq!(names(&parse_err(def)), [INVALID_DEFINITION_JSON], "{conn}");
        }
    }

    #[test]
    fn interface_versions_are_invalid_interfaces() {
        let errors = parse_err(json!({"input": {"version": "5"}}));
        assert_eq!(names(&errors), [INVALID_INTERFACE]);
        assert_eq!(
            errors[0].description,
            "Issue with input: 5 is an unsupported version number"
        );
        let cond = cond_node(
            json!([]),
            json!({}),
            json!({"version": "1.0", "files": [], "json": []}),
            json!({}),
        );
        assert_eq!(names(&parse_err(json!({"nodes": {"c": cond}}))), [INVALID_INTERFACE]);
    }

    #[test]
    fn duplicate_parameters_are_duplicate_inputs() {
        let errors = parse_err(json!({"input": {"files": [{"name": "a"}], "json": [{"name": "a", "type": "string"}]}}));
        assert_eq!(names(&errors), [DUPLICATE_INPUT]);
        let cond = cond_node(
            json!([]),
            json!({}),
            json!({"files": [], "json": [
            {"name": "a", "type": "string", "required": true}, {"name": "a", "type": "integer", "required": true}]}),
            json!({}),
        );
        assert_eq!(names(&parse_err(json!({"nodes": {"c": cond}}))), [DUPLICATE_INPUT]);
    }

    #[test]
    fn filter_problems_keep_their_rule_names() {
        let filter = json!({"version": "5", "filters": [
            {"type": "string", "condition": "==", "values": ["a"]},
            {"name": "s", "type": "string", "condition": "<", "values": ["a"]},
            {"name": "i", "type": "integer", "condition": "==", "values": ["x"]},
        ]});
        let cond = cond_node(json!([]), json!({}), json!({"files": [], "json": []}), filter);
        let errors = parse_err(json!({"nodes": {"c": cond}}));
        assert_eq!(
            names(&errors),
            [INVALID_DATA_FILTER, MISSING_NAME, INVALID_CONDITION, VALUE_ERROR]
        );
    }

    #[test]
    fn filter_values_are_coerced_in_the_output() {
        let filter = json!({"all": false, "filters": [
            {"name": "i", "type": "integer", "condition": "in", "values": ["5", 6, 7.9]},
            {"name": "n", "type": "number", "condition": "between", "values": [1, "2.5"]},
        ]});
        let def =
            parse(json!({"nodes": {"c": cond_node(json!([]), json!({}), json!({"files": [], "json": []}), filter)}}));
        let out = def.to_json();
        let f = &out["nodes"]["c"]["node_type"]["data_filter"];
        assert_eq!(f["all"], json!(false));
        assert_eq!(f["filters"][0]["values"].to_string(), "[5,6,7]");
        assert_eq!(f["filters"][1]["values"].to_string(), "[1.0,2.5]");
        assert_eq!(parse(out.clone()).to_json(), out);
    }

    #[test]
    fn references_are_checked() {
        let errors = parse_err(json!({"input": {"json": [{"name": "x", "type": "string"}]}, "nodes": {
            "r": recipe_node("sub", 1, json!([]), json!({})),
            "a": job_node("j", "1", 1, json!([{"name": "ghost"}, {"name": "r"}]), json!({
                "i1": {"type": "recipe", "input": "nope"},
                "i2": {"type": "dependency", "node": "phantom", "output": "o"},
                "i3": {"type": "dependency", "node": "r", "output": "o"},
                "i4": {"type": "recipe", "input": "x"}})),
        }}));
        assert_eq!(
            names(&errors),
            [UNKNOWN_NODE, UNKNOWN_INPUT, UNKNOWN_NODE, CONNECTION_INVALID_NODE]
        );
        assert_eq!(errors[0].description, "Node 'ghost' is not defined");
        assert_eq!(errors[1].description, "Recipe input 'nope' is not defined");
        assert_eq!(
            errors[3].description,
            "Node 'a' cannot have a connection to a recipe node"
        );
    }

    #[test]
    fn errors_come_in_scale_order() {
        let errors = parse_err(json!({
            "input": {"version": "9", "files": [{"name": "a"}], "json": [{"name": "a", "type": "string"}]},
            "extra": 1,
            "nodes": {
                "x": job_node("j", "1", 1, json!([{"name": "ghost"}]), json!({})),
                "c": cond_node(json!([]), json!({}), json!({"files": [], "json": []}),
                    json!({"filters": [{"type": "string", "condition": "==", "values": ["v"]}]})),
                "y": {"dependencies": [], "input": {}},
            }
        }));
        assert_eq!(
            names(&errors),
            [
                INVALID_INTERFACE,
                INVALID_DEFINITION,
                INVALID_DEFINITION,
                DUPLICATE_INPUT,
                MISSING_NAME,
                UNKNOWN_NODE
            ]
        );
    }

    #[test]
    fn repeated_parent_keeps_first_place_and_last_acceptance() {
        let def = parse(json!({"nodes": {
            "a": job_node("j", "1", 1, json!([]), json!({})),
            "b": job_node("j", "1", 1, json!([]), json!({})),
            "c": job_node("j", "1", 1, json!([{"name": "a"}, {"name": "b"}, {"name": "a", "acceptance": false}]), json!({})),
        }}));
        assert_eq!(
            def.to_json()["nodes"]["c"]["dependencies"],
            json!([{"name": "a", "acceptance": false}, {"name": "b", "acceptance": true}])
        );
    }
}
