//! A job type's interface as recipe definitions see it, derived from a service
//! revision's schemas (PRODUCT.md §2): one parameter per top-level property.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub kind: ParameterKind,
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParameterKind {
    File {
        multiple: bool,
        media_types: Vec<String>,
    },
    /// `None` accepts any JSON type.
    Json {
        json_type: Option<String>,
    },
}

/// The parameters declared by one schema.
pub fn parameters(schema: &Value) -> Vec<Parameter> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| Parameter {
            name: name.clone(),
            kind: kind_of(property),
            required: required.contains(&name.as_str()),
        })
        .collect()
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

fn kind_of(property: &Value) -> ParameterKind {
    if is_uri_string(property) {
        return ParameterKind::File {
            multiple: false,
            media_types: media_types(property),
        };
    }
    if property.get("type").and_then(Value::as_str) == Some("array")
        && let Some(items) = property.get("items").filter(|i| is_uri_string(i))
    {
        return ParameterKind::File {
            multiple: true,
            media_types: media_types(items),
        };
    }
    let json_type = match property.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Array(ts)) if ts.len() == 1 => ts[0].as_str().map(str::to_owned),
        _ => None,
    };
    ParameterKind::Json { json_type }
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
                "2theta": {"type": ["number"]}
            },
            "required": ["image", "count"]
        });
        let p = parameters(&schema);
        assert_eq!(p.len(), 5);
        assert_eq!(
            p[0],
            Parameter {
                name: "image".into(),
                kind: ParameterKind::File {
                    multiple: false,
                    media_types: vec!["image/png".into()]
                },
                required: true
            }
        );
        assert_eq!(
            p[1].kind,
            ParameterKind::File {
                multiple: true,
                media_types: vec![]
            }
        );
        assert!(!p[1].required);
        assert_eq!(
            p[2].kind,
            ParameterKind::Json {
                json_type: Some("integer".into())
            }
        );
        assert_eq!(p[3].kind, ParameterKind::Json { json_type: None });
        assert_eq!(p[4].name, "2theta");
        assert_eq!(
            p[4].kind,
            ParameterKind::Json {
                json_type: Some("number".into())
            }
        );
    }
}
