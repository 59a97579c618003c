//! JSON Schema handling, behind one small module because the `jsonschema` API
//! changes between releases.
//!
//! Draft-04 semantics unless the schema names another draft in `$schema`.
//! Remote `$ref` is never fetched: the crate is built without its HTTP and file
//! resolvers, so such a reference fails compilation with a clear message.
//! `pattern` uses the linear-time regex engine with size limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonschema::{Draft, PatternOptions, Validator};
use serde_json::Value;

/// Limits that keep a hostile schema from burning memory or CPU.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
const MAX_SCHEMA_DEPTH: usize = 64;
/// At most this many violations are reported for one document.
const MAX_REPORTED_ERRORS: usize = 100;

fn declares_draft(schema: &Value) -> bool {
    schema.get("$schema").is_some()
}

/// Depth of nested arrays/objects, to refuse absurdly deep schemas early.
pub fn depth(value: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    max
}

/// Checks a schema against its meta-schema and compiles it. The error names the problem.
pub fn compile(schema: &Value) -> Result<Validator, String> {
    if !schema.is_object() {
        return Err("a schema must be a JSON object".to_owned());
    }
    if depth(schema) > MAX_SCHEMA_DEPTH {
        return Err(format!("schema is nested deeper than {MAX_SCHEMA_DEPTH} levels"));
    }
    let meta = if declares_draft(schema) {
        jsonschema::meta::validate(schema)
    } else {
        jsonschema::draft4::meta::validate(schema)
    };
    if let Err(e) = meta {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() {
            "the schema root".to_owned()
        } else {
            format!("'{at}'")
        };
        return Err(format!("invalid JSON schema at {at}: {e}"));
    }
    let mut options = jsonschema::options()
        .should_validate_formats(false)
        .with_pattern_options(
            PatternOptions::regex()
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT),
        );
    if !declares_draft(schema) {
        options = options.with_draft(Draft::Draft4);
    }
    options.build(schema).map_err(|e| format!("invalid JSON schema: {e}"))
}

/// Every violation of `instance`, each as its own message.
pub fn violations(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .take(MAX_REPORTED_ERRORS)
        .map(|e| {
            let path = e.instance_path().to_string();
            let context = if path.is_empty() {
                "[]".to_owned()
            } else {
                format!("'{path}'")
            };
            format!("Validation of schema {context} threw error {e}")
        })
        .collect()
}

/// Compiled validators per (service id, revision, which schema).
#[derive(Default)]
pub struct SchemaCache {
    entries: Mutex<HashMap<(String, i64, SchemaKind), Arc<Validator>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    Registration,
    Result,
}

/// Bound on cached validators; the cache is simply emptied past it, which is
/// cheap compared with tracking recency and only costs recompilation.
const CACHE_CAPACITY: usize = 4096;

impl SchemaCache {
    /// A validator already compiled, without touching the database.
    pub fn cached(&self, service_id: &str, revision: i64, kind: SchemaKind) -> Option<Arc<Validator>> {
        self.lock().get(&(service_id.to_owned(), revision, kind)).cloned()
    }

    pub fn get_or_compile(
        &self,
        service_id: &str,
        revision: i64,
        kind: SchemaKind,
        schema_text: &str,
    ) -> Result<Arc<Validator>, String> {
        let key = (service_id.to_owned(), revision, kind);
        if let Some(v) = self.lock().get(&key) {
            return Ok(v.clone());
        }
        let schema: Value = serde_json::from_str(schema_text).map_err(|e| format!("stored schema is not JSON: {e}"))?;
        let validator = Arc::new(compile(&schema)?);
        let mut entries = self.lock();
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(key, validator.clone());
        Ok(validator)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i64, SchemaKind), Arc<Validator>>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejects_bogus_type() {
        let err = compile(&json!({"type": "bogus"})).err().unwrap_or_default();
        assert!(err.contains("invalid JSON schema"), "{err}");
    }

    #[test]
    fn draft4_is_default() {
        // exclusiveMaximum is a boolean in draft 4 and a number later.
        assert!(compile(&json!({"type": "number", "maximum": 5, "exclusiveMaximum": true})).is_ok());
        assert!(
            compile(&json!({"$schema": "http://json-schema.org/draft-07/schema#", "exclusiveMaximum": true})).is_err()
        );
    }

    #[test]
    fn reports_each_violation() {
        let v = compile(&json!({
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
            "required": ["a", "b", "c"]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let errors = violations(&v, &json!({"a": "x", "b": 1}));
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn remote_ref_is_not_fetched() {
        let err = compile(&json!({"$ref": "http://127.0.0.1:9/schema.json"}));
        assert!(err.is_err());
    }

    #[test]
    fn deep_schema_rejected() {
        let mut s = json!({"type": "object"});
        for _ in 0..100 {
            s = json!({"properties": {"x": s}});
        }
        assert!(compile(&s).err().unwrap_or_default().contains("deeper"));
    }
}
