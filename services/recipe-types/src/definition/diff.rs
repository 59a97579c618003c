//! The diff between two definitions (Scale's `RecipeDiff`): what changed per
//! node, whether recipes of the old revision can be reprocessed as the new
//! one, and which nodes a reprocess would copy, supersede or unpublish.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::diff_node::{DiffNodeType, ForcedNodes, NodeDiff, NodeStatus};

use super::graph::Order;
use super::names::INPUT_CHANGE;
use super::{Definition, Message, Node, NodeKind};

#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    can_be_reprocessed: bool,
    reasons: Vec<Message>,
    /// New nodes parents-first, then deleted ones (previous order).
    nodes: Vec<NodeDiff>,
}

/// Compares `new` with `prev` (Scale's `RecipeDiff(prev, new)`).
pub fn diff(prev: &Definition, new: &Definition) -> Diff {
    let mut out = Diff {
        can_be_reprocessed: true,
        reasons: Vec::new(),
        nodes: Vec::new(),
    };
    // Old recipe inputs must still be acceptable to the new interface.
    let check = new.input.check_connection(&prev.input, &BTreeSet::new());
    if let Some(first) = check.errors.first() {
        out.can_be_reprocessed = false;
        let text = format!("Input interface has changed: {}", first.description);
        out.reasons.push(Message::new(INPUT_CHANGE, text));
    }
    let mut status: HashMap<&str, NodeStatus> = HashMap::new();
    let old_nodes: HashMap<&str, &Node> = prev.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    for i in Order::of(new).nodes {
        let node = &new.nodes[i];
        let mut nd = NodeDiff::new(node, NodeStatus::New);
        if let Some(old) = old_nodes.get(node.name.as_str()) {
            compare(&mut nd, node, old, &status);
        }
        nd.recalculate(out.can_be_reprocessed);
        status.insert(node.name.as_str(), nd.status);
        out.nodes.push(nd);
    }
    for i in Order::of(prev).nodes {
        let old = &prev.nodes[i];
        if !status.contains_key(old.name.as_str()) {
            out.nodes.push(NodeDiff::new(old, NodeStatus::Deleted));
        }
    }
    out
}

fn change(list: &mut Vec<Message>, name: &str, text: String) {
    list.push(Message::new(name, text));
}

fn compare(nd: &mut NodeDiff, node: &Node, old: &Node, status: &HashMap<&str, NodeStatus>) {
    let c = &mut nd.changes;
    match (&node.kind, &old.kind, &mut nd.node_type) {
        (
            NodeKind::Job {
                job_type_name: n,
                job_type_version: v,
                job_type_revision: r,
            },
            NodeKind::Job {
                job_type_name: pn,
                job_type_version: pv,
                job_type_revision: pr,
            },
            DiffNodeType::Job {
                prev_job_type_name,
                prev_job_type_version,
                prev_job_type_revision,
                ..
            },
        ) => {
            if n != pn {
                *prev_job_type_name = Some(pn.clone());
                change(c, "JOB_TYPE_CHANGE", format!("Job type changed from {pn} to {n}"));
            }
            if v != pv {
                *prev_job_type_version = Some(pv.clone());
                change(
                    c,
                    "JOB_TYPE_VERSION_CHANGE",
                    format!("Job type version changed from {pv} to {v}"),
                );
            }
            if r != pr {
                *prev_job_type_revision = Some(*pr);
                change(
                    c,
                    "JOB_TYPE_REVISION_CHANGE",
                    format!("Job type revision changed from {pr} to {r}"),
                );
            }
        }
        (
            NodeKind::Recipe {
                recipe_type_name: n,
                recipe_type_revision: r,
            },
            NodeKind::Recipe {
                recipe_type_name: pn,
                recipe_type_revision: pr,
            },
            DiffNodeType::Recipe {
                prev_recipe_type_name,
                prev_recipe_type_revision,
                ..
            },
        ) => {
            if n != pn {
                *prev_recipe_type_name = Some(pn.clone());
                change(c, "RECIPE_TYPE_CHANGE", format!("Recipe type changed from {pn} to {n}"));
            }
            if r != pr {
                *prev_recipe_type_revision = Some(*pr);
                change(
                    c,
                    "RECIPE_TYPE_REVISION_CHANGE",
                    format!("Recipe type revision changed from {pr} to {r}"),
                );
            }
        }
        (NodeKind::Condition { data_filter: f, .. }, NodeKind::Condition { data_filter: pf, .. }, _) => {
            // Scale compares only the filter, not the condition interface.
            if f != pf {
                change(c, "FILTER_CHANGE", "Data filter changed".into());
            }
        }
        (kind, old_kind, _) => {
            nd.prev_node_type = Some(old_kind.type_name().to_owned());
            let text = format!(
                "Node type changed from {} to {}",
                old_kind.type_name(),
                kind.type_name()
            );
            change(c, "NODE_TYPE_CHANGE", text);
        }
    }
    let was_parent = |name: &str| old.dependencies.iter().any(|d| d.name == name);
    for dep in &node.dependencies {
        if !was_parent(&dep.name) {
            change(c, "PARENT_NEW", format!("New parent node {} added", dep.name));
        } else if status.get(dep.name.as_str()) == Some(&NodeStatus::Changed) {
            change(c, "PARENT_CHANGED", format!("Parent node {} changed", dep.name));
        }
    }
    for dep in &old.dependencies {
        if !node.dependencies.iter().any(|d| d.name == dep.name) {
            change(
                c,
                "PARENT_REMOVED",
                format!("Previous parent node {} removed", dep.name),
            );
        }
    }
    for dep in &node.dependencies {
        if old
            .dependencies
            .iter()
            .any(|d| d.name == dep.name && d.acceptance != dep.acceptance)
        {
            change(
                c,
                "PARENT_ACCEPTANCE_CHANGED",
                format!("Approval for parent node {} changed", dep.name),
            );
        }
    }
    for (input, conn) in &node.inputs {
        match old.inputs.iter().find(|(name, _)| name == input) {
            None => change(c, "INPUT_NEW", format!("New input {input} added")),
            Some((_, prev)) if prev != conn => change(c, "INPUT_CHANGE", format!("Input {input} changed")),
            Some(_) => {}
        }
    }
    for (input, _) in &old.inputs {
        if !node.inputs.iter().any(|(name, _)| name == input) {
            change(c, "INPUT_REMOVED", format!("Previous input {input} removed"));
        }
    }
    nd.status = if nd.changes.is_empty() {
        NodeStatus::Unchanged
    } else {
        NodeStatus::Changed
    };
}

impl Diff {
    pub fn can_be_reprocessed(&self) -> bool {
        self.can_be_reprocessed
    }

    /// Why it cannot be reprocessed (at most one `INPUT_CHANGE`).
    pub fn reasons(&self) -> &[Message] {
        &self.reasons
    }

    pub fn nodes(&self) -> &[NodeDiff] {
        &self.nodes
    }

    pub fn node(&self, name: &str) -> Option<&NodeDiff> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Forces the named nodes and all their descendants to be redone.
    pub fn set_force_reprocess(&mut self, forced: &ForcedNodes) {
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, nd) in self.nodes.iter().enumerate() {
            for dep in &nd.dependencies {
                children.entry(dep.clone()).or_default().push(i);
            }
        }
        let mut stack: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| forced.is_forced(&self.nodes[i].name))
            .collect();
        let mut done = BTreeSet::new();
        while let Some(i) = stack.pop() {
            if !done.insert(i) {
                continue;
            }
            let can = self.can_be_reprocessed;
            let nd = &mut self.nodes[i];
            nd.force_reprocess = true;
            if matches!(nd.node_type, DiffNodeType::Recipe { .. }) {
                nd.forced_sub_nodes = forced.for_sub_recipe(&nd.name);
            }
            nd.recalculate(can);
            stack.extend(children.get(&nd.name).into_iter().flatten());
        }
    }

    fn select(&self, keep: impl Fn(&NodeDiff) -> bool) -> Vec<&str> {
        if !self.can_be_reprocessed {
            return Vec::new();
        }
        self.nodes.iter().filter(|n| keep(n)).map(|n| n.name.as_str()).collect()
    }

    /// Nodes a reprocess copies from the previous recipe.
    pub fn nodes_to_copy(&self) -> Vec<&str> {
        self.select(|n| n.status != NodeStatus::Deleted && !n.reprocess_new_node)
    }

    /// Nodes a reprocess supersedes in the previous recipe.
    pub fn nodes_to_supersede(&self) -> Vec<&str> {
        self.select(|n| match n.status {
            NodeStatus::Deleted | NodeStatus::Changed => true,
            NodeStatus::Unchanged => n.force_reprocess,
            NodeStatus::New => false,
        })
    }

    pub fn nodes_to_unpublish(&self) -> Vec<&str> {
        self.select(|n| n.status == NodeStatus::Deleted)
    }

    /// Sub-recipe nodes to supersede completely: a parent is being redone,
    /// or something changed besides the recipe type or its revision.
    pub fn nodes_to_recursively_supersede(&self) -> Vec<&str> {
        let redone: HashSet<&str> = self
            .nodes
            .iter()
            .filter(|n| n.reprocess_new_node)
            .map(|n| n.name.as_str())
            .collect();
        self.select(|n| {
            matches!(n.node_type, DiffNodeType::Recipe { .. })
                && (n.dependencies.iter().any(|d| redone.contains(d.as_str()))
                    || n.changes
                        .iter()
                        .any(|c| c.name != "RECIPE_TYPE_CHANGE" && c.name != "RECIPE_TYPE_REVISION_CHANGE"))
        })
    }

    /// The v6 diff JSON without `version`, as the validation endpoint shows it.
    pub fn to_json(&self) -> Value {
        let mut nodes = Map::new();
        for nd in &self.nodes {
            nodes.insert(nd.name.clone(), nd.to_json());
        }
        json!({"can_be_reprocessed": self.can_be_reprocessed, "reasons": self.reasons, "nodes": Value::Object(nodes)})
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use serde_json::json;

    fn dep(name: &str) -> Value {
        json!({"name": name})
    }

    fn from(node: &str, output: &str) -> Value {
        json!({"type": "dependency", "node": node, "output": output})
    }

    fn recipe_in(input: &str) -> Value {
        json!({"type": "recipe", "input": input})
    }

    fn def(input: Value, nodes: Value) -> Definition {
        parse(json!({"input": input, "nodes": nodes}))
    }

    fn base_input() -> Value {
        json!({"files": [{"name": "file_param_one", "media_types": ["image/gif"]}], "json": [{"name": "json_param_one", "type": "object"}]})
    }

    fn cond_iface() -> Value {
        json!({"files": [{"name": "cond_file", "media_types": ["image/gif"], "required": true, "multiple": false}], "json": []})
    }

    fn change_names(d: &Diff, node: &str) -> Vec<String> {
        d.node(node)
            .map(|n| n.changes.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default()
    }

    fn status(d: &Diff, node: &str) -> Option<NodeStatus> {
        d.node(node).map(|n| n.status)
    }

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_unstable();
        v
    }

    /// Scale's `test_init_changes`.
    #[test]
    fn scale_init_changes() {
        let prev = def(
            base_input(),
            json!({
                "A": job_node("job_type_1", "1.0", 1, json!([]), json!({"input_1": recipe_in("file_param_one")})),
                "B": job_node("job_type_2", "2.0", 1, json!([dep("A")]), json!({"b_input_1": from("A", "a_output_1")})),
                "C": job_node("job_type_3", "1.0", 2, json!([dep("A")]), json!({"c_input_1": from("A", "a_output_2")})),
                "D": recipe_node("recipe_type_1", 1, json!([dep("C")]), json!({"d_input_1": from("C", "c_output_1"), "d_input_2": recipe_in("json_param_one")})),
                "E": job_node("job_type_4", "1.0", 1, json!([dep("B")]), json!({})),
                "G": cond_node(json!([dep("A")]), json!({"cond_file": from("A", "a_output_1")}), cond_iface(), json!({"all": true})),
                "H": job_node("job_type_4", "1.0", 1, json!([dep("G")]), json!({"h_input_1": from("G", "cond_file")})),
            }),
        );
        let mut input = base_input();
        if let Some(list) = input["json"].as_array_mut() {
            list.push(json!({"name": "json_param_two", "type": "object", "required": false}));
        }
        let new = def(
            input,
            json!({
                "A": job_node("job_type_1", "1.0", 1, json!([]), json!({"input_1": recipe_in("file_param_one")})),
                "C": job_node("job_type_3", "2.1", 1, json!([dep("A")]), json!({"c_input_1": from("A", "a_output_2")})),
                "D": recipe_node("recipe_type_1", 1, json!([dep("C")]), json!({"d_input_1": from("C", "c_output_1"), "d_input_2": recipe_in("json_param_one")})),
                "G": cond_node(json!([dep("A")]), json!({"cond_file": from("A", "a_output_1")}), cond_iface(), json!({"all": false})),
                "H": job_node("job_type_4", "1.0", 1, json!([{"name": "G", "acceptance": false}]), json!({"h_input_1": from("G", "cond_file")})),
                "F": recipe_node("recipe_type_2", 5, json!([dep("D")]), json!({"f_input_1": recipe_in("json_param_two")})),
            }),
        );
        let d = diff(&prev, &new);
        assert!(
            d.can_be_reprocessed(),
            "adding an optional input keeps reprocessing possible"
        );
        assert!(d.reasons().is_empty());
        assert_eq!(status(&d, "A"), Some(NodeStatus::Unchanged));
        assert_eq!(status(&d, "C"), Some(NodeStatus::Changed));
        assert_eq!(
            change_names(&d, "C"),
            ["JOB_TYPE_VERSION_CHANGE", "JOB_TYPE_REVISION_CHANGE"]
        );
        assert_eq!(change_names(&d, "D"), ["PARENT_CHANGED"]);
        assert_eq!(change_names(&d, "G"), ["FILTER_CHANGE"]);
        assert_eq!(change_names(&d, "H"), ["PARENT_CHANGED", "PARENT_ACCEPTANCE_CHANGED"]);
        assert_eq!(status(&d, "F"), Some(NodeStatus::New));
        assert!(change_names(&d, "F").is_empty());
        for gone in ["B", "E"] {
            assert_eq!(status(&d, gone), Some(NodeStatus::Deleted));
            assert!(
                d.node(gone)
                    .is_some_and(|n| !n.reprocess_new_node && n.changes.is_empty())
            );
        }
        for redo in ["C", "D", "F", "G", "H"] {
            assert!(d.node(redo).is_some_and(|n| n.reprocess_new_node), "{redo}");
        }
        assert_eq!(d.nodes_to_copy(), ["A"]);
        assert_eq!(sorted(d.nodes_to_supersede()), ["B", "C", "D", "E", "G", "H"]);
        assert_eq!(sorted(d.nodes_to_unpublish()), ["B", "E"]);
        assert_eq!(d.nodes_to_recursively_supersede(), ["D", "F"]);
        let c = d.to_json()["nodes"]["C"]["node_type"].clone();
        assert_eq!(
            c,
            json!({"node_type": "job", "job_type_name": "job_type_3", "job_type_version": "2.1", "job_type_revision": 1,
            "prev_job_type_version": "1.0", "prev_job_type_revision": 2})
        );
    }

    fn chain_prev() -> Definition {
        def(
            base_input(),
            json!({
                "A": job_node("job_type_1", "1.0", 1, json!([]), json!({"input_1": recipe_in("file_param_one")})),
                "B": job_node("job_type_2", "2.0", 1, json!([dep("A")]), json!({"b_input_1": from("A", "a_output_1")})),
                "C": job_node("job_type_3", "1.0", 2, json!([dep("A")]), json!({"c_input_1": from("A", "a_output_2")})),
                "D": recipe_node("recipe_type_1", 1, json!([dep("C")]), json!({"d_input_1": from("C", "c_output_1"), "d_input_2": recipe_in("json_param_one")})),
            }),
        )
    }

    /// Scale's `test_init_changes_in_middle_of_chains`.
    #[test]
    fn scale_changes_in_middle_of_chains() {
        let new = def(
            base_input(),
            json!({
                "A": job_node("job_type_1", "1.0", 1, json!([]), json!({"input_1": recipe_in("file_param_one")})),
                "B": job_node("job_type_2", "2.0", 1, json!([dep("E")]), json!({"b_input_1": from("A", "a_output_1")})),
                "D": recipe_node("recipe_type_1", 1, json!([dep("A")]), json!({"d_input_1": from("A", "a_output_2"), "d_input_2": recipe_in("json_param_one")})),
                "E": job_node("job_type_4", "5.0", 2, json!([dep("A")]), json!({"e_input_1": from("A", "a_output_1")})),
            }),
        );
        let d = diff(&chain_prev(), &new);
        assert!(d.can_be_reprocessed());
        assert_eq!(status(&d, "A"), Some(NodeStatus::Unchanged));
        assert_eq!(change_names(&d, "B"), ["PARENT_NEW", "PARENT_REMOVED"]);
        assert_eq!(status(&d, "C"), Some(NodeStatus::Deleted));
        assert_eq!(change_names(&d, "D"), ["PARENT_NEW", "PARENT_REMOVED", "INPUT_CHANGE"]);
        assert_eq!(status(&d, "E"), Some(NodeStatus::New));
        assert_eq!(d.nodes_to_copy(), ["A"]);
        assert_eq!(sorted(d.nodes_to_supersede()), ["B", "C", "D"]);
        assert_eq!(d.nodes_to_unpublish(), ["C"]);
    }

    /// Scale's `test_init_new_required_input`.
    #[test]
    fn scale_new_required_input() {
        let mut input = base_input();
        if let Some(list) = input["json"].as_array_mut() {
            list.push(json!({"name": "json_param_two", "type": "object", "required": true}));
        }
        let mut new = chain_prev();
        new.input = def(input, json!({})).input;
        new.set_job_type_revision("job_type_3", "1.0", 5);
        let d = diff(&chain_prev(), &new);
        assert!(!d.can_be_reprocessed());
        assert_eq!(
            d.reasons(),
            [Message::new(
                "INPUT_CHANGE",
                "Input interface has changed: Parameter 'json_param_two' is required"
            )]
        );
        assert!(d.nodes_to_copy().is_empty() && d.nodes_to_supersede().is_empty() && d.nodes_to_unpublish().is_empty());
        assert_eq!(status(&d, "C"), Some(NodeStatus::Changed));
        assert!(d.nodes().iter().all(|n| !n.reprocess_new_node));
        assert_eq!(d.to_json()["can_be_reprocessed"], json!(false));
    }

    /// Scale's `test_set_force_reprocess`.
    #[test]
    fn scale_force_reprocess() {
        let mut nodes = chain_prev().to_json()["nodes"].clone();
        nodes["E"] = job_node(
            "job_type_4",
            "1.0",
            1,
            json!([dep("C")]),
            json!({"e_input_1": from("C", "c_output_1")}),
        );
        let d1 = def(base_input(), nodes);
        let mut d = diff(&d1, &d1.clone());
        let inner = ForcedNodes {
            nodes: ["1".to_owned(), "2".to_owned()].into(),
            ..ForcedNodes::default()
        };
        let forced = ForcedNodes {
            all: false,
            nodes: ["C".to_owned()].into(),
            sub_recipes: [("D".to_owned(), inner.clone())].into(),
        };
        d.set_force_reprocess(&forced);
        assert!(
            d.nodes()
                .iter()
                .all(|n| n.status == NodeStatus::Unchanged && n.changes.is_empty())
        );
        let redo: Vec<&str> = d
            .nodes()
            .iter()
            .filter(|n| n.reprocess_new_node)
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(sorted(redo), ["C", "D", "E"]);
        assert_eq!(d.node("D").and_then(|n| n.forced_sub_nodes.clone()), Some(inner));
        assert_eq!(sorted(d.nodes_to_copy()), ["A", "B"]);
        assert_eq!(sorted(d.nodes_to_supersede()), ["C", "D", "E"]);
        assert!(d.nodes_to_unpublish().is_empty());
        assert_eq!(d.to_json()["nodes"]["E"]["force_reprocess"], json!(true));
    }

    fn pair(prev_nodes: Value, new_nodes: Value) -> Diff {
        let input = json!({"json": [{"name": "x", "type": "string"}, {"name": "y", "type": "string"}]});
        diff(&def(input.clone(), prev_nodes), &def(input, new_nodes))
    }

    #[test]
    fn node_type_changes() {
        let d = pair(
            json!({"n": job_node("a", "1", 1, json!([]), json!({})), "r": recipe_node("s", 1, json!([]), json!({}))}),
            json!({"n": condition_node(json!([]), json!({})), "r": recipe_node("t", 2, json!([]), json!({}))}),
        );
        assert_eq!(change_names(&d, "n"), ["NODE_TYPE_CHANGE"]);
        assert_eq!(
            d.node("n").map(|n| n.changes[0].description.as_str()),
            Some("Node type changed from job to condition")
        );
        assert_eq!(d.to_json()["nodes"]["n"]["prev_node_type"], json!("job"));
        assert_eq!(
            d.to_json()["nodes"]["n"]["node_type"],
            json!({"node_type": "condition"})
        );
        assert_eq!(
            change_names(&d, "r"),
            ["RECIPE_TYPE_CHANGE", "RECIPE_TYPE_REVISION_CHANGE"]
        );
        assert_eq!(
            d.to_json()["nodes"]["r"]["node_type"],
            json!({"node_type": "recipe", "recipe_type_name": "t", "recipe_type_revision": 2, "prev_recipe_type_name": "s", "prev_recipe_type_revision": 1})
        );
        assert!(d.to_json()["nodes"]["r"].get("prev_node_type").is_none());
    }

    #[test]
    fn job_type_changes() {
        let d = pair(
            json!({"n": job_node("a", "1", 1, json!([]), json!({})), "m": job_node("a", "1", 1, json!([]), json!({}))}),
            json!({"n": job_node("b", "1", 1, json!([]), json!({})), "m": job_node("a", "1", 3, json!([]), json!({}))}),
        );
        assert_eq!(change_names(&d, "n"), ["JOB_TYPE_CHANGE"]);
        assert_eq!(
            d.node("n").map(|n| n.changes[0].description.as_str()),
            Some("Job type changed from a to b")
        );
        assert_eq!(d.to_json()["nodes"]["n"]["node_type"]["prev_job_type_name"], json!("a"));
        assert_eq!(change_names(&d, "m"), ["JOB_TYPE_REVISION_CHANGE"]);
        assert_eq!(
            d.node("m").map(|n| n.changes[0].description.as_str()),
            Some("Job type revision changed from 1 to 3")
        );
    }

    #[test]
    fn filter_changes_but_not_interface_changes() {
        let filter = |v: i64| json!({"filters": [{"name": "cond_file", "type": "filename", "condition": "contains", "values": [v.to_string()]}]});
        let same_iface = pair(
            json!({"c": cond_node(json!([]), json!({}), cond_iface(), filter(1))}),
            json!({"c": cond_node(json!([]), json!({}), cond_iface(), filter(2))}),
        );
        assert_eq!(change_names(&same_iface, "c"), ["FILTER_CHANGE"]);
        let other_iface = json!({"files": [], "json": [{"name": "k", "type": "string", "required": false}]});
        let d = pair(
            json!({"c": cond_node(json!([]), json!({}), cond_iface(), filter(1))}),
            json!({"c": cond_node(json!([]), json!({}), other_iface, filter(1))}),
        );
        assert_eq!(status(&d, "c"), Some(NodeStatus::Unchanged));
    }

    #[test]
    fn parent_changes() {
        let d = pair(
            json!({
                "a": job_node("j", "1", 1, json!([]), json!({})),
                "b": job_node("j", "1", 1, json!([]), json!({})),
                "c": job_node("j", "1", 1, json!([dep("a"), {"name": "b", "acceptance": true}]), json!({})),
            }),
            json!({
                "a": job_node("j", "1", 2, json!([]), json!({})),
                "b": job_node("j", "1", 1, json!([]), json!({})),
                "n": job_node("j", "1", 1, json!([]), json!({})),
                "c": job_node("j", "1", 1, json!([dep("n"), dep("a"), {"name": "b", "acceptance": false}]), json!({})),
            }),
        );
        assert_eq!(
            change_names(&d, "c"),
            ["PARENT_NEW", "PARENT_CHANGED", "PARENT_ACCEPTANCE_CHANGED"]
        );
        let texts: Vec<&str> = d
            .node("c")
            .map(|n| n.changes.iter().map(|c| c.description.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            texts,
            [
                "New parent node n added",
                "Parent node a changed",
                "Approval for parent node b changed"
            ]
        );
        let removed = pair(
            json!({"a": job_node("j", "1", 1, json!([]), json!({})), "c": job_node("j", "1", 1, json!([dep("a")]), json!({}))}),
            json!({"a": job_node("j", "1", 1, json!([]), json!({})), "c": job_node("j", "1", 1, json!([]), json!({}))}),
        );
        assert_eq!(change_names(&removed, "c"), ["PARENT_REMOVED"]);
        assert_eq!(
            removed.node("c").map(|n| n.changes[0].description.as_str()),
            Some("Previous parent node a removed")
        );
    }

    #[test]
    fn parent_changed_cascades_down_a_chain() {
        let chain = |rev: i64| {
            json!({
                "a": job_node("j", "1", rev, json!([]), json!({})),
                "b": job_node("j", "1", 1, json!([dep("a")]), json!({})),
                "c": job_node("j", "1", 1, json!([dep("b")]), json!({})),
                "d": job_node("j", "1", 1, json!([dep("c")]), json!({})),
            })
        };
        let d = pair(chain(1), chain(2));
        assert_eq!(change_names(&d, "a"), ["JOB_TYPE_REVISION_CHANGE"]);
        for n in ["b", "c", "d"] {
            assert_eq!(change_names(&d, n), ["PARENT_CHANGED"], "{n}");
            assert!(d.node(n).is_some_and(|x| x.reprocess_new_node));
        }
    }

    #[test]
    fn input_changes() {
        let d = pair(
            json!({"a": job_node("j", "1", 1, json!([]), json!({})),
                   "n": job_node("j", "1", 1, json!([dep("a")]), json!({"keep": recipe_in("x"), "moved": recipe_in("x"), "gone": recipe_in("x")}))}),
            json!({"a": job_node("j", "1", 1, json!([]), json!({})),
                   "n": job_node("j", "1", 1, json!([dep("a")]), json!({"keep": recipe_in("x"), "moved": from("a", "o"), "fresh": recipe_in("y")}))}),
        );
        assert_eq!(change_names(&d, "n"), ["INPUT_CHANGE", "INPUT_NEW", "INPUT_REMOVED"]);
        let texts: Vec<&str> = d
            .node("n")
            .map(|n| n.changes.iter().map(|c| c.description.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            texts,
            [
                "Input moved changed",
                "New input fresh added",
                "Previous input gone removed"
            ]
        );
        let renamed = pair(
            json!({"n": job_node("j", "1", 1, json!([]), json!({"i": recipe_in("x")}))}),
            json!({"n": job_node("j", "1", 1, json!([]), json!({"i": recipe_in("y")}))}),
        );
        assert_eq!(change_names(&renamed, "n"), ["INPUT_CHANGE"]);
    }

    #[test]
    fn input_interface_reasons() {
        let with = |json: Value| {
            def(
                json!({"files": [{"name": "f", "media_types": ["a/b"]}], "json": json}),
                json!({}),
            )
        };
        let base = with(json!([{"name": "j", "type": "string"}]));
        let reprocessable = [
            with(json!([{"name": "j", "type": "string"}, {"name": "k", "type": "string", "required": false}])),
            with(json!([])),
            def(
                json!({"files": [{"name": "f", "media_types": ["c/d"]}], "json": [{"name": "j", "type": "string"}]}),
                json!({}),
            ),
        ];
        for new in &reprocessable {
            assert!(diff(&base, new).can_be_reprocessed(), "{:?}", new.input);
        }
        let breaking = [
            with(json!([{"name": "j", "type": "string"}, {"name": "k", "type": "string"}])),
            with(json!([{"name": "j", "type": "integer"}])),
        ];
        for new in &breaking {
            let d = diff(&base, new);
            assert!(!d.can_be_reprocessed());
            assert_eq!(d.reasons().len(), 1);
            assert_eq!(d.reasons()[0].name, "INPUT_CHANGE");
        }
        let optional = with(json!([{"name": "j", "type": "string", "required": false}]));
        assert!(
            diff(&optional, &base).reasons()[0]
                .description
                .ends_with("is required and cannot accept an optional value")
        );
    }

    #[test]
    fn json_form() {
        let d = pair(
            json!({"a": job_node("j", "1", 1, json!([]), json!({})), "old": condition_node(json!([dep("a")]), json!({}))}),
            json!({"a": job_node("j", "2", 1, json!([]), json!({})), "b": recipe_node("r", 5, json!([{"name": "a", "acceptance": false}]), json!({}))}),
        );
        assert_eq!(
            d.to_json(),
            json!({"can_be_reprocessed": true, "reasons": [], "nodes": {
                "a": {"status": "CHANGED", "changes": [{"name": "JOB_TYPE_VERSION_CHANGE", "description": "Job type version changed from 1 to 2"}],
                      "reprocess_new_node": true, "force_reprocess": false, "dependencies": [],
                      "node_type": {"node_type": "job", "job_type_name": "j", "job_type_version": "2", "job_type_revision": 1, "prev_job_type_version": "1"}},
                "b": {"status": "NEW", "changes": [], "reprocess_new_node": true, "force_reprocess": false, "dependencies": [{"name": "a"}],
                      "node_type": {"node_type": "recipe", "recipe_type_name": "r", "recipe_type_revision": 5}},
                "old": {"status": "DELETED", "changes": [], "reprocess_new_node": false, "force_reprocess": false, "dependencies": [{"name": "a"}],
                        "node_type": {"node_type": "condition"}},
            }})
        );
        assert!(d.to_json().get("version").is_none());
    }

    #[test]
    fn cycles_do_not_hang() {
        let cyclic = json!({"a": job_node("j", "1", 1, json!([dep("b")]), json!({})), "b": job_node("j", "1", 1, json!([dep("a")]), json!({}))});
        let d = pair(cyclic.clone(), cyclic);
        assert!(d.nodes().iter().all(|n| n.status == NodeStatus::Unchanged));
        let mut d = d;
        d.set_force_reprocess(&ForcedNodes {
            all: true,
            ..ForcedNodes::default()
        });
        assert!(d.nodes().iter().all(|n| n.force_reprocess && n.reprocess_new_node));
    }
}
