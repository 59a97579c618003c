//! Brigade's worker protocol mirrored in REST under TopChef's paths: batch
//! submit, claim with leases, heartbeat, complete, fail and cancel.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use brigade_proto::jobqueue::v1 as pb;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::{
    FieldErrors, as_object, job_detail, object_body, path_id, take_bool, take_object, take_positive_int, take_string,
};
use crate::body::{is_json_content_type, parse_json, read_bytes};
use crate::envelope::{BaseUrl, json, scale_date};
use crate::error::TopChefError;
use crate::openapi::model as doc;
use crate::state::AppState;

type Result<T, E = TopChefError> = std::result::Result<T, E>;

/// Largest batch accepted in one request.
const MAX_BATCH: usize = 1000;

fn lease_json(leased: &pb::LeasedJob) -> Value {
    let mut data = leased.job.as_ref().map(job_detail).unwrap_or_default();
    if let Some(o) = data.as_object_mut() {
        o.insert("lease_token".into(), json!(leased.lease_token));
        o.insert("lease_expires_at".into(), scale_date(leased.lease_expires_at.as_ref()));
    }
    data
}

fn job_response(base: &BaseUrl, job: Option<pb::Job>) -> Response {
    let job = job.unwrap_or_default();
    json(
        StatusCode::OK,
        json!({"data": job_detail(&job), "links": {"self": base.join(&format!("/jobs/{}", job.id))}}),
    )
}

/// Submits 1–1000 jobs at once, all or nothing.
#[utoipa::path(
    post,
    path = "/services/{id}/jobs/batch",
    operation_id = "submit_jobs",
    tag = "Worker protocol",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = doc::JobBatch, content_type = "application/json"),
    responses(
        (status = 201, description = "All jobs created, REGISTERED, in the order given.", body = doc::JobBatchCreated),
        (status = 400, description = "JSONSchema Validation Error (any document invalid: nothing is created); Deserialization Error From Client Data (`parameters` missing, not a list of 1–1000 objects); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = doc::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = doc::TopChefErrors),
        doc::TopChefBodyErrors,
    )
)]
pub async fn batch_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let mut body = object_body(&state, &headers, body).await?;
    let mut problems = FieldErrors::default();
    let documents = match body.remove("parameters") {
        None | Some(Value::Null) => {
            problems.push("parameters", "Missing data for required field.");
            Vec::new()
        }
        Some(Value::Array(items)) if items.is_empty() || items.len() > MAX_BATCH => {
            problems.push(
                "parameters",
                &format!("must hold between 1 and {MAX_BATCH} parameter objects"),
            );
            Vec::new()
        }
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| {
                if item.is_object() {
                    Some(item.to_string())
                } else {
                    problems.push(&format!("parameters[{i}]"), "Not a valid mapping type.");
                    None
                }
            })
            .collect(),
        Some(_) => {
            problems.push("parameters", "Not a valid list.");
            Vec::new()
        }
    };
    problems.into_result()?;
    let jobs = state
        .job_queue
        .clone()
        .submit_jobs(pb::SubmitJobsRequest {
            service_id: id.clone(),
            parameters_json: documents,
            ..Default::default()
        })
        .await?
        .into_inner()
        .jobs;
    Ok(json(
        StatusCode::CREATED,
        json!({
            "data": jobs.iter().map(job_detail).collect::<Vec<_>>(),
            "links": {"self": base.join(&format!("/services/{id}/jobs/batch"))},
        }),
    ))
}

/// An optional JSON body: empty or absent is `{}`.
async fn optional_object(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Map<String, Value>> {
    let bytes = read_bytes(body, state.limits).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if is_json_content_type(headers) != Some(true) {
        return Err(crate::body::BodyError::NotJson.into());
    }
    as_object(parse_json(&bytes, state.limits.max_depth)?)
}

/// Leases up to `max_jobs` REGISTERED jobs of a service, oldest first.
#[utoipa::path(
    post,
    path = "/services/{id}/jobs/claim",
    operation_id = "claim_jobs",
    tag = "Worker protocol",
    description = "Each leased job becomes WORKING and carries its own `lease_token` and `lease_expires_at`. The body is optional: empty means one job with the service's lease length.",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = Option<doc::ClaimRequest>, content_type = "application/json", description = "Optional."),
    responses(
        (status = 200, description = "The leased jobs (an empty list when none is waiting).", body = doc::Claimed),
        (status = 400, description = "Deserialization Error From Client Data (a field of the wrong type or out of range); Request Not JSON (a non-empty body without a JSON `Content-Type`, or a malformed one).", body = doc::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = doc::TopChefErrors),
        (status = 413, description = "Request Entity Too Large: the body is over `BRIGADE_MAX_BODY_BYTES`.", body = doc::TopChefErrors),
    )
)]
pub async fn claim(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let mut body = optional_object(&state, &headers, body).await?;
    let mut problems = FieldErrors::default();
    let max_jobs = take_positive_int(&mut body, "max_jobs", &mut problems).unwrap_or(1);
    let lease_seconds = take_positive_int(&mut body, "lease_seconds", &mut problems).unwrap_or(0);
    let worker_id = take_string(&mut body, "worker_id", false, &mut problems).unwrap_or_default();
    problems.into_result()?;
    let jobs = state
        .job_queue
        .clone()
        .claim_jobs(pb::ClaimJobsRequest {
            service_id: id.clone(),
            max_jobs: i32::try_from(max_jobs).unwrap_or(i32::MAX),
            lease_seconds,
            worker_id,
        })
        .await?
        .into_inner()
        .jobs;
    Ok(json(
        StatusCode::OK,
        json!({
            "data": jobs.iter().map(lease_json).collect::<Vec<_>>(),
            "links": {"self": base.join(&format!("/services/{id}/jobs/claim"))},
        }),
    ))
}

fn required_token(body: &mut Map<String, Value>, problems: &mut FieldErrors) -> String {
    take_string(body, "lease_token", true, problems).unwrap_or_default()
}

/// Extends a lease.
#[utoipa::path(
    post,
    path = "/jobs/{id}/heartbeat",
    operation_id = "heartbeat_lease",
    tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = doc::LeaseHeartbeat, content_type = "application/json"),
    responses(
        (status = 200, description = "The lease's new expiry.", body = doc::LeaseExtended),
        (status = 400, description = "Stale Lease (the token is not the job's current lease token; nothing changes); Deserialization Error From Client Data (`lease_token` missing, a field of the wrong type or out of range); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = doc::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = doc::TopChefErrors),
        doc::TopChefBodyErrors,
    )
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let id = path_id(&raw)?;
    let mut body = object_body(&state, &headers, body).await?;
    let mut problems = FieldErrors::default();
    let lease_token = required_token(&mut body, &mut problems);
    let lease_seconds = take_positive_int(&mut body, "lease_seconds", &mut problems).unwrap_or(0);
    problems.into_result()?;
    let expires = state
        .job_queue
        .clone()
        .extend_lease(pb::ExtendLeaseRequest {
            job_id: id,
            lease_token,
            lease_seconds,
            ..Default::default()
        })
        .await?
        .into_inner()
        .lease_expires_at;
    Ok(json(
        StatusCode::OK,
        json!({"data": {"lease_expires_at": scale_date(expires.as_ref())}}),
    ))
}

/// Completes a leased job with its results (exactly once).
#[utoipa::path(
    post,
    path = "/jobs/{id}/complete",
    operation_id = "complete_job",
    tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = doc::CompleteRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The job, COMPLETED.", body = doc::JobEnvelope),
        (status = 400, description = "JSONSchema Validation Error (results invalid; the job stays WORKING); Stale Lease (the token is not the job's current lease token; nothing changes); Failed Precondition (e.g. the job was cancelled); Deserialization Error From Client Data; Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = doc::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = doc::TopChefErrors),
        doc::TopChefBodyErrors,
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let mut body = object_body(&state, &headers, body).await?;
    let mut problems = FieldErrors::default();
    let lease_token = required_token(&mut body, &mut problems);
    let results = take_object(&mut body, "results", true, &mut problems);
    problems.into_result()?;
    let job = state
        .job_queue
        .clone()
        .complete_job(pb::CompleteJobRequest {
            job_id: id,
            lease_token,
            results_json: results.unwrap_or_default(),
        })
        .await?
        .into_inner()
        .job;
    Ok(job_response(&base, job))
}

/// Fails a leased job, or puts it back to REGISTERED with `retry` while attempts remain.
#[utoipa::path(
    post,
    path = "/jobs/{id}/fail",
    operation_id = "fail_job",
    tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = doc::FailRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The job, ERROR (or REGISTERED again).", body = doc::JobEnvelope),
        (status = 400, description = "Stale Lease (the token is not the job's current lease token; nothing changes); Failed Precondition; Deserialization Error From Client Data; Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = doc::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = doc::TopChefErrors),
        doc::TopChefBodyErrors,
    )
)]
pub async fn fail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let mut body = object_body(&state, &headers, body).await?;
    let mut problems = FieldErrors::default();
    let lease_token = required_token(&mut body, &mut problems);
    let error_message = take_string(&mut body, "error", false, &mut problems).unwrap_or_default();
    let retry = take_bool(&mut body, "retry", &mut problems).unwrap_or(false);
    let release = take_bool(&mut body, "release", &mut problems).unwrap_or(false);
    problems.into_result()?;
    let job = state
        .job_queue
        .clone()
        .fail_job(pb::FailJobRequest {
            job_id: id,
            lease_token,
            error_message,
            retry,
            release,
        })
        .await?
        .into_inner()
        .job;
    Ok(job_response(&base, job))
}

/// Cancels a REGISTERED or WORKING job.
#[utoipa::path(
    post,
    path = "/jobs/{id}/cancel",
    operation_id = "cancel_job",
    tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The job, ERROR with `cancelled: true` (any lease is revoked).", body = doc::JobEnvelope),
        (status = 400, description = "Failed Precondition: the job has already ended.", body = doc::TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = doc::TopChefErrors),
    )
)]
pub async fn cancel(State(state): State<AppState>, headers: HeaderMap, Path(raw): Path<String>) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let id = path_id(&raw)?;
    let job = state
        .job_queue
        .clone()
        .cancel_job(pb::CancelJobRequest {
            job_id: id,
            ..Default::default()
        })
        .await?
        .into_inner()
        .job;
    Ok(job_response(&base, job))
}
