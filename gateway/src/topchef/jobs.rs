//! TopChef's `/jobs` routes.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use brigade_proto::jobqueue::v1 as pb;
use http::StatusCode;

use super::extract::{Body, Json, PathId, Problems};
use super::model::{self, Envelope, Linked, Links, PagedLinks};
use super::{JobListQuery, fetch_jobs, schemas};
use crate::envelope::{BaseUrl, json};
use crate::error::TopChefError;
use crate::state::AppState;

type Result<T, E = TopChefError> = std::result::Result<T, E>;

/// `?service_id=` on the jobs of every service (the first value counts).
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceFilter {
    /// Only this service's jobs: a UUID in any spelling Python's `UUID()` accepts.
    #[param(value_type = Option<String>, format = "uuid")]
    pub service_id: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ServiceFilter {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let service_id = url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .find(|(key, _)| key == "service_id")
            .map(|(_, value)| value.into_owned());
        Ok(Self { service_id })
    }
}

impl ServiceFilter {
    /// The id normalised (lowercase, hyphenated), empty for every service.
    fn checked(&self) -> Result<String> {
        let Some(raw) = self.service_id.as_deref() else {
            return Ok(String::new());
        };
        uuid::Uuid::parse_str(raw.trim())
            .map(|u| u.hyphenated().to_string())
            .map_err(|_| TopChefError::deserialization(vec![("service_id".to_owned(), "Not a valid UUID.".to_owned())]))
    }
}

/// Jobs of every service (or of one, with `service_id`), oldest first, at most `BRIGADE_MAX_LIST_ITEMS` per answer.
#[utoipa::path(
    get, path = "/jobs", operation_id = "list_jobs", tag = "TopChef",
    params(ServiceFilter, JobListQuery),
    responses(
        (status = 200, description = "Jobs (overview), at most `page_size` or `BRIGADE_MAX_LIST_ITEMS` (default 1000); `links.next` leads to the rest with the same filters.", body = Envelope<Vec<model::JobOverview>, PagedLinks, model::DataSchemaMeta>),
        (status = 400, description = "Deserialization Error From Client Data: `page_size` not a positive integer, an unknown `status`, a `since`/`until` that is not RFC 3339, a `service_id` that is not a UUID, more than 100 filter values, or a `page_token` that is not one this list gave.", body = model::TopChefErrors),
        (status = 404, description = "Service Not Found: no service has the `service_id` given.", body = model::TopChefErrors),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    service: ServiceFilter,
    query: JobListQuery,
) -> Result<impl IntoResponse> {
    let service_id = service.checked()?;
    let mut listing = query.checked(state.max_list_items)?;
    if !service_id.is_empty() {
        listing.keep.push(("service_id".to_owned(), service_id.clone()));
    }
    let (jobs, next) = fetch_jobs(&state, &service_id, &listing).await?;
    let self_url = base.join("/jobs");
    Ok(Envelope {
        data: jobs.iter().map(model::JobOverview::from).collect::<Vec<_>>(),
        links: PagedLinks::with_next(self_url.clone(), listing.next_link(&self_url, next)),
        meta: model::DataSchemaMeta {
            data_schema: schemas::jobs_overview_list(),
        },
    })
}

/// One job, with Brigade's fields (`service_id`, `attempts`, `max_attempts`, `error_message`, `cancelled`,
/// `attempt_history`, `recipe_id`, `recipe_node`).
#[utoipa::path(
    get, path = "/jobs/{id}", operation_id = "get_job", tag = "TopChef",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The job, with the JSON Schemas of the job and of the PATCH body in `meta`.", body = Envelope<model::JobFull, Links, model::JobFullMeta>),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = model::TopChefErrors),
    )
)]
pub async fn detail(State(state): State<AppState>, base: BaseUrl, PathId(id): PathId) -> Result<impl IntoResponse> {
    let response = state.jq().get_job(pb::GetJobRequest { id: id.clone() }).await?;
    let job = response.into_inner().job.unwrap_or_default();
    Ok(Envelope {
        data: model::JobFull::from(job),
        links: Links::to(base.join(&format!("/jobs/{id}"))),
        meta: model::JobFullMeta {
            job_info_schema: schemas::job_detail(
                Some("Detailed Job Schema"),
                Some("The schema for all displayable data for a job"),
            ),
            patch_request_schema: schemas::patch_request(),
        },
    })
}

impl Body for model::JobPatch {
    fn check(&self, problems: &mut Problems) {
        problems.optional("status", &self.status);
        problems.optional("results", &self.results);
    }
}

/// TopChef's free PATCH; answers the bare job, as TopChef does.
#[utoipa::path(
    patch, path = "/jobs/{id}", operation_id = "patch_job", tag = "TopChef",
    description = "Sets the status freely (any letter case) and/or the results (validated when not null). Revokes any lease on the job. Answers the bare job, without an envelope, as TopChef does.",
    params(("id" = String, Path, description = "Job id (a UUID).")),
    request_body(content = model::JobPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The job after the change (no envelope).", body = model::JobDetail),
        (status = 400, description = "Deserialization Error From Client Data (unknown status, `results` not an object); JSONSchema Validation Error (results invalid); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = model::TopChefErrors),
        (status = 404, description = "Not UUID Error or Job Not Found.", body = model::TopChefErrors),
        model::TopChefBodyErrors,
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    PathId(id): PathId,
    Json(body): Json<model::JobPatch>,
) -> Result<Response> {
    let status = body
        .status
        .given()
        .map_or(pb::JobStatus::Unspecified as i32, |s| s as i32);
    let request = pb::UpdateJobRequest {
        id,
        status,
        results_json: body.results.given().map(|o| o.0),
    };
    let response = state.jq().update_job(request).await?;
    let job = response.into_inner().job.unwrap_or_default();
    Ok(json(StatusCode::OK, model::JobDetail::from(&job)))
}

/// Retries a finished job that failed or was cancelled: REGISTERED again with a fresh attempt budget.
#[utoipa::path(
    post, path = "/jobs/{id}/retry", operation_id = "retry_job", tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The job, REGISTERED.", body = Linked<model::JobDetail>),
        (status = 400, description = "Failed Precondition: the job is not in ERROR.", body = model::TopChefErrors),
        (status = 404, description = "Not UUID Error or Job Not Found.", body = model::TopChefErrors),
        (status = 415, description = "A body that is not JSON (a form post is refused).", body = model::TopChefErrors),
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
) -> Result<Linked<model::JobDetail>> {
    let response = state.jq().retry_job(pb::RetryJobRequest { job_id: id.clone() }).await?;
    let job = response.into_inner().job.unwrap_or_default();
    Ok(Linked {
        data: model::JobDetail::from(&job),
        links: Links::to(base.join(&format!("/jobs/{id}"))),
    })
}

/// Deletes a finished (COMPLETED or ERROR) job.
#[utoipa::path(
    delete, path = "/jobs/{id}", operation_id = "delete_job", tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 204, description = "Deleted (empty body)."),
        (status = 400, description = "Failed Precondition: the job has not finished.", body = model::TopChefErrors),
        (status = 404, description = "Not UUID Error or Job Not Found.", body = model::TopChefErrors),
    )
)]
pub async fn delete(State(state): State<AppState>, PathId(id): PathId) -> Result<Response> {
    state.jq().delete_job(pb::DeleteJobRequest { job_id: id }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
