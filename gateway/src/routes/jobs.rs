//! TopChef's `/jobs` routes.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use brigade_proto::jobqueue::v1 as pb;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{FieldErrors, PageQuery, as_object, fetch_jobs, job_detail, job_overview, links, path_id};
use crate::body::json_body;
use crate::envelope::{BaseUrl, json};
use crate::error::TopChefError;
use crate::schemas;
use crate::state::AppState;

type Result<T, E = TopChefError> = std::result::Result<T, E>;

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(page): Query<PageQuery>,
) -> Result<Response> {
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
pub async fn patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let id = path_id(&raw)?;
    let mut body = as_object(json_body(&headers, body, state.limits).await?)?;
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
