//! `GET /` (API metadata) and TopChef's `/validator`.

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use brigade_proto::jobqueue::v1 as pb;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{FieldErrors, object_body};
use crate::envelope::{BaseUrl, json};
use crate::error::{ErrorObject, TopChefError, titles};
use crate::openapi::model as doc;
use crate::schemas;
use crate::state::AppState;

/// API metadata.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "api_metadata",
    tag = "TopChef",
    responses((status = 200, description = "TopChef's API metadata, with its JSON Schema in `meta`.", body = doc::ApiMetadataResponse))
)]
pub async fn metadata(headers: HeaderMap) -> Response {
    let base = BaseUrl::from_headers(&headers);
    json(
        StatusCode::OK,
        json!({
            "data": {
                "documentation_url": "https://topchef.readthedocs.io/en/latest/",
                "maintainer_email": "michalkononenko@gmail.com",
                "maintainer_name": "Michal Kononenko",
                "source_code_repository_url": "https://www.github.com/MichalKononenko/TopChef",
                // TopChef's own value: clients of the original compare it.
                "version": "0.1dev",
            },
            "links": {"self": base.join("/")},
            "meta": {"schema": schemas::api_metadata()},
        }),
    )
}

/// What `POST /validator` expects.
#[utoipa::path(
    get,
    path = "/validator",
    operation_id = "validator_info",
    tag = "TopChef",
    responses((status = 200, description = "The JSON Schema of the validator's body, in `meta`.", body = doc::ValidatorInfo))
)]
pub async fn validator_info(headers: HeaderMap) -> Response {
    let base = BaseUrl::from_headers(&headers);
    json(
        StatusCode::OK,
        json!({
            "data": {},
            "links": {"self": base.join("/validator")},
            "meta": {"validator_schema": schemas::validator()},
        }),
    )
}

/// Validates `object` against `schema`.
#[utoipa::path(
    post,
    path = "/validator",
    operation_id = "validate",
    tag = "TopChef",
    request_body(content = doc::ValidatorRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "`object` is valid against `schema`.", body = doc::ValidationSuccess),
        (status = 400, description = "JSONSchema Validation Error (one error object per violation); Deserialization Error From Client Data (`schema` or `object` missing or not an object, or `schema` is not a valid schema); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = doc::TopChefErrors),
        doc::TopChefBodyErrors,
    )
)]
pub async fn validate(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, TopChefError> {
    let base = BaseUrl::from_headers(&headers);
    let mut body = object_body(&state, &headers, body).await?;
    let mut problems = FieldErrors::default();
    let schema = body.remove("schema");
    let object = body.remove("object");
    for (name, value) in [("schema", &schema), ("object", &object)] {
        match value {
            None => problems.push(name, "Missing data for required field."),
            Some(Value::Object(_)) => {}
            Some(_) => problems.push(name, "Not a valid mapping type."),
        }
    }
    problems.into_result()?;
    let request = pb::ValidateJsonRequest {
        schema_json: schema.unwrap_or_default().to_string(),
        instance_json: object.unwrap_or_default().to_string(),
    };
    let errors = state
        .job_queue
        .clone()
        .validate_json(request)
        .await?
        .into_inner()
        .errors;
    if errors.is_empty() {
        return Ok(json(
            StatusCode::OK,
            json!({"data": {"status": "Validation was successful"}, "links": {"self": base.join("/validator")}}),
        ));
    }
    Err(TopChefError {
        errors: errors
            .into_iter()
            .map(|detail| ErrorObject {
                detail,
                status_code: 400,
                title: titles::SCHEMA.to_owned(),
            })
            .collect(),
        allow: None,
    })
}
