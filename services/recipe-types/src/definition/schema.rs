//! Small JSON-schema-like checks and JSON value comparisons shared by the
//! parsers and the filter evaluator. Messages are phrased like the Python
//! `jsonschema` messages Scale users are used to.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::Message;
use super::names::{INVALID_DEFINITION, INVALID_DEFINITION_JSON};

/// Schema problems found at one location ("Issue with <context>: ...").
pub(super) struct Issues {
    context: String,
    pub(super) list: Vec<String>,
}

impl Issues {
    pub(super) fn new(context: &str) -> Self {
        Issues {
            context: context.to_owned(),
            list: Vec::new(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(super) fn push(&mut self, msg: impl AsRef<str>) {
        self.list.push(format!("Issue with {}: {}", self.context, msg.as_ref()));
    }

    /// Moves another location's issues into this one, keeping their wording.
    pub(super) fn absorb(&mut self, other: Issues) {
        self.list.extend(other.list);
    }

    /// One `INVALID_DEFINITION` per issue.
    pub(super) fn into_plain(self) -> Vec<Message> {
        self.list
            .into_iter()
            .map(|d| Message::new(INVALID_DEFINITION, d))
            .collect()
    }

    /// Scale reports a failed `oneOf` (node types, input connections) as a
    /// single `INVALID_DEFINITION_JSON` whose description is a JSON list of
    /// its sub-issues, so the UI can show one box per issue.
    pub(super) fn into_one_of(self) -> Option<Message> {
        if self.list.is_empty() {
            return None;
        }
        let text = serde_json::to_string(&self.list).unwrap_or_default();
        Some(Message::new(INVALID_DEFINITION_JSON, text))
    }

    pub(super) fn object<'a>(&mut self, v: &'a Value) -> Option<&'a Map<String, Value>> {
        let map = v.as_object();
        if map.is_none() {
            self.push(format!("{} is not of type 'object'", show(v)));
        }
        map
    }

    pub(super) fn array<'a>(&mut self, v: &'a Value) -> Option<&'a Vec<Value>> {
        let list = v.as_array();
        if list.is_none() {
            self.push(format!("{} is not of type 'array'", show(v)));
        }
        list
    }

    pub(super) fn string(&mut self, v: &Value) -> Option<String> {
        let s = v.as_str().map(str::to_owned);
        if s.is_none() {
            self.push(format!("{} is not of type 'string'", show(v)));
        }
        s
    }

    pub(super) fn boolean(&mut self, v: &Value) -> Option<bool> {
        let b = v.as_bool();
        if b.is_none() {
            self.push(format!("{} is not of type 'boolean'", show(v)));
        }
        b
    }

    /// Only JSON integers count: `1.0` and `"1"` are rejected, as jsonschema does.
    pub(super) fn integer(&mut self, v: &Value) -> Option<i64> {
        let i = v.as_i64();
        if i.is_none() {
            let integral = v.is_number() && !v.to_string().contains(['.', 'e', 'E']);
            let why = if integral {
                "is out of range"
            } else {
                "is not of type 'integer'"
            };
            self.push(format!("{} {why}", show(v)));
        }
        i
    }

    /// Reports keys outside `allowed` (`additionalProperties: false`).
    pub(super) fn allow_keys(&mut self, map: &Map<String, Value>, allowed: &[&str]) {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.push(format!(
                    "Additional properties are not allowed ('{key}' was unexpected)"
                ));
            }
        }
    }

    pub(super) fn require<'a>(&mut self, map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
        let v = map.get(key);
        if v.is_none() {
            self.push(format!("'{key}' is a required property"));
        }
        v
    }

    pub(super) fn req_string(&mut self, map: &Map<String, Value>, key: &str) -> Option<String> {
        let v = self.require(map, key)?;
        self.string(v)
    }

    pub(super) fn req_bool(&mut self, map: &Map<String, Value>, key: &str) -> Option<bool> {
        let v = self.require(map, key)?;
        self.boolean(v)
    }

    pub(super) fn opt_bool(&mut self, map: &Map<String, Value>, key: &str, default: bool) -> Option<bool> {
        match map.get(key) {
            None => Some(default),
            Some(v) => self.boolean(v),
        }
    }
}

/// A short rendering of a JSON value for messages: strings in single
/// quotes, anything else as compact JSON, cut at 60 characters.
pub(super) fn show(v: &Value) -> String {
    let text = match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// Raw text of a value for "X is an unsupported version number".
pub(super) fn raw(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Equality the way Python compares decoded JSON: numbers by value
/// (`1 == 1.0`), objects regardless of key order. With arbitrary precision
/// on, serde_json's own `==` would compare number text instead.
pub(super) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num_cmp(a, b) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Ordering for `< <= > >= between`: numbers by value, strings by code
/// point; anything else is not comparable.
pub(super) fn json_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num_cmp(a, b),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn num_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value_not_text() {
        let one: Value = serde_json::from_str("1").unwrap_or_default();
        let one_float: Value = serde_json::from_str("1.0").unwrap_or_default();
        assert_ne!(one, one_float, "serde_json compares arbitrary-precision text");
        assert!(json_eq(&one, &one_float));
        assert!(json_eq(
            &json!({"a": [1, 2.5], "b": "x"}),
            &json!({"b": "x", "a": [1.0, 2.5]})
        ));
        assert!(!json_eq(&json!("1"), &json!(1)));
        assert_eq!(json_cmp(&json!(2), &json!(10.5)), Some(Ordering::Less));
        assert_eq!(json_cmp(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(json_cmp(&json!("1"), &json!(1)), None);
    }

    #[test]
    fn show_quotes_strings_and_truncates() {
        assert_eq!(show(&json!("x")), "'x'");
        assert_eq!(show(&json!([1, 2])), "[1,2]");
        let long = show(&json!("é".repeat(100)));
        assert!(long.ends_with("...") && long.chars().count() == 60);
    }

    #[test]
    fn one_of_issues_become_a_json_list() {
        let mut issues = Issues::new("node_a");
        issues.push("first");
        issues.push("second");
        let msg = issues.into_one_of();
        let Some(msg) = msg else { panic!("expected a message") };
        assert_eq!(msg.name, INVALID_DEFINITION_JSON);
        let list: Vec<String> = serde_json::from_str(&msg.description).unwrap_or_default();
        assert_eq!(list, vec!["Issue with node_a: first", "Issue with node_a: second"]);
        assert!(Issues::new("x").into_one_of().is_none());
    }
}
