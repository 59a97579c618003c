//! `GET /` (API metadata) and TopChef's `/validator`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use brigade_proto::jobqueue::v1 as pb;

use super::extract::{Body, Json, Problems};
use super::model::{self, Envelope, Linked, Links};
use super::schemas;
use crate::envelope::BaseUrl;
use crate::error::TopChefError;
use crate::state::AppState;

/// API metadata.
#[utoipa::path(
    get, path = "/", operation_id = "api_metadata", tag = "TopChef",
    responses((status = 200, description = "TopChef's API metadata (from the `BRIGADE_API_*` settings), with its JSON Schema in `meta`.", body = Envelope<model::ApiMetadata, Links, model::ApiMetadataMeta>))
)]
pub async fn metadata(State(state): State<AppState>, base: BaseUrl) -> Response {
    // From configuration (`BRIGADE_API_*`), so a deployment names its own maintainers.
    let api = &state.api;
    let data = model::ApiMetadata {
        documentation_url: api.documentation_url.clone(),
        maintainer_email: api.maintainer_email.clone(),
        maintainer_name: api.maintainer_name.clone(),
        source_code_repository_url: api.source_code_repository_url.clone(),
        version: api.version.clone(),
    };
    Envelope {
        data,
        links: Links::to(base.join("/")),
        meta: model::ApiMetadataMeta {
            schema: schemas::api_metadata(),
        },
    }
    .into_response()
}

/// What `POST /validator` expects.
#[utoipa::path(
    get, path = "/validator", operation_id = "validator_info", tag = "TopChef",
    responses((status = 200, description = "The JSON Schema of the validator's body, in `meta`.", body = Envelope<serde_json::Value, Links, model::ValidatorInfoMeta>))
)]
pub async fn validator_info(base: BaseUrl) -> Response {
    Envelope {
        data: serde_json::json!({}),
        links: Links::to(base.join("/validator")),
        meta: model::ValidatorInfoMeta {
            validator_schema: schemas::validator(),
        },
    }
    .into_response()
}

impl Body for model::ValidatorRequest {
    fn check(&self, problems: &mut Problems) {
        problems.required("schema", &self.schema);
        problems.required("object", &self.object);
    }
}

/// Validates `object` against `schema`.
#[utoipa::path(
    post, path = "/validator", operation_id = "validate", tag = "TopChef",
    request_body(content = model::ValidatorRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "`object` is valid against `schema`.", body = Linked<model::ValidationSuccessData>),
        (status = 400, description = "JSONSchema Validation Error (one error object per violation); Deserialization Error From Client Data (`schema` or `object` missing or not an object, or `schema` is not a valid schema); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = model::TopChefErrors),
        model::TopChefBodyErrors,
    )
)]
pub async fn validate(
    State(state): State<AppState>,
    base: BaseUrl,
    Json(body): Json<model::ValidatorRequest>,
) -> Result<Response, TopChefError> {
    let text = |field: crate::fields::Field<crate::fields::AnyObject>| field.given().map(|o| o.0.to_string());
    let request = pb::ValidateJsonRequest {
        schema_json: text(body.schema).unwrap_or_default(),
        instance_json: text(body.object).unwrap_or_default(),
    };
    let errors = state.jq().validate_json(request).await?.into_inner().errors;
    if errors.is_empty() {
        return Ok(Linked {
            data: model::ValidationSuccessData {
                status: "Validation was successful",
            },
            links: Links::to(base.join("/validator")),
        }
        .into_response());
    }
    Err(TopChefError::schema(errors))
}
