//! Graph checks: node order and cycles, job/recipe type lookups, connection
//! checks per node, and the recursive sub-recipe check.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};

use super::interface::Interface;
use super::names::{
    CIRCULAR_DEPENDENCY, INPUT_INTERFACE, JOB_TYPE_DOES_NOT_EXIST, NODE_INTERFACE, RECIPE_TYPE_DOES_NOT_EXIST,
    RECURSIVE_SUBRECIPES,
};
use super::{Connection, Definition, JSON_TYPES, JobTypeKey, Message, NodeKind, Outcome, RecipeTypeKey, Resolved};

/// A deterministic processing order: parents before children (ties in
/// definition order), then any nodes on or below a cycle in definition
/// order, so every node is still visited.
pub(super) struct Order {
    pub(super) nodes: Vec<usize>,
    /// Each cycle as its node indexes (a strongly connected component with
    /// more than one node, or a node that depends on itself).
    pub(super) cycles: Vec<Vec<usize>>,
    /// Parent indexes of each node.
    pub(super) parents: Vec<Vec<usize>>,
}

impl Order {
    pub(super) fn of(def: &Definition) -> Order {
        let index = name_index(def);
        let n = def.nodes.len();
        let parents: Vec<Vec<usize>> = def
            .nodes
            .iter()
            .map(|node| {
                node.dependencies
                    .iter()
                    .filter_map(|d| index.get(d.name.as_str()).copied())
                    .collect()
            })
            .collect();
        let mut children = vec![Vec::new(); n];
        let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
        for (child, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p].push(child);
            }
        }
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut nodes = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            nodes.push(i);
            for &c in &children[i] {
                waiting[c] -= 1;
                if waiting[c] == 0 {
                    ready.insert(c);
                }
            }
        }
        let placed: HashSet<usize> = nodes.iter().copied().collect();
        nodes.extend((0..n).filter(|i| !placed.contains(i)));
        let cycles = strongly_connected(&parents, &children)
            .into_iter()
            .filter(|c| c.len() > 1 || parents[c[0]].contains(&c[0]))
            .collect();
        Order { nodes, cycles, parents }
    }
}

fn name_index(def: &Definition) -> HashMap<&str, usize> {
    def.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect()
}

/// Kosaraju's algorithm with explicit stacks (definitions can be large and
/// hostile). Each component is sorted, components by their first node.
fn strongly_connected(parents: &[Vec<usize>], children: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = parents.len();
    let mut seen = vec![false; n];
    let mut finished = Vec::with_capacity(n);
    for start in 0..n {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![(start, 0usize)];
        while let Some((node, next)) = stack.pop() {
            if let Some(&child) = children[node].get(next) {
                stack.push((node, next + 1));
                if !seen[child] {
                    seen[child] = true;
                    stack.push((child, 0));
                }
            } else {
                finished.push(node);
            }
        }
    }
    let mut component = vec![usize::MAX; n];
    let mut out: Vec<Vec<usize>> = Vec::new();
    for &root in finished.iter().rev() {
        if component[root] != usize::MAX {
            continue;
        }
        let id = out.len();
        let mut members = vec![root];
        component[root] = id;
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            for &p in &parents[node] {
                if component[p] == usize::MAX {
                    component[p] = id;
                    members.push(p);
                    stack.push(p);
                }
            }
        }
        members.sort_unstable();
        out.push(members);
    }
    out.sort_by_key(|c| c[0]);
    out
}

/// Answers "is `a` an ancestor of `node`?": a direct parent at once (the
/// usual connection), otherwise by marking `node`'s transitive parents, once
/// per node. Bumping the stamp clears the previous node's marks in O(1), so a
/// long chain whose nodes read their direct parents costs O(nodes), not
/// O(nodes²).
struct Ancestry<'a> {
    parents: &'a [Vec<usize>],
    marks: Vec<usize>,
    stamp: usize,
    marked: Option<usize>,
}

impl<'a> Ancestry<'a> {
    fn new(parents: &'a [Vec<usize>]) -> Self {
        Ancestry {
            parents,
            marks: vec![0; parents.len()],
            stamp: 0,
            marked: None,
        }
    }

    fn mark(&mut self, start: usize) {
        self.stamp += 1;
        self.marked = Some(start);
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for &p in &self.parents[i] {
                if self.marks[p] != self.stamp {
                    self.marks[p] = self.stamp;
                    stack.push(p);
                }
            }
        }
    }

    fn is_ancestor(&mut self, a: usize, node: usize) -> bool {
        if self.parents[node].contains(&a) {
            return true;
        }
        if self.marked != Some(node) {
            self.mark(node);
        }
        self.marks[a] == self.stamp
    }
}

struct NodeInterfaces<'a> {
    input: &'a Interface,
    output: Cow<'a, Interface>,
}

/// Validates a parsed definition against the job and recipe types the
/// caller resolved. Errors come in Scale's order: cycles, failed lookups
/// (nodes parents-first), the recipe input, then each node's connections
/// (parents-first). Every error is reported, not just the first.
pub fn validate(def: &Definition, resolved: &Resolved) -> Outcome {
    let mut out = Outcome::default();
    let order = Order::of(def);
    for cycle in &order.cycles {
        let name = &def.nodes[cycle[0]].name;
        let text = format!("Recipe node '{name}' has a circular dependency on itself");
        out.errors.push(Message::new(CIRCULAR_DEPENDENCY, text));
    }
    let mut table: Vec<Option<NodeInterfaces<'_>>> = def.nodes.iter().map(|_| None).collect();
    for &i in &order.nodes {
        let node = &def.nodes[i];
        table[i] = match &node.kind {
            NodeKind::Job {
                job_type_name,
                job_type_version,
                job_type_revision,
            } => {
                let key = JobTypeKey {
                    name: job_type_name.clone(),
                    version: job_type_version.clone(),
                    revision: *job_type_revision,
                };
                match resolved.job_types.get(&key) {
                    Some(Some(found)) => Some(NodeInterfaces {
                        input: &found.inputs,
                        output: Cow::Borrowed(&found.outputs),
                    }),
                    _ => {
                        let text = format!(
                            "Recipe definition contains a job type that does not exist: job type '{job_type_name}' version '{job_type_version}' revision {job_type_revision} (node '{}')",
                            node.name
                        );
                        out.errors.push(Message::new(JOB_TYPE_DOES_NOT_EXIST, text));
                        None
                    }
                }
            }
            NodeKind::Recipe {
                recipe_type_name,
                recipe_type_revision,
            } => {
                let key = RecipeTypeKey {
                    name: recipe_type_name.clone(),
                    revision: *recipe_type_revision,
                };
                match resolved.recipe_types.get(&key) {
                    // Sub-recipes have no outputs.
                    Some(Some(input)) => Some(NodeInterfaces {
                        input,
                        output: Cow::Owned(Interface::default()),
                    }),
                    _ => {
                        let text = format!(
                            "Recipe definition contains a sub recipe type that does not exist: recipe type '{recipe_type_name}' revision {recipe_type_revision} (node '{}')",
                            node.name
                        );
                        out.errors.push(Message::new(RECIPE_TYPE_DOES_NOT_EXIST, text));
                        None
                    }
                }
            }
            NodeKind::Condition { interface, data_filter } => {
                // What passes a condition is what it received; with `all`,
                // every filtered parameter must have been present.
                let output = if data_filter.all {
                    Cow::Owned(interface.with_required(&data_filter.filtered_names()))
                } else {
                    Cow::Borrowed(interface)
                };
                Some(NodeInterfaces {
                    input: interface,
                    output,
                })
            }
        };
    }
    for p in &def.input.json {
        if let Some(t) = p.json_type.as_deref().filter(|t| !JSON_TYPES.contains(t)) {
            let text = format!("Parameter '{}' has invalid JSON type '{t}'", p.name);
            out.errors.push(Message::new(INPUT_INTERFACE, text));
        }
    }
    let index = name_index(def);
    let mut ancestry = Ancestry::new(&order.parents);
    for &i in &order.nodes {
        check_node(def, &index, &table, &mut ancestry, i, &mut out);
    }
    out
}

fn check_node(
    def: &Definition,
    index: &HashMap<&str, usize>,
    table: &[Option<NodeInterfaces<'_>>],
    ancestry: &mut Ancestry<'_>,
    i: usize,
    out: &mut Outcome,
) {
    let node = &def.nodes[i];
    let Some(own) = &table[i] else { return };
    let wrap = |text: String| Message::new(NODE_INTERFACE, format!("Node '{}' interface error: {text}", node.name));
    let mut connecting = Interface::default();
    let mut skip = BTreeSet::new();
    for (input_name, conn) in &node.inputs {
        let source = match conn {
            Connection::Recipe { input } => def.input.parameter(input),
            Connection::Dependency { node: from, output } => {
                let from_index = index.get(from.as_str()).copied();
                if !from_index.is_some_and(|f| ancestry.is_ancestor(f, i)) {
                    out.errors.push(wrap(format!(
                        "Cannot get output '{output}' without dependency on node '{from}'"
                    )));
                }
                let from_kind = from_index.map(|f| (&def.nodes[f].kind, &table[f]));
                match from_kind {
                    // Parsing already reported recipe sources; unresolved
                    // sources were reported above and cannot be checked.
                    Some((NodeKind::Recipe { .. }, _) | (_, None)) | None => None,
                    Some((_, Some(ifaces))) => {
                        let found = ifaces.output.parameter(output);
                        if found.is_none() {
                            out.errors.push(wrap(format!(
                                "Input {input_name} cannot be connected to output {output}; no output exists with that name"
                            )));
                        }
                        found
                    }
                }
            }
        };
        match source {
            Some(p) => connecting.push_renamed(p, input_name),
            None => {
                skip.insert(input_name.clone());
            }
        }
    }
    let check = own.input.check_connection(&connecting, &skip);
    for issue in check.errors {
        out.errors.push(match issue.missing {
            Some(name) => Message::new(NODE_INTERFACE, format!("input '{name}' is missing for {}", node.name)),
            None => wrap(issue.description),
        });
    }
    out.warnings.extend(check.warnings);
}

/// Scale's `validate_recursive_subs`: does `def` (the new definition of
/// `root_name`) reach a sub-recipe of type `root_name`, directly or through
/// the current definitions of its sub-recipe types? Each type is expanded
/// once, so cycles that avoid the root terminate; unknown types are skipped
/// (`validate` reports them).
pub fn check_recursive_subs(
    root_name: &str,
    def: &Definition,
    lookup: &dyn Fn(&str) -> Option<Definition>,
) -> Option<Message> {
    struct Frame {
        def: Definition,
        order: Vec<usize>,
        next: usize,
        source: Option<String>,
    }
    let frame = |def: Definition, source: Option<String>| {
        let order = Order::of(&def).nodes;
        Frame {
            def,
            order,
            next: 0,
            source,
        }
    };
    let mut expanded: HashSet<String> = HashSet::new();
    let mut stack = vec![frame(def.clone(), None)];
    while let Some(top) = stack.last_mut() {
        let Some(&i) = top.order.get(top.next) else {
            stack.pop();
            continue;
        };
        top.next += 1;
        let NodeKind::Recipe { recipe_type_name, .. } = &top.def.nodes[i].kind else {
            continue;
        };
        if recipe_type_name == root_name {
            let within = top.source.as_deref().unwrap_or(root_name);
            let text =
                format!("Recipe type {root_name} contains sub-recipes of itself. Found within recipe type {within}.");
            return Some(Message::new(RECURSIVE_SUBRECIPES, text));
        }
        let name = recipe_type_name.clone();
        if expanded.insert(name.clone())
            && let Some(sub) = lookup(&name)
        {
            stack.push(frame(sub, Some(name)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::names::*;
    use super::super::test_support::*;
    use super::*;
    use serde_json::{Value, json};

    fn dep(name: &str) -> Value {
        json!({"name": name})
    }

    fn from(node: &str, output: &str) -> Value {
        json!({"type": "dependency", "node": node, "output": output})
    }

    fn recipe_in(input: &str) -> Value {
        json!({"type": "recipe", "input": input})
    }

    fn int_job(name: &str, input: &str, output: &str) -> (JobTypeKey, Interface, Interface) {
        (
            job_key(name, "1.0", 1),
            iface(vec![], vec![jparam(input, "integer", true)]),
            iface(vec![], vec![jparam(output, "integer", true)]),
        )
    }

    /// Scale's `test_validate_successful`, as JSON.
    fn scale_example() -> (Definition, Resolved) {
        let def = parse(json!({
            "input": {"json": [{"name": "recipe_input_one", "type": "integer"}]},
            "nodes": {
                "A": job_node("job_type_1", "1.0", 1, json!([]), json!({"a_input_1": recipe_in("recipe_input_one")})),
                "B": cond_node(json!([dep("A")]), json!({"cond_param": from("A", "a_output_1")}),
                    json!({"files": [], "json": [{"name": "cond_param", "type": "integer", "required": true}]}),
                    json!({"filters": [{"name": "cond_param", "type": "integer", "condition": ">", "values": [0]}]})),
                "C": recipe_node("recipe_type_1", 1, json!([dep("B")]), json!({
                    "c_input_1": from("A", "a_output_1"), "c_input_2": from("B", "cond_param")})),
                "D": job_node("job_type_2", "1.0", 1, json!([{"name": "B", "acceptance": false}]), json!({"d_input_1": from("A", "a_output_1")})),
            }
        }));
        let (k1, i1, o1) = int_job("job_type_1", "a_input_1", "a_output_1");
        let (k2, i2, o2) = int_job("job_type_2", "d_input_1", "d_output_1");
        let r = with_job(with_job(Resolved::default(), k1, i1, o1), k2, i2, o2);
        let r = with_recipe(
            r,
            "recipe_type_1",
            1,
            iface(
                vec![],
                vec![
                    jparam("c_input_1", "integer", true),
                    jparam("c_input_2", "integer", true),
                ],
            ),
        );
        (def, r)
    }

    #[test]
    fn scale_example_is_valid() {
        let (def, resolved) = scale_example();
        assert_eq!(validate(&def, &resolved), Outcome::default());
    }

    #[test]
    fn topological_order_matches_scale() {
        let def = parse(json!({"nodes": {
            "F": job_node("j", "1", 1, json!([dep("E")]), json!({})),
            "E": job_node("j", "1", 1, json!([dep("A"), dep("D")]), json!({})),
            "D": recipe_node("r", 1, json!([dep("B"), dep("C")]), json!({})),
            "C": recipe_node("r", 1, json!([dep("A"), dep("B")]), json!({})),
            "B": job_node("j", "1", 1, json!([dep("A")]), json!({})),
            "A": job_node("j", "1", 1, json!([]), json!({})),
        }}));
        assert_eq!(
            def.topological_order(),
            Some(["A", "B", "C", "D", "E", "F"].map(String::from).to_vec())
        );
    }

    #[test]
    fn circular_dependencies() {
        let def = parse(json!({"nodes": {
            "A": job_node("j", "1", 1, json!([]), json!({})),
            "B": job_node("j", "1", 1, json!([dep("A"), dep("D")]), json!({})),
            "C": recipe_node("r", 1, json!([dep("B")]), json!({})),
            "D": recipe_node("r", 1, json!([dep("C")]), json!({})),
            "S": job_node("j", "1", 1, json!([dep("S")]), json!({})),
            "X": job_node("j", "1", 1, json!([dep("Y")]), json!({})),
            "Y": job_node("j", "1", 1, json!([dep("X")]), json!({})),
        }}));
        let outcome = validate(&def, &Resolved::default());
        let cycles: Vec<&str> = outcome
            .errors
            .iter()
            .filter(|e| e.name == CIRCULAR_DEPENDENCY)
            .map(|e| e.description.as_str())
            .collect();
        assert_eq!(
            cycles,
            [
                "Recipe node 'B' has a circular dependency on itself",
                "Recipe node 'S' has a circular dependency on itself",
                "Recipe node 'X' has a circular dependency on itself",
            ]
        );
        assert_eq!(outcome.errors[0].name, CIRCULAR_DEPENDENCY);
        // Lookups still run for every node, cycle or not.
        let missing = outcome
            .errors
            .iter()
            .filter(|e| e.name == JOB_TYPE_DOES_NOT_EXIST)
            .count();
        assert_eq!(missing, 5);
    }

    #[test]
    fn unknown_job_and_recipe_types() {
        let def = parse(json!({"input": {"json": [{"name": "n", "type": "integer"}]}, "nodes": {
            "a": job_node("ghost", "1.0", 1, json!([]), json!({})),
            "b": job_node("known", "1.0", 1, json!([dep("a")]), json!({"in": from("a", "out")})),
            "c": recipe_node("sub", 7, json!([]), json!({})),
            "d": job_node("known", "1.0", 2, json!([]), json!({})),
        }}));
        let (k, i, o) = int_job("known", "in", "out");
        let mut resolved = with_job(Resolved::default(), k, i, o);
        resolved.job_types.insert(job_key("known", "1.0", 2), None);
        let outcome = validate(&def, &resolved);
        assert_eq!(
            names(&outcome.errors),
            [
                JOB_TYPE_DOES_NOT_EXIST,
                RECIPE_TYPE_DOES_NOT_EXIST,
                JOB_TYPE_DOES_NOT_EXIST
            ]
        );
        assert!(outcome.errors[0].description.contains("'ghost'"));
        assert!(outcome.errors[1].description.contains("'sub' revision 7"));
        assert!(outcome.errors[2].description.contains("revision 2"));
    }

    #[test]
    fn invalid_recipe_input_type() {
        let mut def = parse(json!({"input": {"json": [{"name": "n", "type": "integer"}]}}));
        def.input.json[0].json_type = Some("date".into());
        let outcome = validate(&def, &Resolved::default());
        assert_eq!(names(&outcome.errors), [INPUT_INTERFACE]);
        assert_eq!(
            outcome.errors[0].description,
            "Parameter 'n' has invalid JSON type 'date'"
        );
    }

    fn one_job(inputs: Interface, recipe_input: Value, conns: Value) -> Outcome {
        let def = parse(json!({"input": recipe_input, "nodes": {"n": job_node("jt", "1", 1, json!([]), conns)}}));
        validate(
            &def,
            &with_job(Resolved::default(), job_key("jt", "1", 1), inputs, Interface::default()),
        )
    }

    #[test]
    fn node_interface_errors() {
        let target = iface(
            vec![file("f", &["image/png"], true, false)],
            vec![jparam("j", "integer", true)],
        );
        let outcome = one_job(target.clone(), json!({}), json!({}));
        assert_eq!(names(&outcome.errors), [NODE_INTERFACE, NODE_INTERFACE]);
        assert_eq!(outcome.errors[0].description, "input 'f' is missing for n");
        assert_eq!(outcome.errors[1].description, "input 'j' is missing for n");

        let input = json!({"files": [{"name": "rf", "required": false, "multiple": true}], "json": [{"name": "rj", "type": "string"}]});
        let outcome = one_job(
            target.clone(),
            input,
            json!({"f": recipe_in("rf"), "j": recipe_in("rj")}),
        );
        let texts: Vec<&str> = outcome.errors.iter().map(|e| e.description.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Node 'n' interface error: Parameter 'f' is required and cannot accept an optional value",
                "Node 'n' interface error: Parameter 'f' cannot accept multiple files",
                "Node 'n' interface error: Parameter 'j' of JSON type 'integer' cannot accept JSON type 'string'",
            ]
        );
        assert!(outcome.errors.iter().all(|e| e.name == NODE_INTERFACE));

        let input = json!({"json": [{"name": "rj", "type": "integer"}]});
        let outcome = one_job(target, input, json!({"f": recipe_in("rj"), "j": recipe_in("rj")}));
        assert_eq!(names(&outcome.errors), [NODE_INTERFACE]);
        assert_eq!(
            outcome.errors[0].description,
            "Node 'n' interface error: Parameter 'f' of type 'file' cannot accept type 'json'"
        );
    }

    #[test]
    fn media_type_warning() {
        let target = iface(vec![file("f", &["image/png"], true, false)], vec![]);
        let outcome = one_job(
            target,
            json!({"files": [{"name": "rf", "media_types": ["image/png", "image/tiff"]}]}),
            json!({"f": recipe_in("rf")}),
        );
        assert!(outcome.errors.is_empty());
        assert_eq!(names(&outcome.warnings), [MISMATCHED_MEDIA_TYPES]);
        assert_eq!(
            outcome.warnings[0].description,
            "Parameter 'f' might not accept [image/tiff]"
        );
    }

    fn chain(conn_from: &str, output: &str, deps_of_c: Value) -> Outcome {
        let def = parse(json!({"nodes": {
            "a": job_node("jt", "1", 1, json!([]), json!({})),
            "b": job_node("jt", "1", 1, json!([dep("a")]), json!({})),
            "x": job_node("jt", "1", 1, json!([]), json!({})),
            "c": job_node("jt", "1", 1, deps_of_c, json!({"i": from(conn_from, output)})),
        }}));
        let inputs = iface(vec![], vec![jparam("i", "integer", false)]);
        let outputs = iface(vec![], vec![jparam("o", "integer", true)]);
        validate(
            &def,
            &with_job(Resolved::default(), job_key("jt", "1", 1), inputs, outputs),
        )
    }

    #[test]
    fn dependency_must_be_a_transitive_ancestor() {
        assert_eq!(chain("a", "o", json!([dep("b")])), Outcome::default());
        let outcome = chain("x", "o", json!([dep("b")]));
        assert_eq!(names(&outcome.errors), [NODE_INTERFACE]);
        assert_eq!(
            outcome.errors[0].description,
            "Node 'c' interface error: Cannot get output 'o' without dependency on node 'x'"
        );
    }

    #[test]
    fn missing_output_name() {
        let outcome = chain("a", "nope", json!([dep("b")]));
        assert_eq!(names(&outcome.errors), [NODE_INTERFACE]);
        assert_eq!(
            outcome.errors[0].description,
            "Node 'c' interface error: Input i cannot be connected to output nope; no output exists with that name"
        );
        let both = chain("x", "nope", json!([]));
        assert_eq!(both.errors.len(), 2, "{both:?}");
    }

    #[test]
    fn unresolved_sources_do_not_cascade() {
        let def = parse(json!({"nodes": {
            "a": job_node("ghost", "1", 1, json!([]), json!({})),
            "b": job_node("jt", "1", 1, json!([dep("a")]), json!({"i": from("a", "o")})),
        }}));
        let inputs = iface(vec![], vec![jparam("i", "integer", true)]);
        let outcome = validate(
            &def,
            &with_job(Resolved::default(), job_key("jt", "1", 1), inputs, Interface::default()),
        );
        assert_eq!(names(&outcome.errors), [JOB_TYPE_DOES_NOT_EXIST]);
    }

    fn condition_feeding_child(all: bool) -> Outcome {
        let def = parse(
            json!({"input": {"json": [{"name": "v", "type": "integer", "required": false}]}, "nodes": {
                "cond": cond_node(json!([]), json!({"v": recipe_in("v")}),
                    json!({"files": [], "json": [{"name": "v", "type": "integer", "required": false}]}),
                    json!({"all": all, "filters": [{"name": "v", "type": "integer", "condition": ">", "values": [0]}]})),
                "job": job_node("jt", "1", 1, json!([dep("cond")]), json!({"i": from("cond", "v")})),
            }}),
        );
        let inputs = iface(vec![], vec![jparam("i", "integer", true)]);
        validate(
            &def,
            &with_job(Resolved::default(), job_key("jt", "1", 1), inputs, Interface::default()),
        )
    }

    #[test]
    fn condition_output_requires_filtered_parameters_when_all() {
        assert_eq!(condition_feeding_child(true), Outcome::default());
        let outcome = condition_feeding_child(false);
        assert_eq!(names(&outcome.errors), [NODE_INTERFACE]);
        assert!(
            outcome.errors[0]
                .description
                .ends_with("Parameter 'i' is required and cannot accept an optional value")
        );
    }

    #[test]
    fn every_error_in_stable_order() {
        let def = parse(json!({"nodes": {
            "z": job_node("jt", "1", 1, json!([dep("y")]), json!({})),
            "y": job_node("jt", "1", 1, json!([]), json!({})),
            "w": job_node("ghost", "1", 1, json!([]), json!({})),
        }}));
        let inputs = iface(vec![], vec![jparam("i", "integer", true), jparam("k", "string", true)]);
        let resolved = with_job(Resolved::default(), job_key("jt", "1", 1), inputs, Interface::default());
        let outcome = validate(&def, &resolved);
        let texts: Vec<&str> = outcome.errors.iter().map(|e| e.description.as_str()).collect();
        assert_eq!(texts.len(), 5);
        assert!(texts[0].contains("'ghost'"));
        assert_eq!(
            &texts[1..],
            [
                "input 'i' is missing for y",
                "input 'k' is missing for y",
                "input 'i' is missing for z",
                "input 'k' is missing for z"
            ]
        );
        assert_eq!(validate(&def, &resolved), outcome);
    }

    #[test]
    fn sub_recipe_inputs_are_checked() {
        let def = parse(json!({"input": {"json": [{"name": "s", "type": "string"}]}, "nodes": {
            "r": recipe_node("sub", 2, json!([]), json!({"x": recipe_in("s")})),
        }}));
        let ok = with_recipe(
            Resolved::default(),
            "sub",
            2,
            iface(vec![], vec![jparam("x", "string", true)]),
        );
        assert_eq!(validate(&def, &ok), Outcome::default());
        let bad = with_recipe(
            Resolved::default(),
            "sub",
            2,
            iface(vec![], vec![jparam("x", "integer", true)]),
        );
        assert_eq!(names(&validate(&def, &bad).errors), [NODE_INTERFACE]);
    }

    fn sub(name: &str) -> Value {
        recipe_node(name, 1, json!([]), json!({}))
    }

    #[test]
    fn recursive_sub_recipes() {
        let lookup = |name: &str| -> Option<Definition> {
            match name {
                "b" => Some(parse(json!({"nodes": {"x": sub("c")}}))),
                "c" => Some(parse(json!({"nodes": {"y": sub("a")}}))),
                "loop1" => Some(parse(json!({"nodes": {"x": sub("loop2")}}))),
                "loop2" => Some(parse(json!({"nodes": {"x": sub("loop1")}}))),
                "leaf" => Some(Definition::default()),
                _ => None,
            }
        };
        let direct = check_recursive_subs("a", &parse(json!({"nodes": {"n": sub("a")}})), &lookup);
        assert_eq!(
            direct,
            Some(Message::new(
                RECURSIVE_SUBRECIPES,
                "Recipe type a contains sub-recipes of itself. Found within recipe type a."
            ))
        );
        let nested = check_recursive_subs(
            "a",
            &parse(json!({"nodes": {"l": sub("leaf"), "n": sub("b")}})),
            &lookup,
        );
        assert_eq!(
            nested.map(|m| m.description),
            Some("Recipe type a contains sub-recipes of itself. Found within recipe type c.".into())
        );
        assert_eq!(
            check_recursive_subs(
                "a",
                &parse(json!({"nodes": {"n": sub("loop1"), "m": sub("unknown")}})),
                &lookup
            ),
            None
        );
        assert_eq!(check_recursive_subs("a", &Definition::default(), &lookup), None);
    }
}
