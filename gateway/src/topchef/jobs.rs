//! TopChef's `/jobs` routes.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use brigade_proto::jobqueue::v1 as pb;
use http::StatusCode;

use super::extract::{Body, Json, PathId, Problems};
use super::model::{self, Envelope, Links, PagedLinks};
use super::{PageQuery, fetch_jobs, schemas};
use crate::envelope::{BaseUrl, json};
use crate::error::TopChefError;
use crate::state::AppState;

type Result<T, E = TopChefError> = std::result::Result<T, E>;

/// Every job of every service, oldest first.
#[utoipa::path(
    get, path = "/jobs", operation_id = "list_jobs", tag = "TopChef",
    params(PageQuery),
    responses(
        (status = 200, description = "All jobs (overview), or one page of them with `page_size`; follow `links.next`.", body = Envelope<Vec<model::JobOverview>, PagedLinks, model::DataSchemaMeta>),
        (status = 400, description = "Deserialization Error From Client Data: `page_size` out of range, or a `page_token` that is not one this list gave. A repeated `page_size` or `page_token` is refused by the query-string parser before the handler, in plain text.",
            content((model::TopChefErrors = "application/json"), (String = "text/plain"))),
    )
)]
pub async fn list(State(state): State<AppState>, base: BaseUrl, page: PageQuery) -> Result<impl IntoResponse> {
    let (jobs, next) = fetch_jobs(&state, "", page.requested()?).await?;
    Ok(Envelope {
        data: jobs.iter().map(model::JobOverview::from).collect::<Vec<_>>(),
        links: PagedLinks::new(base.join("/jobs"), next),
        meta: model::DataSchemaMeta {
            data_schema: schemas::jobs_overview_list(),
        },
    })
}

/// One job, with Brigade's fields (`service_id`, `attempts`, `max_attempts`, `error_message`, `cancelled`).
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
