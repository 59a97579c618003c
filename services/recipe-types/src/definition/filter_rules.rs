//! Parsing a `data_filter` object and Scale's `validate_filter` rules,
//! including the coercion of integer and number values.

use serde_json::{Map, Value};

use super::filter::{CONDITIONS, Condition, DataFilter, Filter, FilterType, TYPE_NAMES};
use super::schema::{Issues, raw, show};
use super::{Message, names};

pub(super) struct ParsedFilter {
    /// `None` when anything was wrong.
    pub(super) filter: Option<DataFilter>,
    /// Shape problems (Scale's schema errors).
    pub(super) issues: Issues,
    /// `INVALID_DATA_FILTER` for a bad version, then the filter-rule errors.
    pub(super) rules: Vec<Message>,
}

/// Parses a `data_filter` object and runs `validate_filter` on each entry.
/// Where Scale's schema would reject an entry before its rules ran (a
/// missing key, an unknown condition or type, an empty `values` or
/// `fields`), the rule's own name is reported instead, so the user learns
/// which rule failed.
pub(super) fn parse_data_filter(v: &Value, context: &str) -> ParsedFilter {
    let mut out = ParsedFilter {
        filter: None,
        issues: Issues::new(context),
        rules: Vec::new(),
    };
    let Some(map) = out.issues.object(v) else {
        return out;
    };
    out.issues.allow_keys(map, &["version", "filters", "all"]);
    match map.get("version") {
        None => {}
        Some(Value::String(s)) if s == "6" || s == "7" => {}
        Some(Value::String(s)) => out.rules.push(Message::new(
            names::INVALID_DATA_FILTER,
            format!("Issue with {context}: data filter version {s} is an unsupported version number"),
        )),
        Some(other) => out.issues.push(format!("{} is not of type 'string'", raw(other))),
    }
    let all = out.issues.opt_bool(map, "all", true);
    let mut filters = Vec::new();
    if let Some(list) = map.get("filters").and_then(|l| out.issues.array(l)) {
        for item in list {
            let Some(entry) = out.issues.object(item) else {
                continue;
            };
            filters.push(validate_filter(entry, context, &mut out.issues, &mut out.rules));
        }
    }
    if out.issues.is_empty() && out.rules.is_empty() {
        let filters = filters.into_iter().collect::<Option<Vec<_>>>();
        out.filter = filters.zip(all).map(|(filters, all)| DataFilter { all, filters });
    }
    out
}

fn rule(list: &mut Vec<Message>, name: &str, context: &str, text: String) {
    list.push(Message::new(name, format!("Issue with {context}: {text}")));
}

fn validate_filter(m: &Map<String, Value>, ctx: &str, issues: &mut Issues, rules: &mut Vec<Message>) -> Option<Filter> {
    let start = (issues.list.len(), rules.len());
    issues.allow_keys(
        m,
        &[
            "name",
            "type",
            "condition",
            "values",
            "fields",
            "all_fields",
            "all_files",
        ],
    );
    let name = match m.get("name") {
        None => {
            rule(rules, names::MISSING_NAME, ctx, "Missing name for filter".into());
            None
        }
        Some(v) => issues.string(v),
    };
    let label = name.clone().unwrap_or_default();
    for (key, code) in [
        ("type", names::MISSING_TYPE),
        ("condition", names::MISSING_CONDITION),
        ("values", names::MISSING_VALUES),
    ] {
        if !m.contains_key(key) {
            rule(rules, code, ctx, format!("Missing {key} for '{label}'"));
        }
    }
    let all_fields = m.get("all_fields").and_then(|v| issues.boolean(v));
    let all_files = m.get("all_files").and_then(|v| issues.boolean(v));
    let values = match m.get("values").map(|v| issues.array(v)) {
        Some(Some(list)) if list.is_empty() => {
            rule(
                rules,
                names::MISSING_VALUES,
                ctx,
                format!("Values for '{label}' must not be empty"),
            );
            None
        }
        other => other.flatten(),
    };
    let fields = m.get("fields").map(parse_fields);
    let cond_raw = m.get("condition");
    let condition = cond_raw.and_then(Value::as_str).and_then(Condition::parse);
    let type_raw = m.get("type");
    let known_type = type_raw
        .and_then(Value::as_str)
        .and_then(|t| TYPE_NAMES.iter().find(|(n, _)| *n == t));
    let filter_type = known_type.and_then(|(_, t)| *t);

    if let (Some(c), None) = (cond_raw, condition) {
        let valid: Vec<&str> = CONDITIONS.iter().map(|(n, _)| *n).collect();
        rule(
            rules,
            names::INVALID_CONDITION,
            ctx,
            format!(
                "Invalid condition {} for '{label}'. Valid conditions are: {valid:?}",
                show(c)
            ),
        );
    }
    if let (Some(t), Some(c)) = (filter_type, condition) {
        let has_fields = m.get("fields").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
        if t.is_object() && !t.conditions().contains(&c) && !has_fields {
            let text = format!(
                "Object {label} does not have object condition (subset of, superset of) and fields property is not set"
            );
            rule(rules, names::INVALID_CONDITION, ctx, text);
        } else if !t.is_object() && !t.conditions().contains(&c) {
            let valid: Vec<&str> = t.conditions().iter().map(|c| c.as_str()).collect();
            let text = format!(
                "Invalid condition '{}' for '{label}'. Valid conditions are: {valid:?}",
                c.as_str()
            );
            rule(rules, names::INVALID_CONDITION, ctx, text);
        }
    }
    match &fields {
        Some(None) => rule(
            rules,
            names::INVALID_FIELDS,
            ctx,
            "Fields property must be a non-empty list of non-empty key paths of strings".into(),
        ),
        Some(Some(f)) if values.is_some_and(|v| v.len() != f.len()) => rule(
            rules,
            names::INVALID_FIELDS,
            ctx,
            "Fields property must be same length as values".into(),
        ),
        _ => {}
    }
    if let Some(t) = type_raw
        && filter_type.is_none()
    {
        rule(
            rules,
            names::INVALID_TYPE,
            ctx,
            format!("No valid conditions for type {} of '{label}'", show(t)),
        );
    }
    let values = coerce_values(filter_type, values?, &label, ctx, rules);
    if issues.list.len() != start.0 || rules.len() != start.1 {
        return None;
    }
    Some(Filter {
        name: name?,
        filter_type: filter_type?,
        condition: condition?,
        values,
        fields: fields.flatten(),
        all_fields,
        all_files,
    })
}

/// `None` when the shape is wrong: the schema wants a non-empty list of
/// non-empty lists of strings.
fn parse_fields(v: &Value) -> Option<Vec<Vec<String>>> {
    let outer = v.as_array().filter(|l| !l.is_empty())?;
    outer
        .iter()
        .map(|path| {
            let keys = path.as_array().filter(|p| !p.is_empty())?;
            keys.iter().map(|k| k.as_str().map(str::to_owned)).collect()
        })
        .collect()
}

fn coerce_values(
    t: Option<FilterType>,
    values: &[Value],
    label: &str,
    ctx: &str,
    rules: &mut Vec<Message>,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        let coerced = match t {
            Some(FilterType::Integer) => coerce_int(v).ok_or("int"),
            Some(FilterType::Number) => coerce_float(v).ok_or("float"),
            _ => Ok(v.clone()),
        };
        match coerced {
            Ok(c) => out.push(c),
            Err(kind) => rule(
                rules,
                names::VALUE_ERROR,
                ctx,
                format!("Expected {kind} for '{label}', found {}", show(v)),
            ),
        }
    }
    out
}

/// Python's `int()`: integers stay, finite floats truncate toward zero,
/// strings must spell an integer. Booleans and null are refused.
fn coerce_int(v: &Value) -> Option<Value> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(v.clone()),
        Value::Number(n) => {
            let f = n.as_f64().filter(|f| f.is_finite())?.trunc();
            (f >= i64::MIN as f64 && f < i64::MAX as f64).then(|| Value::from(f as i64))
        }
        Value::String(s) => s.trim().parse::<i64>().ok().map(Value::from),
        _ => None,
    }
}

/// Python's `float()`, refusing NaN and infinities (not valid JSON).
fn coerce_float(v: &Value) -> Option<Value> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    serde_json::Number::from_f64(f)
        .filter(|_| f.is_finite())
        .map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Rule errors of a single filter entry, by name.
    fn rule_names(entry: Value) -> Vec<String> {
        let parsed = parse_data_filter(&json!({"filters": [entry]}), "c");
        assert!(
            parsed.issues.is_empty(),
            "unexpected shape issues: {:?}",
            parsed.issues.list
        );
        assert!(parsed.filter.is_none() || parsed.rules.is_empty());
        parsed.rules.into_iter().map(|m| m.name).collect()
    }

    fn ok(entry: Value) -> Filter {
        let parsed = parse_data_filter(&json!({"filters": [entry.clone()]}), "c");
        assert!(
            parsed.rules.is_empty() && parsed.issues.is_empty(),
            "{entry}: {:?} {:?}",
            parsed.rules,
            parsed.issues.list
        );
        match parsed.filter {
            Some(mut f) if f.filters.len() == 1 => f.filters.remove(0),
            other => panic!("no filter: {other:?}"),
        }
    }

    #[test]
    fn missing_keys_name_their_rule() {
        assert_eq!(
            rule_names(json!({})),
            ["MISSING_NAME", "MISSING_TYPE", "MISSING_CONDITION", "MISSING_VALUES"]
        );
        assert_eq!(
            rule_names(json!({"name": "a"})),
            ["MISSING_TYPE", "MISSING_CONDITION", "MISSING_VALUES"]
        );
        assert_eq!(
            rule_names(json!({"name": "a", "type": "integer"})),
            ["MISSING_CONDITION", "MISSING_VALUES"]
        );
        assert_eq!(
            rule_names(json!({"name": "a", "type": "integer", "condition": ">"})),
            ["MISSING_VALUES"]
        );
        assert_eq!(
            rule_names(json!({"name": "a", "type": "integer", "condition": ">", "values": []})),
            ["MISSING_VALUES"]
        );
    }

    #[test]
    fn invalid_condition_rules() {
        let cases = [
            ("integer", "BAD"),
            ("string", "between"),
            ("filename", "<"),
            ("integer", "contains"),
            ("number", "subset of"),
            ("boolean", "contains"),
            ("boolean", "<"),
            ("object", "<"),
            ("meta-data", "=="),
        ];
        for (t, c) in cases {
            assert_eq!(
                rule_names(json!({"name": "a", "type": t, "condition": c, "values": ["1"]})),
                ["INVALID_CONDITION"],
                "{t} {c}"
            );
        }
        assert_eq!(
            rule_names(json!({"name": "a", "type": "string", "condition": 5, "values": ["1"]})),
            ["INVALID_CONDITION"]
        );
    }

    #[test]
    fn conditions_each_type_allows() {
        for c in ["==", "!=", "in", "not in", "contains"] {
            for t in ["string", "filename", "media-type", "data-type"] {
                ok(json!({"name": "a", "type": t, "condition": c, "values": ["x"]}));
            }
        }
        for c in ["<", "<=", ">", ">=", "==", "!=", "between", "in", "not in"] {
            ok(json!({"name": "a", "type": "integer", "condition": c, "values": [1, 2]}));
            ok(json!({"name": "a", "type": "number", "condition": c, "values": [1, 2]}));
        }
        ok(json!({"name": "a", "type": "boolean", "condition": "!=", "values": [true]}));
        ok(json!({"name": "a", "type": "object", "condition": "subset of", "values": [{"k": 1}]}));
        ok(json!({"name": "a", "type": "meta-data", "condition": "superset of", "values": [{"k": 1}]}));
        // With fields, object filters may use any condition.
        ok(json!({"name": "a", "type": "object", "condition": "<", "values": [3], "fields": [["x", "y"]]}));
    }

    #[test]
    fn invalid_fields_rules() {
        let base = |fields: Value| json!({"name": "a", "type": "object", "condition": "<", "values": [["n"]], "fields": fields});
        assert_eq!(rule_names(base(json!([["a"], ["b"]]))), ["INVALID_FIELDS"]);
        assert_eq!(rule_names(base(json!([[]]))), ["INVALID_FIELDS"]);
        assert_eq!(rule_names(base(json!([[1]]))), ["INVALID_FIELDS"]);
        assert_eq!(
            rule_names(json!({"name": "a", "type": "object", "condition": "subset of", "values": [{}], "fields": []})),
            ["INVALID_FIELDS"]
        );
    }

    #[test]
    fn invalid_type_rules() {
        assert_eq!(
            rule_names(json!({"name": "a", "type": "array", "condition": "==", "values": [[1]]})),
            ["INVALID_TYPE"]
        );
        assert_eq!(
            rule_names(json!({"name": "a", "type": "bad", "condition": "contains", "values": [0]})),
            ["INVALID_TYPE"]
        );
        assert_eq!(
            rule_names(json!({"name": "a", "type": 3, "condition": "==", "values": [0]})),
            ["INVALID_TYPE"]
        );
    }

    #[test]
    fn value_errors_and_coercion() {
        assert_eq!(
            rule_names(json!({"name": "a", "type": "integer", "condition": "<", "values": ["not a number"]})),
            ["VALUE_ERROR"]
        );
        assert_eq!(
            rule_names(json!({"name": "a", "type": "integer", "condition": "<", "values": ["1.5"]})),
            ["VALUE_ERROR"]
        );
        assert_eq!(
            rule_names(json!({"name": "a", "type": "number", "condition": "in", "values": ["x", null, true, [1]]}))
                .len(),
            4
        );
        assert_eq!(
            rule_names(json!({"name": "a", "type": "number", "condition": "<", "values": ["nan"]})),
            ["VALUE_ERROR"]
        );
        let f = ok(json!({"name": "a", "type": "integer", "condition": "in", "values": [" 12 ", -3.7, 4]}));
        assert_eq!(Value::Array(f.values).to_string(), "[12,-3,4]");
        let f = ok(json!({"name": "a", "type": "number", "condition": "in", "values": ["1e3", 2, 0.5]}));
        assert_eq!(Value::Array(f.values).to_string(), "[1000.0,2.0,0.5]");
        let f = ok(json!({"name": "a", "type": "string", "condition": "==", "values": [5]}));
        assert_eq!(f.values, vec![json!(5)]);
    }

    #[test]
    fn shape_problems_are_schema_issues() {
        let parsed = parse_data_filter(
            &json!({"filters": [{"name": 1, "type": "string", "condition": "==", "values": "x", "extra": 1}], "all": "yes"}),
            "c",
        );
        let text = parsed.issues.list.join("|");
        assert!(
            text.contains("('extra' was unexpected)") && text.contains("'x' is not of type 'array'"),
            "{text}"
        );
        assert!(
            text.contains("1 is not of type 'string'") && text.contains("'yes' is not of type 'boolean'"),
            "{text}"
        );
        assert!(parsed.filter.is_none());
        let parsed = parse_data_filter(&json!({"version": "3"}), "c");
        assert_eq!(
            parsed.rules.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            ["INVALID_DATA_FILTER"]
        );
    }

    #[test]
    fn defaults_and_equality() {
        let parsed = parse_data_filter(&json!({}), "c");
        assert_eq!(parsed.filter, Some(DataFilter::default()));
        assert_eq!(
            DataFilter::default().to_json(),
            json!({"version": "7", "filters": [], "all": true})
        );
        let a = ok(json!({"name": "a", "type": "number", "condition": "<", "values": [1]}));
        let b = ok(json!({"name": "a", "type": "number", "condition": "<", "values": ["1.0"]}));
        let c = ok(json!({"name": "a", "type": "number", "condition": "<", "values": [2]}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let full = ok(
            json!({"name": "a", "type": "object", "condition": "==", "values": [1], "fields": [["k"]], "all_fields": false, "all_files": true}),
        );
        assert_eq!(full.to_json()["all_fields"], json!(false));
        assert_eq!(full.to_json()["fields"], json!([["k"]]));
        assert!(a.to_json().get("fields").is_none());
    }
}
