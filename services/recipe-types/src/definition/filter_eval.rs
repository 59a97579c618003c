//! Evaluating a data filter against a condition node's data (Scale's
//! `DataFilter.is_data_accepted`).

use serde_json::{Map, Value};

use super::filter::{DataFilter, Filter, FilterType};

/// What a file-type filter looks at. Fields left `None` are unknown, and a
/// filter that needs them fails.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileInfo {
    pub file_name: String,
    pub media_type: Option<String>,
    pub data_type_tags: Option<Vec<String>>,
    pub meta_data: Option<Value>,
}

impl FileInfo {
    /// What a bare file URI tells us: only its file name (last path
    /// segment, without query or fragment).
    pub fn from_uri(uri: &str) -> FileInfo {
        let path = uri.split(['?', '#']).next().unwrap_or_default();
        let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        FileInfo {
            file_name: name.to_owned(),
            ..FileInfo::default()
        }
    }
}

/// Whether `data` (node input name → JSON value) passes the filter.
///
/// JSON filters (`string`, `integer`, `number`, `boolean`, `object`) apply
/// to the value itself. File filters need file details that plain JSON
/// data lacks: a file value here is a URI string or a list of them, so
/// `filename` filters use the URIs' last path segments, while `media-type`,
/// `data-type` and `meta-data` filters fail (as a Scale file filter fails
/// on data it cannot read). Use [`is_data_accepted_with_files`] to supply
/// file details.
pub fn is_data_accepted(filter: &DataFilter, data: &Map<String, Value>) -> bool {
    is_data_accepted_with_files(filter, data, &uri_files)
}

fn uri_files(_name: &str, value: &Value) -> Option<Vec<FileInfo>> {
    match value {
        Value::String(uri) => Some(vec![FileInfo::from_uri(uri)]),
        Value::Array(items) => items.iter().map(|v| v.as_str().map(FileInfo::from_uri)).collect(),
        _ => None,
    }
}

/// [`is_data_accepted`] with a resolver from (parameter name, value) to the
/// files it holds; `None` means the value is not a file value.
///
/// Combining follows Scale: with `all` the first failing filter rejects,
/// without it the first passing filter accepts; an empty filter list
/// accepts, and a filter whose parameter is absent from the data fails.
pub fn is_data_accepted_with_files(
    filter: &DataFilter,
    data: &Map<String, Value>,
    files: &dyn Fn(&str, &Value) -> Option<Vec<FileInfo>>,
) -> bool {
    let mut success = true;
    for f in &filter.filters {
        let passed = data.get(&f.name).is_some_and(|value| passes(f, value, files));
        if passed && !filter.all {
            return true;
        }
        if !passed && filter.all {
            return false;
        }
        success &= passed;
    }
    success
}

fn passes(f: &Filter, value: &Value, files: &dyn Fn(&str, &Value) -> Option<Vec<FileInfo>>) -> bool {
    let all_files = f.all_files.unwrap_or(false);
    match f.filter_type {
        FilterType::Filename | FilterType::MediaType | FilterType::DataType => {
            let Some(infos) = files(&f.name, value) else {
                return false;
            };
            let Some(strings) = file_strings(f.filter_type, &infos) else {
                return false;
            };
            // Scale tries the whole list first (for `contains`), then each file.
            f.condition.test(&Value::Array(strings.clone()), &f.values)
                || each(&strings, all_files, |s| f.condition.test(s, &f.values))
        }
        FilterType::MetaData => {
            let Some(infos) = files(&f.name, value) else {
                return false;
            };
            let Some(metas) = infos.into_iter().map(|i| i.meta_data).collect::<Option<Vec<_>>>() else {
                return false;
            };
            match &f.fields {
                Some(_) => each(&metas, all_files, |m| fields_pass(f, m)),
                None => {
                    f.condition.test(&Value::Array(metas.clone()), &f.values)
                        || each(&metas, all_files, |m| f.condition.test(m, &f.values))
                }
            }
        }
        FilterType::Object if f.fields.is_some() => fields_pass(f, value),
        _ => f.condition.test(value, &f.values),
    }
}

fn file_strings(t: FilterType, infos: &[FileInfo]) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    for info in infos {
        match t {
            FilterType::Filename => out.push(Value::from(info.file_name.clone())),
            FilterType::MediaType => out.push(Value::from(info.media_type.clone()?)),
            _ => out.extend(info.data_type_tags.clone()?.into_iter().map(Value::from)),
        }
    }
    Some(out)
}

/// Every item (`all`, vacuously true when empty) or any item.
fn each(items: &[Value], all: bool, test: impl Fn(&Value) -> bool) -> bool {
    if all {
        items.iter().all(test)
    } else {
        items.iter().any(test)
    }
}

/// `fields[i]` is looked up in `obj` and tested against `values[i]` (a list
/// value is used as the condition's value list, anything else as a single
/// value). Scale passes the whole `values` list for objects and indexes a
/// single value for meta-data; pairing is what `validate_filter`'s
/// equal-length rule intends. `all_fields` defaults to true, as documented.
fn fields_pass(f: &Filter, obj: &Value) -> bool {
    let Some(fields) = &f.fields else {
        return false;
    };
    let mut results = fields.iter().zip(&f.values).map(|(path, expected)| {
        let item = lookup(obj, path);
        let values = match expected {
            Value::Array(list) => list.as_slice(),
            one => std::slice::from_ref(one),
        };
        f.condition.test(&item, values)
    });
    if f.all_fields.unwrap_or(true) {
        results.all(|r| r)
    } else {
        results.any(|r| r)
    }
}

/// A missing key (or a non-object on the way) gives null, like Scale's None.
fn lookup(obj: &Value, path: &[String]) -> Value {
    let mut cur = obj;
    for key in path {
        match cur.get(key.as_str()) {
            Some(next) => cur = next,
            None => return Value::Null,
        }
    }
    cur.clone()
}

#[cfg(test)]
mod tests {
    use super::super::filter_rules::parse_data_filter;
    use super::*;
    use serde_json::json;

    fn filter(v: Value) -> DataFilter {
        let parsed = parse_data_filter(&v, "c");
        match parsed.filter {
            Some(f) => f,
            None => panic!("bad filter {v}: {:?} {:?}", parsed.rules, parsed.issues.list),
        }
    }

    fn one(entry: Value) -> DataFilter {
        filter(json!({"filters": [entry]}))
    }

    fn data(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn accepts(f: &DataFilter, d: Value) -> bool {
        is_data_accepted(f, &data(d))
    }

    fn check(t: &str, c: &str, values: Value, pass: Value, fail: Value) {
        let f = one(json!({"name": "x", "type": t, "condition": c, "values": values}));
        assert!(
            accepts(&f, json!({ "x": pass.clone() })),
            "{t} {c} should accept {pass}"
        );
        assert!(
            !accepts(&f, json!({ "x": fail.clone() })),
            "{t} {c} should reject {fail}"
        );
    }

    #[test]
    fn number_conditions() {
        check("integer", "<", json!([5]), json!(4), json!(5));
        check("integer", "<=", json!([5]), json!(5), json!(6));
        check("integer", ">", json!(["5"]), json!(5.5), json!(5));
        check("integer", ">=", json!([5]), json!(5), json!(4.9));
        check("integer", "==", json!([5]), json!(5.0), json!(6));
        check("integer", "!=", json!([5]), json!(6), json!(5));
        check("number", "between", json!([0, 100]), json!(50), json!(101));
        check("number", "between", json!([0, 100]), json!(0), json!(-1));
        check("integer", "in", json!([1, 2, 3]), json!(2), json!(4));
        check("integer", "not in", json!([1, 2, 3]), json!(4), json!(3));
        // A string is not a number: no comparison, no match.
        check("integer", ">", json!([0]), json!(10), json!("10"));
    }

    #[test]
    fn string_and_boolean_conditions() {
        check("string", "==", json!(["abc"]), json!("abc"), json!("abcd"));
        check("string", "!=", json!(["abc"]), json!("abd"), json!("abc"));
        check("string", "in", json!(["a", "b"]), json!("b"), json!("ab"));
        check("string", "not in", json!(["a", "b"]), json!("c"), json!("a"));
        check("string", "contains", json!(["abcde"]), json!("xabcdefg"), json!("abcd"));
        check("boolean", "==", json!([true]), json!(true), json!(false));
        check("boolean", "!=", json!([true]), json!(false), json!(true));
    }

    #[test]
    fn object_conditions() {
        check(
            "object",
            "subset of",
            json!([{"a": 1, "b": 2}]),
            json!({"a": 1.0}),
            json!({"a": 1, "c": 3}),
        );
        check(
            "object",
            "superset of",
            json!([{"a": 1}]),
            json!({"a": 1, "b": 2}),
            json!({"b": 2}),
        );
    }

    #[test]
    fn object_fields_pair_with_values() {
        let all = one(
            json!({"name": "x", "type": "object", "condition": "==", "values": [1, "v"], "fields": [["a", "b"], ["c"]]}),
        );
        assert!(accepts(&all, json!({"x": {"a": {"b": 1}, "c": "v"}})));
        assert!(!accepts(&all, json!({"x": {"a": {"b": 1}, "c": "w"}})));
        assert!(!accepts(&all, json!({"x": {"a": 5, "c": "v"}})));
        let any = one(
            json!({"name": "x", "type": "object", "condition": "==", "values": [1, "v"], "fields": [["a", "b"], ["c"]], "all_fields": false}),
        );
        assert!(accepts(&any, json!({"x": {"a": {"b": 1}, "c": "w"}})));
        assert!(!accepts(&any, json!({"x": {"a": {"b": 2}}})));
        let listed =
            one(json!({"name": "x", "type": "object", "condition": "between", "values": [[1, 3]], "fields": [["n"]]}));
        assert!(accepts(&listed, json!({"x": {"n": 2}})) && !accepts(&listed, json!({"x": {"n": 4}})));
    }

    #[test]
    fn combining_filters() {
        assert!(accepts(&filter(json!({})), json!({})));
        assert!(accepts(&filter(json!({"all": false})), json!({})));
        let entries = json!([
            {"name": "a", "type": "integer", "condition": ">", "values": [0]},
            {"name": "b", "type": "string", "condition": "==", "values": ["yes"]},
        ]);
        let all = filter(json!({"filters": entries.clone()}));
        let any = filter(json!({"all": false, "filters": entries}));
        assert!(accepts(&all, json!({"a": 1, "b": "yes"})));
        assert!(!accepts(&all, json!({"a": 1, "b": "no"})));
        assert!(!accepts(&all, json!({"a": 1})), "an absent parameter fails its filter");
        assert!(accepts(&any, json!({"a": 0, "b": "yes"})));
        assert!(accepts(&any, json!({"a": 1})));
        assert!(!accepts(&any, json!({"a": 0, "b": "no"})));
        assert!(!accepts(&any, json!({})));
    }

    #[test]
    fn file_filters_on_plain_json_data() {
        let by_name = one(json!({"name": "f", "type": "filename", "condition": "==", "values": ["scan.tif"]}));
        assert!(accepts(&by_name, json!({"f": "s3://bucket/dir/scan.tif?v=2"})));
        assert!(accepts(
            &by_name,
            json!({"f": ["file:///a/other.tif", "file:///b/scan.tif"]})
        ));
        assert!(!accepts(&by_name, json!({"f": "file:///b/other.tif"})));
        assert!(!accepts(&by_name, json!({"f": 5})));
        let by_media = one(json!({"name": "f", "type": "media-type", "condition": "==", "values": ["image/tiff"]}));
        assert!(
            !accepts(&by_media, json!({"f": "file:///b/scan.tif"})),
            "no media type is known"
        );
        let by_meta = one(json!({"name": "f", "type": "meta-data", "condition": "subset of", "values": [{}]}));
        assert!(!accepts(&by_meta, json!({"f": "file:///b/scan.tif"})));
    }

    fn resolver(_name: &str, value: &Value) -> Option<Vec<FileInfo>> {
        let infos = value.as_array()?.iter().map(|v| {
            let name = v.as_str().unwrap_or_default();
            FileInfo {
                file_name: name.to_owned(),
                media_type: Some(
                    if name.ends_with(".json") {
                        "application/json"
                    } else {
                        "image/png"
                    }
                    .to_owned(),
                ),
                data_type_tags: Some(vec![format!("tag-{name}")]),
                meta_data: Some(json!({"a": {"b": if name.ends_with(".json") { "foo" } else { "bar" }}})),
            }
        });
        Some(infos.collect())
    }

    fn accepts_files(f: &DataFilter, d: Value) -> bool {
        is_data_accepted_with_files(f, &data(d), &resolver)
    }

    #[test]
    fn file_filters_with_file_details() {
        let media = one(json!({"name": "f", "type": "media-type", "condition": "==", "values": ["application/json"]}));
        assert!(accepts_files(&media, json!({"f": ["x.json", "y.png"]})));
        assert!(!accepts_files(&media, json!({"f": ["y.png"]})));
        let every = one(
            json!({"name": "f", "type": "media-type", "condition": "==", "values": ["application/json"], "all_files": true}),
        );
        assert!(!accepts_files(&every, json!({"f": ["x.json", "y.png"]})));
        assert!(accepts_files(&every, json!({"f": ["x.json", "z.json"]})));
        let tags = one(json!({"name": "f", "type": "data-type", "condition": "contains", "values": ["tag-y.png"]}));
        assert!(
            accepts_files(&tags, json!({"f": ["x.json", "y.png"]})),
            "contains is tried on the whole list"
        );
        let meta = one(
            json!({"name": "f", "type": "meta-data", "condition": "in", "values": [["foo", "baz"]], "fields": [["a", "b"]]}),
        );
        assert!(accepts_files(&meta, json!({"f": ["x.json"]})));
        assert!(!accepts_files(&meta, json!({"f": ["y.png"]})));
        let meta_all =
            one(json!({"name": "f", "type": "meta-data", "condition": "superset of", "values": [{"a": {"b": "foo"}}]}));
        assert!(accepts_files(&meta_all, json!({"f": ["y.png", "x.json"]})));
        assert!(!accepts_files(&meta_all, json!({"f": ["y.png"]})));
    }

    #[test]
    fn uri_file_names() {
        assert_eq!(FileInfo::from_uri("https://h/a/b.txt#frag").file_name, "b.txt");
        assert_eq!(FileInfo::from_uri("plain.txt").file_name, "plain.txt");
        assert_eq!(FileInfo::from_uri("s3://bucket/dir/").file_name, "dir");
    }
}
