//! The JSON schemas TopChef shows inline in `meta`, kept in one place.

use serde_json::{Value, json};

const DRAFT4: &str = "http://json-schema.org/draft-04/schema#";
pub const STATUSES: [&str; 4] = ["REGISTERED", "WORKING", "COMPLETED", "ERROR"];

fn readonly(title: &str, ty: &str) -> Value {
    json!({"readonly": true, "title": title, "type": ty})
}

fn readonly_uuid() -> Value {
    json!({"format": "uuid", "readonly": true, "title": "id", "type": "string"})
}

pub fn api_metadata() -> Value {
    let props: serde_json::Map<String, Value> = [
        "documentation_url",
        "maintainer_email",
        "maintainer_name",
        "source_code_repository_url",
        "version",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), readonly(k, "string")))
    .collect();
    json!({
        "$schema": DRAFT4,
        "description": "Describes the JSON schema for describing API metadata",
        "properties": props,
        "required": ["documentation_url", "maintainer_email", "maintainer_name", "source_code_repository_url", "version"],
        "title": "API Metadata",
        "type": "object"
    })
}

pub fn service_overview() -> Value {
    json!({
        "$schema": DRAFT4,
        "description": "The schema for each entry in the services list",
        "properties": {
            "description": readonly("description", "string"),
            "id": readonly_uuid(),
            "name": readonly("name", "string")
        },
        "required": ["description", "id", "name"],
        "title": "Service overview schema",
        "type": "object"
    })
}

pub fn new_service() -> Value {
    json!({
        "$schema": DRAFT4,
        "description": "The schema that must be satisfied in order to post a new service",
        "properties": {
            "description": {"title": "description", "type": "string"},
            "job_registration_schema": {"title": "job_registration_schema", "type": "object"},
            "job_result_schema": {"title": "job_result_schema", "type": "object"},
            "name": {"title": "name", "type": "string"},
            "version": {"title": "version", "type": "string", "default": "1.0.0"},
            "timeout": {"title": "timeout", "type": "integer", "minimum": 1},
            "max_attempts": {"title": "max_attempts", "type": "integer", "minimum": 1, "maximum": 100},
            "lease_seconds": {"title": "lease_seconds", "type": "integer", "minimum": 1}
        },
        "required": ["description", "job_registration_schema", "job_result_schema", "name"],
        "title": "New Service Schema",
        "type": "object"
    })
}

fn job_overview_items() -> Value {
    json!({
        "$schema": DRAFT4,
        "properties": {
            "date_submitted": {"format": "date-time", "readonly": true, "title": "date_submitted", "type": "string"},
            "id": readonly_uuid(),
            "status": {"enum": STATUSES, "type": "string"}
        },
        "required": ["date_submitted", "id", "status"],
        "type": "object"
    })
}

pub fn service_detail() -> Value {
    let mut jobs = job_overview_items();
    if let Some(o) = jobs.as_object_mut() {
        o.remove("$schema");
    }
    json!({
        "$schema": DRAFT4,
        "description": "A comprehensive schema for displaying services",
        "properties": {
            "description": readonly("description", "string"),
            "has_timed_out": readonly("has_timed_out", "boolean"),
            "id": readonly_uuid(),
            "is_service_available": readonly("is_service_available", "boolean"),
            "job_registration_schema": readonly("job_registration_schema", "object"),
            "job_result_schema": readonly("job_result_schema", "object"),
            "jobs": {"items": jobs, "type": ["array", "null"]},
            "name": readonly("name", "string"),
            "timeout": readonly("timeout", "string"),
            "version": readonly("version", "string"),
            "revision": readonly("revision", "integer")
        },
        "required": ["description", "has_timed_out", "id", "is_service_available", "job_registration_schema",
                     "job_result_schema", "name", "timeout"],
        "title": "Detailed Service Schema",
        "type": "object"
    })
}

/// A job as shown in detail, optionally with a title and description.
pub fn job_detail(title: Option<&str>, description: Option<&str>) -> Value {
    let mut schema = json!({
        "$schema": DRAFT4,
        "properties": {
            "date_submitted": {"format": "date-time", "title": "date_submitted", "type": "string"},
            "id": {"format": "uuid", "title": "id", "type": "string"},
            "parameters": {"title": "parameters", "type": "object"},
            "results": {"title": "results", "type": "object"},
            "status": {"enum": STATUSES, "type": "string"}
        },
        "required": ["id", "parameters", "results", "status"],
        "type": "object"
    });
    if let Some(o) = schema.as_object_mut() {
        if let Some(t) = title {
            o.insert("title".into(), json!(t));
        }
        if let Some(d) = description {
            o.insert("description".into(), json!(d));
        }
    }
    schema
}

pub fn job_list(title: &str, description: &str, items: Value) -> Value {
    json!({
        "$schema": DRAFT4,
        "description": description,
        "items": items,
        "title": title,
        "type": "array"
    })
}

pub fn jobs_overview_list() -> Value {
    job_list(
        "Job Endpoint Schema",
        "Describes how jobs are presented in the \"data\" endpoint",
        job_overview_items(),
    )
}

pub fn new_job(registration_schema: Value) -> Value {
    json!({
        "$schema": DRAFT4,
        "description": "The schema that a POST request must satisfy in order to create a new job",
        "properties": {"parameters": registration_schema},
        "title": "New Job Schema",
        "type": "object"
    })
}

pub fn patch_request() -> Value {
    json!({
        "$schema": DRAFT4,
        "description": "The schema for all displayable data for a job",
        "properties": {
            "results": {"title": "results", "type": "object"},
            "status": {"enum": STATUSES, "type": "string"}
        },
        "required": [],
        "title": "Detailed Job Schema",
        "type": "object"
    })
}

pub fn validator() -> Value {
    json!({
        "$schema": DRAFT4,
        "description": "The schema that must be satisfied in order to validate an instance against a schema",
        "properties": {
            "object": {"title": "object", "type": "object"},
            "schema": {"title": "schema", "type": "object"}
        },
        "required": ["object", "schema"],
        "title": "JSON Schema Validator",
        "type": "object"
    })
}
