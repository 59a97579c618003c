//! `GET /` (API metadata) and TopChef's `/validator`.

use axum::extract::State;
use axum::response::Response;
use brigade_proto::jobqueue::v1 as pb;
use http::{HeaderMap, StatusCode};

use super::extract::{Body, Json, Problems};
use super::model::{self, Links};
use super::schemas;
use crate::envelope::{BaseUrl, json};
use crate::error::{ErrorObject, TopChefError, titles};
use crate::state::AppState;

/// API metadata.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "api_metadata",
    tag = "TopChef",
    responses((status = 200, description = "TopChef's API metadata, with its JSON Schema in `meta`.", body = model::ApiMetadataResponse))
)]
pub async fn metadata(headers: HeaderMap) -> Response {
    let base = BaseUrl::from_headers(&headers);
    let data = model::ApiMetadata {
        documentation_url: "https://topchef.readthedocs.io/en/latest/",
        maintainer_email: "michalkononenko@gmail.com",
        maintainer_name: "Michal Kononenko",
        source_code_repository_url: "https://www.github.com/MichalKononenko/TopChef",
        // TopChef's own value: clients of the original compare it.
        version: "0.1dev",
    };
    json(
        StatusCode::OK,
        model::ApiMetadataResponse {
            data,
            links: Links::to(base.join("/")),
            meta: model::ApiMetadataMeta {
                schema: schemas::api_metadata(),
            },
        },
    )
}

/// What `POST /validator` expects.
#[utoipa::path(
    get,
    path = "/validator",
    operation_id = "validator_info",
    tag = "TopChef",
    responses((status = 200, description = "The JSON Schema of the validator's body, in `meta`.", body = model::ValidatorInfo))
)]
pub async fn validator_info(headers: HeaderMap) -> Response {
    let base = BaseUrl::from_headers(&headers);
    json(
        StatusCode::OK,
        model::ValidatorInfo {
            data: serde_json::json!({}),
            links: Links::to(base.join("/validator")),
            meta: model::ValidatorInfoMeta {
                validator_schema: schemas::validator(),
            },
        },
    )
}

impl Body for model::ValidatorRequest {
    fn check(&self, problems: &mut Problems) {
        problems.required("schema", &self.schema);
        problems.required("object", &self.object);
    }
}

/// Validates `object` against `schema`.
#[utoipa::path(
    post,
    path = "/validator",
    operation_id = "validate",
    tag = "TopChef",
    request_body(content = model::ValidatorRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "`object` is valid against `schema`.", body = model::ValidationSuccess),
        (status = 400, description = "JSONSchema Validation Error (one error object per violation); Deserialization Error From Client Data (`schema` or `object` missing or not an object, or `schema` is not a valid schema); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = model::TopChefErrors),
        model::TopChefBodyErrors,
    )
)]
pub async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<model::ValidatorRequest>,
) -> Result<Response, TopChefError> {
    let base = BaseUrl::from_headers(&headers);
    let text = |field: crate::fields::Field<crate::fields::AnyObject>| field.given().map(|o| o.0.to_string());
    let request = pb::ValidateJsonRequest {
        schema_json: text(body.schema).unwrap_or_default(),
        instance_json: text(body.object).unwrap_or_default(),
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
            model::ValidationSuccess {
                data: model::ValidationSuccessData {
                    status: "Validation was successful",
                },
                links: Links::to(base.join("/validator")),
            },
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
