//! TopChef's `/jobs` routes.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use brigade_proto::jobqueue::v1 as pb;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{FieldErrors, PageQuery, fetch_jobs, job_detail, job_overview, links, object_body, path_id};
use crate::envelope::{BaseUrl, json};
use crate::error::TopChefError;
use crate::openapi::model as doc;
use crate::schemas;
use crate::state::AppState;

type Result<T, E = TopChefError> = std::result::Result<T, E>;

/// Every job of every service, oldest first.
#[utoipa::path(
    get,
    path = "/jobs",
    operation_id = "list_jobs",
    tag = "TopChef",
    params(PageQuery),
    responses(
        (status = 200, description = "All jobs (overview), or one page of them with `page_size`; follow `links.next`.", body = doc::JobList),
        (status = 400, description = "Deserialization Error From Client Data: `page_size` out of range, or a `page_token` that is not one this list gave. A repeated `page_size` or `page_token` is refused by the query-string parser before the handler, in plain text.",
            content((doc::TopChefErrors = "application/json"), (String = "text/plain"))),
    )
)]
pub async fn list(State(state): State<AppState>, headers: HeaderMap, page: PageQuery) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let (jobs, next) = fetch_jobs(&state, "", page.requested()?).await?;
    Ok(json(
        StatusCode::OK,
        json!({
            "data": jobs.iter().map(job_overview).collect::<Vec<_>>(),
            "links": links(base.join("/jobs"), next),
            "meta": {"data_schema": schemas::jobs_overview_list()},
        }),
    ))
}

/// One job, with Brigade's fields (`service_id`, `attempts`, `max_attempts`, `error_message`, `cancelled`).
#[utoipa::path(
    get,
    path = "/jobs/{id}",
    operation_id = "get_job",
    tag = "TopChef",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The job, with the JSON Schemas of the job and of the PATCH body in `meta`.", body = doc::JobFullResponse),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = doc::TopChefErrors),
    )
)]
pub async fn detail(State(state): State<AppState>, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let job = state
        .job_queue
        .clone()
        .get_job(pb::GetJobRequest { id: id.clone() })
        .await?
        .into_inner()
        .job
        .unwrap_or_default();
    let mut data = job_detail(&job);
    if let Some(o) = data.as_object_mut() {
        o.insert("service_id".into(), json!(job.service_id));
        o.insert("attempts".into(), json!(job.attempts));
        o.insert("max_attempts".into(), json!(job.max_attempts));
        o.insert("error_message".into(), json!(job.error_message));
        o.insert("cancelled".into(), json!(job.cancelled));
    }
    Ok(json(
        StatusCode::OK,
        json!({
            "data": data,
            "links": {"self": base.join(&format!("/jobs/{id}"))},
            "meta": {
                "job_info_schema": schemas::job_detail(
                    Some("Detailed Job Schema"),
                    Some("The schema for all displayable data for a job"),
                ),
                "patch_request_schema": schemas::patch_request(),
            },
        }),
    ))
}

/// TopChef's free PATCH; answers the bare job, as TopChef does.
#[utoipa::path(
    patch,
    path = "/jobs/{id}",
    operation_id = "patch_job",
    tag = "TopChef",
    description = "Sets the status freely (any letter case) and/or the results (validated when not null). Revokes any lease on the job. Answers the bare job, without an envelope, as TopChef does.",
    params(("id" = String, Path, description = "Job id (a UUID).")),
    request_body(content = doc::JobPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The job after the change (no envelope).", body = doc::JobDetail),
        (status = 400, description = "Deserialization Error From Client Data (unknown status, `results` not an object); JSONSchema Validation Error (results invalid); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = doc::TopChefErrors),
        (status = 404, description = "Not UUID Error or Job Not Found.", body = doc::TopChefErrors),
        doc::TopChefBodyErrors,
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let id = path_id(&raw)?;
    let mut body = object_body(&state, &headers, body).await?;
    let mut problems = FieldErrors::default();
    let status = match body.remove("status") {
        None | Some(Value::Null) => pb::JobStatus::Unspecified,
        Some(Value::String(s)) => match s.trim().to_ascii_uppercase().as_str() {
            "REGISTERED" => pb::JobStatus::Registered,
            "WORKING" => pb::JobStatus::Working,
            "COMPLETED" => pb::JobStatus::Completed,
            "ERROR" => pb::JobStatus::Error,
            _ => {
                problems.push("status", "Unknown value for job status enum");
                pb::JobStatus::Unspecified
            }
        },
        Some(_) => {
            problems.push("status", "Not a valid string.");
            pb::JobStatus::Unspecified
        }
    };
    let results = match body.remove("results") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => {
            problems.push("results", "Not a valid mapping type.");
            None
        }
    };
    problems.into_result()?;
    let job = state
        .job_queue
        .clone()
        .update_job(pb::UpdateJobRequest {
            id,
            status: status as i32,
            results_json: results,
        })
        .await?
        .into_inner()
        .job
        .unwrap_or_default();
    Ok(json(StatusCode::OK, job_detail(&job)))
}
