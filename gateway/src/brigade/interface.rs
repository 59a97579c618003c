//! `GET /services/{id}/interface`: the interface a service revision's schemas
//! become, derived by the same code the recipe engine uses
//! (`brigade_recipe_types::definition::interface_from_schema`), so what this
//! route shows is exactly what a recipe job node on the job type sees.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use brigade_proto::jobqueue::v1 as pb;
use brigade_recipe_types::definition::interface_from_schema;
use serde_json::Value;

use super::model::{InterfaceParameters, ServiceInterface};
use crate::envelope::BaseUrl;
use crate::error::TopChefError;
use crate::state::AppState;
use crate::topchef::extract::PathId;
use crate::topchef::model::{Linked, Links, TopChefErrors};

type Result<T, E = TopChefError> = std::result::Result<T, E>;

/// `?revision=N` (the first value counts, as on TopChef's other lists).
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevisionQuery {
    /// The revision to show, from 1; default: the newest.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub revision: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RevisionQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let revision = url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .find(|(key, _)| key == "revision")
            .map(|(_, value)| value.into_owned());
        Ok(Self { revision })
    }
}

impl RevisionQuery {
    fn requested(&self) -> Result<Option<i64>> {
        let Some(raw) = self.revision.as_deref() else {
            return Ok(None);
        };
        match raw.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(TopChefError::deserialization(vec![(
                "revision".to_owned(),
                "must be a whole number of at least 1".to_owned(),
            )])),
        }
    }
}

/// A stored schema document; text that does not parse declares nothing, as in recipe-types.
fn schema(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The job type's interface: one parameter per top-level schema property.
#[utoipa::path(
    get, path = "/services/{id}/interface", operation_id = "service_interface", tag = "TopChef",
    description = "What a recipe job node naming this service sees: `inputs` come from the revision's \
`job_registration_schema`, `outputs` from its `job_result_schema`, one parameter per top-level property. \
`{\"type\": \"string\", \"format\": \"uri\"}` is a file (`contentMediaType` gives `media_types`), an array of \
those a `multiple` file, anything else a JSON parameter of its type; `required` follows the schema.",
    params(
        ("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts."),
        RevisionQuery,
    ),
    responses(
        (status = 200, description = "The revision's interface.", body = Linked<ServiceInterface>),
        (status = 400, description = "Deserialization Error From Client Data: `revision` is not a whole number ≥ 1.", body = TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID), Service Not Found, or Not Found (no such revision).", body = TopChefErrors),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    query: RevisionQuery,
) -> Result<Response> {
    let requested = query.requested()?;
    let missing = || TopChefError::from(tonic::Status::internal("empty response"));
    let service = state
        .jq()
        .get_service(pb::GetServiceRequest { id: id.clone() })
        .await?
        .into_inner()
        .service
        .ok_or_else(missing)?;
    let revision = requested.unwrap_or(service.revision);
    if revision > service.revision {
        return Err(TopChefError::single(
            http::StatusCode::NOT_FOUND,
            crate::error::titles::NOT_FOUND,
            format!("service {} has no revision {revision}", service.id),
        ));
    }
    let schemas = state
        .jq()
        .get_service_revision(pb::GetServiceRevisionRequest {
            id: service.id.clone(),
            revision,
        })
        .await?
        .into_inner()
        .revision
        .ok_or_else(missing)?;
    let inputs = interface_from_schema(&schema(&schemas.job_registration_schema_json));
    let outputs = interface_from_schema(&schema(&schemas.job_result_schema_json));
    let self_url = base.join(&format!("/services/{}/interface?revision={revision}", service.id));
    Ok(Linked {
        data: ServiceInterface {
            service_id: service.id,
            name: service.name,
            version: service.version,
            revision,
            latest_revision: service.revision,
            inputs: InterfaceParameters::from(inputs),
            outputs: InterfaceParameters::from(outputs),
        },
        links: Links::to(self_url),
    }
    .into_response())
}
