//! Data interfaces (`{files, json}`), their JSON form, and the rules for
//! connecting one parameter to another.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::schema::{Issues, raw, show};
use super::{Message, SCHEMA_VERSION, names};

/// The JSON types a json parameter may declare.
pub const JSON_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileParameter {
    pub name: String,
    pub media_types: Vec<String>,
    pub required: bool,
    pub multiple: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonParameter {
    pub name: String,
    /// `None` accepts any JSON type (Brigade job types whose schema property
    /// has no single type); it is compatible with every type.
    pub json_type: Option<String>,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    pub files: Vec<FileParameter>,
    pub json: Vec<JsonParameter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter<'a> {
    File(&'a FileParameter),
    Json(&'a JsonParameter),
}

impl<'a> Parameter<'a> {
    pub fn name(&self) -> &'a str {
        match self {
            Parameter::File(p) => &p.name,
            Parameter::Json(p) => &p.name,
        }
    }

    pub fn required(&self) -> bool {
        match self {
            Parameter::File(p) => p.required,
            Parameter::Json(p) => p.required,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Parameter::File(_) => "file",
            Parameter::Json(_) => "json",
        }
    }
}

/// One failed connection check, before the graph code words it for a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ConnIssue {
    pub(super) code: &'static str,
    pub(super) description: String,
    /// Set for "Parameter 'X' is required" (nothing connected to X).
    pub(super) missing: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct ConnCheck {
    pub(super) errors: Vec<ConnIssue>,
    pub(super) warnings: Vec<Message>,
}

impl Interface {
    /// Files first, then json, each in declaration order.
    pub fn parameters(&self) -> impl Iterator<Item = Parameter<'_>> {
        self.files
            .iter()
            .map(Parameter::File)
            .chain(self.json.iter().map(Parameter::Json))
    }

    pub fn parameter(&self, name: &str) -> Option<Parameter<'_>> {
        self.parameters().find(|p| p.name() == name)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.json.is_empty()
    }

    /// Adds a copy of `param` under another name (the node input it feeds).
    pub(super) fn push_renamed(&mut self, param: Parameter<'_>, name: &str) {
        match param {
            Parameter::File(p) => self.files.push(FileParameter {
                name: name.to_owned(),
                ..p.clone()
            }),
            Parameter::Json(p) => self.json.push(JsonParameter {
                name: name.to_owned(),
                ..p.clone()
            }),
        }
    }

    /// A copy with the named parameters made required.
    pub(super) fn with_required(&self, names: &[&str]) -> Interface {
        let mut out = self.clone();
        for p in &mut out.files {
            p.required |= names.contains(&p.name.as_str());
        }
        for p in &mut out.json {
            p.required |= names.contains(&p.name.as_str());
        }
        out
    }

    pub fn to_json(&self, with_version: bool) -> Value {
        let files: Vec<Value> = self
            .files
            .iter()
            .map(|p| json!({"name": p.name, "media_types": p.media_types, "required": p.required, "multiple": p.multiple}))
            .collect();
        let jsons: Vec<Value> = self
            .json
            .iter()
            .map(|p| {
                let mut m = Map::new();
                m.insert("name".into(), Value::from(p.name.clone()));
                if let Some(t) = &p.json_type {
                    m.insert("type".into(), Value::from(t.clone()));
                }
                m.insert("required".into(), Value::from(p.required));
                Value::Object(m)
            })
            .collect();
        let mut out = Map::new();
        if with_version {
            out.insert("version".into(), Value::from(SCHEMA_VERSION));
        }
        out.insert("files".into(), Value::Array(files));
        out.insert("json".into(), Value::Array(jsons));
        Value::Object(out)
    }

    /// Can `connecting` (named by this interface's parameter names) feed this
    /// interface? Parameters in `skip` are not checked (their source could
    /// not be resolved and was reported elsewhere); extra connecting
    /// parameters are ignored, as in Scale.
    pub(super) fn check_connection(&self, connecting: &Interface, skip: &BTreeSet<String>) -> ConnCheck {
        let mut check = ConnCheck::default();
        let mut sources = HashMap::new();
        for p in connecting.parameters() {
            sources.entry(p.name()).or_insert(p);
        }
        for target in self.parameters() {
            if skip.contains(target.name()) {
                continue;
            }
            match sources.get(target.name()).copied() {
                Some(source) => check_parameter(target, source, &mut check),
                None if target.required() => check.errors.push(ConnIssue {
                    code: "PARAM_REQUIRED",
                    description: format!("Parameter '{}' is required", target.name()),
                    missing: Some(target.name().to_owned()),
                }),
                None => {}
            }
        }
        check
    }
}

fn issue(code: &'static str, description: String) -> ConnIssue {
    ConnIssue {
        code,
        description,
        missing: None,
    }
}

fn check_parameter(target: Parameter<'_>, source: Parameter<'_>, check: &mut ConnCheck) {
    let name = target.name();
    if target.kind() != source.kind() {
        let d = format!(
            "Parameter '{name}' of type '{}' cannot accept type '{}'",
            target.kind(),
            source.kind()
        );
        check.errors.push(issue("MISMATCHED_PARAM_TYPE", d));
        return;
    }
    if target.required() && !source.required() {
        let d = format!("Parameter '{name}' is required and cannot accept an optional value");
        check.errors.push(issue("PARAM_REQUIRED", d));
    }
    match (target, source) {
        (Parameter::File(t), Parameter::File(s)) => {
            if !t.multiple && s.multiple {
                let d = format!("Parameter '{name}' cannot accept multiple files");
                check.errors.push(issue("NO_MULTIPLE_FILES", d));
            }
            let odd: Vec<&str> = s
                .media_types
                .iter()
                .filter(|m| !t.media_types.contains(m))
                .map(String::as_str)
                .collect();
            if !odd.is_empty() {
                let d = format!("Parameter '{name}' might not accept [{}]", odd.join(", "));
                check.warnings.push(Message::new(names::MISMATCHED_MEDIA_TYPES, d));
            }
        }
        (Parameter::Json(t), Parameter::Json(s)) => {
            if let (Some(tt), Some(st)) = (&t.json_type, &s.json_type)
                && tt != st
            {
                let d = format!("Parameter '{name}' of JSON type '{tt}' cannot accept JSON type '{st}'");
                check.errors.push(issue("MISMATCHED_JSON_TYPE", d));
            }
        }
        _ => {}
    }
}

/// An interface parsed from JSON together with what went wrong.
pub(super) struct ParsedInterface {
    pub(super) interface: Interface,
    /// Shape problems (Scale's schema errors).
    pub(super) issues: Issues,
    /// `"X is an unsupported version number"`.
    pub(super) bad_version: Option<String>,
    /// `DUPLICATE_INPUT` messages.
    pub(super) duplicates: Vec<Message>,
}

fn name_ok(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
}

/// Parses an interface object. With `defaults`, missing `files`/`json` and
/// item fields take Scale's defaults (the recipe input); without, every
/// field must be present (a condition node's interface).
pub(super) fn parse_interface(v: &Value, context: &str, defaults: bool) -> ParsedInterface {
    let mut out = ParsedInterface {
        interface: Interface::default(),
        issues: Issues::new(context),
        bad_version: None,
        duplicates: Vec::new(),
    };
    let Some(map) = out.issues.object(v) else {
        return out;
    };
    out.issues.allow_keys(map, &["version", "files", "json"]);
    match map.get("version") {
        Some(Value::String(s)) if s == "6" || s == "7" => {}
        Some(other) => out.bad_version = Some(format!("{} is an unsupported version number", raw(other))),
        None => {}
    }
    let empty = Vec::new();
    let files = list(map, "files", defaults, &mut out.issues).unwrap_or(&empty);
    let jsons = list(map, "json", defaults, &mut out.issues).unwrap_or(&empty);
    let mut seen = BTreeSet::new();
    for item in files {
        if let Some(p) = parse_file(item, defaults, &mut out.issues) {
            note_name(&p.name, &mut seen, &mut out.duplicates);
            out.interface.files.push(p);
        }
    }
    for item in jsons {
        if let Some(p) = parse_json(item, defaults, &mut out.issues) {
            note_name(&p.name, &mut seen, &mut out.duplicates);
            out.interface.json.push(p);
        }
    }
    out
}

fn list<'a>(map: &'a Map<String, Value>, key: &str, defaults: bool, issues: &mut Issues) -> Option<&'a Vec<Value>> {
    let v = if defaults {
        map.get(key)?
    } else {
        issues.require(map, key)?
    };
    issues.array(v)
}

fn note_name(name: &str, seen: &mut BTreeSet<String>, duplicates: &mut Vec<Message>) {
    if !seen.insert(name.to_owned()) {
        duplicates.push(Message::new(
            names::DUPLICATE_INPUT,
            format!("Duplicate parameter '{name}'"),
        ));
    }
}

fn param_name(map: &Map<String, Value>, issues: &mut Issues) -> Option<String> {
    let name = issues.req_string(map, "name")?;
    if !name_ok(&name) {
        issues.push(format!("'{name}' does not match '^[a-zA-Z_-]+$'"));
        return None;
    }
    Some(name)
}

fn field_bool(map: &Map<String, Value>, key: &str, defaults: bool, default: bool, issues: &mut Issues) -> Option<bool> {
    if defaults {
        issues.opt_bool(map, key, default)
    } else {
        issues.req_bool(map, key)
    }
}

fn parse_file(item: &Value, defaults: bool, issues: &mut Issues) -> Option<FileParameter> {
    let map = issues.object(item)?;
    let before = issues.list.len();
    issues.allow_keys(map, &["name", "media_types", "required", "multiple"]);
    let name = param_name(map, issues);
    let media = match map.get("media_types") {
        None if defaults => Some(Vec::new()),
        None => issues.require(map, "media_types").map(|_| Vec::new()),
        Some(v) => {
            let mut types = Vec::new();
            for t in issues.array(v).map(Vec::as_slice).unwrap_or_default() {
                types.extend(issues.string(t));
            }
            Some(types)
        }
    };
    let required = field_bool(map, "required", defaults, true, issues);
    let multiple = field_bool(map, "multiple", defaults, false, issues);
    if issues.list.len() != before {
        return None;
    }
    Some(FileParameter {
        name: name?,
        media_types: media?,
        required: required?,
        multiple: multiple?,
    })
}

fn parse_json(item: &Value, defaults: bool, issues: &mut Issues) -> Option<JsonParameter> {
    let map = issues.object(item)?;
    let before = issues.list.len();
    issues.allow_keys(map, &["name", "type", "required"]);
    let name = param_name(map, issues);
    let json_type = match issues.require(map, "type") {
        Some(Value::String(t)) if JSON_TYPES.contains(&t.as_str()) => Some(t.clone()),
        Some(other) => {
            issues.push(format!("{} is not one of {:?}", show(other), JSON_TYPES));
            None
        }
        None => None,
    };
    let required = field_bool(map, "required", defaults, true, issues);
    if issues.list.len() != before {
        return None;
    }
    Some(JsonParameter {
        name: name?,
        json_type: Some(json_type?),
        required: required?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, media: &[&str], required: bool, multiple: bool) -> FileParameter {
        FileParameter {
            name: name.into(),
            media_types: media.iter().map(std::string::ToString::to_string).collect(),
            required,
            multiple,
        }
    }

    fn jp(name: &str, t: Option<&str>, required: bool) -> JsonParameter {
        JsonParameter {
            name: name.into(),
            json_type: t.map(str::to_owned),
            required,
        }
    }

    fn codes(target: &Interface, source: &Interface) -> Vec<&'static str> {
        target
            .check_connection(source, &BTreeSet::new())
            .errors
            .iter()
            .map(|e| e.code)
            .collect()
    }

    #[test]
    fn defaults_fill_in_for_the_recipe_input() {
        let p = parse_interface(
            &json!({"files": [{"name": "f"}], "json": [{"name": "j", "type": "integer"}]}),
            "input",
            true,
        );
        assert!(p.issues.is_empty() && p.bad_version.is_none() && p.duplicates.is_empty());
        assert_eq!(p.interface.files, vec![file("f", &[], true, false)]);
        assert_eq!(p.interface.json, vec![jp("j", Some("integer"), true)]);
        let empty = parse_interface(&json!({}), "input", true);
        assert!(empty.issues.is_empty() && empty.interface.is_empty());
    }

    #[test]
    fn strict_interfaces_need_every_field() {
        let p = parse_interface(&json!({"files": [{"name": "f"}]}), "c", false);
        let text = p.issues.list.join("|");
        assert!(text.contains("'json' is a required property"), "{text}");
        assert!(text.contains("'media_types' is a required property"), "{text}");
        assert!(text.contains("'multiple' is a required property"), "{text}");
    }

    #[test]
    fn shape_problems_are_reported() {
        let p = parse_interface(
            &json!({"files": [{"name": "f1"}], "json": [{"name": "j", "type": "date"}, {"name": "k", "type": "string", "x": 1}], "extra": 1}),
            "input",
            true,
        );
        let text = p.issues.list.join("|");
        assert!(text.contains("'f1' does not match"), "{text}");
        assert!(text.contains("'date' is not one of"), "{text}");
        assert!(text.contains("('x' was unexpected)"), "{text}");
        assert!(text.contains("('extra' was unexpected)"), "{text}");
        assert!(p.interface.is_empty());
    }

    #[test]
    fn version_and_duplicates() {
        let p = parse_interface(
            &json!({"version": "5", "files": [{"name": "a"}], "json": [{"name": "a", "type": "string"}]}),
            "input",
            true,
        );
        assert_eq!(p.bad_version.as_deref(), Some("5 is an unsupported version number"));
        assert_eq!(p.duplicates.len(), 1);
        assert_eq!(p.duplicates[0].name, "DUPLICATE_INPUT");
        assert!(
            parse_interface(&json!({"version": "6"}), "input", true)
                .bad_version
                .is_none()
        );
        assert!(
            parse_interface(&json!({"version": 7}), "input", true)
                .bad_version
                .is_some()
        );
    }

    #[test]
    fn connection_rules() {
        let target = Interface {
            files: vec![file("f", &["image/png"], true, false)],
            json: vec![jp("j", Some("integer"), true)],
        };
        let same = target.clone();
        assert!(codes(&target, &same).is_empty());

        let swapped = Interface {
            files: vec![],
            json: vec![jp("f", Some("string"), true), jp("j", Some("integer"), true)],
        };
        assert_eq!(codes(&target, &swapped), vec!["MISMATCHED_PARAM_TYPE"]);

        let optional = Interface {
            files: vec![file("f", &["image/png"], false, false)],
            json: vec![jp("j", Some("integer"), false)],
        };
        assert_eq!(codes(&target, &optional), vec!["PARAM_REQUIRED", "PARAM_REQUIRED"]);

        let multi = Interface {
            files: vec![file("f", &["image/png"], true, true)],
            json: vec![jp("j", Some("number"), true)],
        };
        assert_eq!(
            codes(&target, &multi),
            vec!["NO_MULTIPLE_FILES", "MISMATCHED_JSON_TYPE"]
        );

        let missing = Interface::default();
        let check = target.check_connection(&missing, &BTreeSet::new());
        assert_eq!(check.errors[0].missing.as_deref(), Some("f"));
        assert_eq!(check.errors[0].description, "Parameter 'f' is required");
        let skip: BTreeSet<String> = ["f".to_owned(), "j".to_owned()].into();
        assert!(target.check_connection(&missing, &skip).errors.is_empty());
    }

    #[test]
    fn any_json_type_is_compatible_both_ways() {
        let typed = Interface {
            files: vec![],
            json: vec![jp("j", Some("integer"), true)],
        };
        let any = Interface {
            files: vec![],
            json: vec![jp("j", None, true)],
        };
        assert!(codes(&typed, &any).is_empty());
        assert!(codes(&any, &typed).is_empty());
    }

    #[test]
    fn media_type_warning_even_for_an_empty_target_list() {
        let target = Interface {
            files: vec![file("f", &[], true, true)],
            json: vec![],
        };
        let source = Interface {
            files: vec![file("f", &["a/b", "c/d"], true, false)],
            json: vec![],
        };
        let check = target.check_connection(&source, &BTreeSet::new());
        assert!(check.errors.is_empty());
        assert_eq!(
            check.warnings,
            vec![Message::new(
                "MISMATCHED_MEDIA_TYPES",
                "Parameter 'f' might not accept [a/b, c/d]"
            )]
        );
    }

    #[test]
    fn json_form_round_trips() {
        let iface = Interface {
            files: vec![file("f", &["x/y"], false, true)],
            json: vec![jp("j", Some("object"), false)],
        };
        let v = iface.to_json(true);
        assert_eq!(v["version"], json!("7"));
        let back = parse_interface(&v, "c", false);
        assert!(back.issues.is_empty());
        assert_eq!(back.interface, iface);
        assert!(iface.to_json(false).get("version").is_none());
    }
}
