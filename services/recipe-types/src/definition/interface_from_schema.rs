//! A job type's interface as recipe definitions see it, derived from one of
//! its revision's JSON Schemas (PRODUCT.md §2): one parameter per top-level
//! property; `{"type":"string","format":"uri"}` is a file, an array of those is
//! a multiple file, `contentMediaType` gives the media types; anything else is
//! json with its JSON type (none when the property has no single type);
//! `required` comes from the schema.

use serde_json::Value;

use super::{FileParameter, Interface, JsonParameter};

/// The interface one schema declares; a schema without `properties` declares none.
pub fn interface_from_schema(schema: &Value) -> Interface {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut interface = Interface::default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return interface;
    };
    for (name, property) in properties {
        let required = required.contains(&name.as_str());
        match file_kind(property) {
            Some((multiple, media_types)) => interface.files.push(FileParameter {
                name: name.clone(),
                media_types,
                required,
                multiple,
            }),
            None => interface.json.push(JsonParameter {
                name: name.clone(),
                json_type: json_type(property),
                required,
            }),
        }
    }
    interface
}

fn is_uri_string(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("string") && v.get("format").and_then(Value::as_str) == Some("uri")
}

fn media_types(v: &Value) -> Vec<String> {
    v.get("contentMediaType")
        .and_then(Value::as_str)
        .map(|m| vec![m.to_owned()])
        .unwrap_or_default()
}

/// `(multiple, media types)` when the property is a file parameter.
fn file_kind(property: &Value) -> Option<(bool, Vec<String>)> {
    if is_uri_string(property) {
        return Some((false, media_types(property)));
    }
    if property.get("type").and_then(Value::as_str) == Some("array")
        && let Some(items) = property.get("items").filter(|i| is_uri_string(i))
    {
        return Some((true, media_types(items)));
    }
    None
}

fn json_type(property: &Value) -> Option<String> {
    match property.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Array(ts)) if ts.len() == 1 => ts[0].as_str().map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derives_files_and_json() {
        let schema = json!({
            "type": "object",
            "properties": {
                "image": {"type": "string", "format": "uri", "contentMediaType": "image/png"},
                "frames": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "count": {"type": "integer"},
                "anything": {},
                "2theta": {"type": ["number"]},
                "either": {"type": ["number", "string"]}
            },
            "required": ["image", "count"]
        });
        let interface = interface_from_schema(&schema);
        assert_eq!(
            interface.files,
            vec![
                FileParameter {
                    name: "image".into(),
                    media_types: vec!["image/png".into()],
                    required: true,
                    multiple: false,
                },
                FileParameter {
                    name: "frames".into(),
                    media_types: vec![],
                    required: false,
                    multiple: true,
                },
            ]
        );
        let json: Vec<(&str, Option<&str>, bool)> = interface
            .json
            .iter()
            .map(|p| (p.name.as_str(), p.json_type.as_deref(), p.required))
            .collect();
        assert_eq!(
            json,
            vec![
                ("count", Some("integer"), true),
                ("anything", None, false),
                ("2theta", Some("number"), false),
                ("either", None, false),
            ]
        );
    }

    #[test]
    fn array_of_plain_strings_is_json_and_no_properties_is_empty() {
        let schema = json!({"properties": {"tags": {"type": "array", "items": {"type": "string"}}}});
        let interface = interface_from_schema(&schema);
        assert!(interface.files.is_empty());
        assert_eq!(interface.json[0].json_type.as_deref(), Some("array"));
        assert!(interface_from_schema(&json!({"type": "object"})).is_empty());
        assert!(interface_from_schema(&json!(true)).is_empty());
    }
}
