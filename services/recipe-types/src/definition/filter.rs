//! Data filters of condition nodes: the model, its normalised JSON form and
//! the condition operators. Parsing lives in `filter_rules`, evaluation in
//! `filter_eval`.

use serde_json::{Map, Value};

use super::SCHEMA_VERSION;
use super::schema::{json_cmp, json_eq};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterType {
    Boolean,
    Integer,
    Number,
    Object,
    String,
    Filename,
    MediaType,
    DataType,
    MetaData,
}

pub(super) const TYPE_NAMES: [(&str, Option<FilterType>); 10] = [
    ("array", None),
    ("boolean", Some(FilterType::Boolean)),
    ("integer", Some(FilterType::Integer)),
    ("number", Some(FilterType::Number)),
    ("object", Some(FilterType::Object)),
    ("string", Some(FilterType::String)),
    ("filename", Some(FilterType::Filename)),
    ("media-type", Some(FilterType::MediaType)),
    ("data-type", Some(FilterType::DataType)),
    ("meta-data", Some(FilterType::MetaData)),
];

impl FilterType {
    pub fn as_str(self) -> &'static str {
        TYPE_NAMES.iter().find(|(_, t)| *t == Some(self)).map_or("", |(n, _)| n)
    }

    pub(super) fn conditions(self) -> &'static [Condition] {
        use Condition::*;
        match self {
            FilterType::String | FilterType::Filename | FilterType::MediaType | FilterType::DataType => {
                &[Eq, Ne, In, NotIn, Contains]
            }
            FilterType::Integer | FilterType::Number => &[Lt, Le, Gt, Ge, Eq, Ne, Between, In, NotIn],
            FilterType::Boolean => &[Eq, Ne],
            FilterType::Object | FilterType::MetaData => &[SubsetOf, SupersetOf],
        }
    }

    pub(super) fn is_object(self) -> bool {
        matches!(self, FilterType::Object | FilterType::MetaData)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    Between,
    In,
    NotIn,
    Contains,
    SubsetOf,
    SupersetOf,
}

pub(super) const CONDITIONS: [(&str, Condition); 12] = [
    ("<", Condition::Lt),
    ("<=", Condition::Le),
    (">", Condition::Gt),
    (">=", Condition::Ge),
    ("==", Condition::Eq),
    ("!=", Condition::Ne),
    ("between", Condition::Between),
    ("in", Condition::In),
    ("not in", Condition::NotIn),
    ("contains", Condition::Contains),
    ("subset of", Condition::SubsetOf),
    ("superset of", Condition::SupersetOf),
];

impl Condition {
    pub fn as_str(self) -> &'static str {
        CONDITIONS.iter().find(|(_, c)| *c == self).map_or("", |(n, _)| n)
    }

    pub fn parse(s: &str) -> Option<Condition> {
        CONDITIONS.iter().find(|(n, _)| *n == s).map(|(_, c)| *c)
    }

    /// Applies the condition to one input value, as Scale's operator
    /// functions do: comparisons use `values[0]` (and `values[1]` for
    /// `between`); a missing value or incomparable types make it false.
    pub fn test(self, input: &Value, values: &[Value]) -> bool {
        let first = values.first();
        let ord = |v: Option<&Value>| v.and_then(|v| json_cmp(input, v));
        match self {
            Condition::Lt => ord(first).is_some_and(std::cmp::Ordering::is_lt),
            Condition::Le => ord(first).is_some_and(std::cmp::Ordering::is_le),
            Condition::Gt => ord(first).is_some_and(std::cmp::Ordering::is_gt),
            Condition::Ge => ord(first).is_some_and(std::cmp::Ordering::is_ge),
            Condition::Eq => first.is_some_and(|v| json_eq(input, v)),
            Condition::Ne => first.is_some_and(|v| !json_eq(input, v)),
            Condition::Between => {
                ord(first).is_some_and(std::cmp::Ordering::is_ge)
                    && ord(values.get(1)).is_some_and(std::cmp::Ordering::is_le)
            }
            Condition::In => values.iter().any(|v| json_eq(input, v)),
            Condition::NotIn => !values.iter().any(|v| json_eq(input, v)),
            Condition::Contains => values.iter().any(|v| contains(input, v)),
            Condition::SubsetOf => first.is_some_and(|v| is_subset(input, v)),
            Condition::SupersetOf => first.is_some_and(|v| is_subset(v, input)),
        }
    }
}

/// Python's `value in input`; a type that cannot be tested (Scale's
/// TypeError) simply does not match.
fn contains(input: &Value, value: &Value) -> bool {
    match (input, value) {
        (Value::String(s), Value::String(v)) => s.contains(v.as_str()),
        (Value::Array(items), v) => items.iter().any(|i| json_eq(i, v)),
        (Value::Object(map), Value::String(k)) => map.contains_key(k),
        _ => false,
    }
}

fn is_subset(small: &Value, big: &Value) -> bool {
    match (small, big) {
        (Value::Object(s), Value::Object(b)) => s.iter().all(|(k, v)| b.get(k).is_some_and(|w| json_eq(v, w))),
        _ => false,
    }
}

/// One validated filter. `values` are already coerced for integer and
/// number filters.
#[derive(Debug, Clone)]
pub struct Filter {
    pub name: String,
    pub filter_type: FilterType,
    pub condition: Condition,
    pub values: Vec<Value>,
    /// Key paths into an object (or file meta-data); `fields[i]` is compared
    /// with `values[i]`.
    pub fields: Option<Vec<Vec<String>>>,
    pub all_fields: Option<bool>,
    pub all_files: Option<bool>,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.filter_type == other.filter_type
            && self.condition == other.condition
            && self.values.len() == other.values.len()
            && self.values.iter().zip(&other.values).all(|(a, b)| json_eq(a, b))
            && self.fields == other.fields
            && self.all_fields == other.all_fields
            && self.all_files == other.all_files
    }
}

impl Filter {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::from(self.name.clone()));
        m.insert("type".into(), Value::from(self.filter_type.as_str()));
        m.insert("condition".into(), Value::from(self.condition.as_str()));
        m.insert("values".into(), Value::Array(self.values.clone()));
        if let Some(fields) = &self.fields {
            m.insert("fields".into(), Value::from(fields.clone()));
        }
        if let Some(b) = self.all_fields {
            m.insert("all_fields".into(), Value::from(b));
        }
        if let Some(b) = self.all_files {
            m.insert("all_files".into(), Value::from(b));
        }
        Value::Object(m)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataFilter {
    /// True: every filter must pass; false: one passing filter is enough.
    pub all: bool,
    pub filters: Vec<Filter>,
}

impl Default for DataFilter {
    fn default() -> Self {
        DataFilter {
            all: true,
            filters: Vec::new(),
        }
    }
}

impl DataFilter {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("version".into(), Value::from(SCHEMA_VERSION));
        m.insert(
            "filters".into(),
            Value::Array(self.filters.iter().map(Filter::to_json).collect()),
        );
        m.insert("all".into(), Value::from(self.all));
        Value::Object(m)
    }

    /// Names of the filtered parameters.
    pub fn filtered_names(&self) -> Vec<&str> {
        self.filters.iter().map(|f| f.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operators_match_scale_unit_tests() {
        let t = |c: &str, input: Value, values: Value| {
            let cond = Condition::parse(c).unwrap_or(Condition::Eq);
            cond.test(&input, values.as_array().map(Vec::as_slice).unwrap_or_default())
        };
        assert!(t("<", json!(0), json!([1])) && !t("<", json!(1), json!([0])) && !t("<", json!(1), json!([])));
        assert!(t("<=", json!(0), json!([0])) && !t("<=", json!(1), json!([0])) && !t("<=", json!(1), json!([])));
        assert!(t(">", json!(1), json!([0])) && !t(">", json!(0), json!([1])) && !t(">", json!(1), json!([])));
        assert!(t(">=", json!(1), json!([1])) && !t(">=", json!(0), json!([1])) && !t(">=", json!(1), json!([])));
        assert!(
            t("==", json!(1), json!([1.0]))
                && t("==", json!("1"), json!(["1"]))
                && !t("==", json!(0), json!([1]))
                && !t("==", json!(1), json!([]))
        );
        assert!(
            t("!=", json!(1), json!([0]))
                && t("!=", json!("1"), json!(["0"]))
                && !t("!=", json!(0), json!([0]))
                && !t("!=", json!(1), json!([]))
        );
        assert!(
            t("between", json!(1), json!([0, 10]))
                && !t("between", json!(10), json!([0, 5]))
                && !t("between", json!(1), json!([1]))
        );
        assert!(
            t("in", json!(1), json!([1]))
                && t("in", json!("1"), json!(["1"]))
                && !t("in", json!("1"), json!(["123"]))
                && !t("in", json!(4), json!([123]))
        );
        assert!(
            !t("not in", json!(1), json!([1]))
                && t("not in", json!("1"), json!(["123"]))
                && t("not in", json!(4), json!([123]))
        );
        assert!(
            !t("contains", json!(1), json!([1]))
                && t("contains", json!("1"), json!(["1"]))
                && !t("contains", json!("1"), json!(["123"]))
        );
        assert!(
            !t("contains", json!(["123"]), json!(["1"]))
                && t("contains", json!(["123"]), json!(["123"]))
                && t("contains", json!("123"), json!(["1"]))
        );
        assert!(t("contains", json!({"a": 1}), json!(["a"])) && !t("contains", json!({"a": {"b": 1}}), json!(["b"])));
        assert!(!t("contains", json!({"a": {"b": 1}}), json!([{"b": 1}])));
        assert!(
            !t("subset of", json!(1), json!([{"b": 1}]))
                && !t("subset of", json!({"b": 1}), json!([1]))
                && !t("subset of", json!({"b": 1}), json!([]))
        );
        assert!(
            !t("subset of", json!({"b": 1}), json!([{"a": 1, "b": 2}]))
                && t("subset of", json!({"b": 2}), json!([{"a": 1, "b": 2}]))
        );
        assert!(!t("superset of", json!(1), json!([{"b": 1}])) && !t("superset of", json!({"b": 1}), json!([])));
        assert!(
            !t("superset of", json!({"a": 1, "b": 2}), json!([{"b": 1}]))
                && t("superset of", json!({"a": 1, "b": 2}), json!([{"b": 2}]))
        );
        assert!(t("<", json!("abc"), json!(["abd"])) && !t("<", json!("1"), json!([2])));
    }

    #[test]
    fn names_round_trip() {
        for (name, c) in CONDITIONS {
            assert_eq!(Condition::parse(name), Some(c));
            assert_eq!(c.as_str(), name);
        }
        for (name, t) in TYPE_NAMES.iter().filter_map(|(n, t)| t.map(|t| (n, t))) {
            assert_eq!(t.as_str(), *name);
        }
    }
}
