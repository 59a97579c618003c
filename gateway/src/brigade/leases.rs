//! Brigade's worker protocol mirrored in REST under TopChef's paths: batch
//! submit, claim with leases, heartbeat, complete, fail and cancel.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use brigade_proto::jobqueue::v1 as pb;
use http::StatusCode;

use super::model;
use crate::envelope::{BaseUrl, json, scale_date};
use crate::error::TopChefError;
use crate::state::AppState;
use crate::topchef::extract::{Body, Json, OptionalJson, PathId, Problems};
use crate::topchef::model::{BrigadeBodyErrors, JobDetail, Linked, Links, TopChefErrors};

type Result<T, E = TopChefError> = std::result::Result<T, E>;

fn job_response(base: &BaseUrl, job: Option<pb::Job>) -> Linked<JobDetail> {
    let job = job.unwrap_or_default();
    let links = Links::to(base.join(&format!("/jobs/{}", job.id)));
    let data = JobDetail::from(&job);
    Linked { data, links }
}

impl Body for model::JobBatch {
    fn check(&self, problems: &mut Problems) {
        problems.required("parameters", &self.parameters);
        self.controls.check(problems);
    }
}

/// Submits 1–1000 jobs at once, all or nothing.
#[utoipa::path(
    post, path = "/services/{id}/jobs/batch", operation_id = "submit_jobs", tag = "Worker protocol",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = model::JobBatch, content_type = "application/json"),
    responses(
        (status = 201, description = "All jobs created, REGISTERED, in the order given.", body = Linked<Vec<JobDetail>>),
        (status = 200, description = "The `idempotency_key` was used before with the same batch: the first jobs, unchanged.", body = Linked<Vec<JobDetail>>),
        (status = 409, description = "Conflict: the `idempotency_key` was used with a different body.", body = TopChefErrors),
        (status = 400, description = "JSONSchema Validation Error (any document invalid: nothing is created); Deserialization Error From Client Data (`parameters` missing, not a list of 1–1000 objects); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = TopChefErrors),
        BrigadeBodyErrors,
    )
)]
pub async fn batch_submit(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    Json(body): Json<model::JobBatch>,
) -> Result<Response> {
    let priority = body.controls.priority.given().map_or(0, |p| p.0);
    let run_at = body.controls.run_at.given().map(|t| t.0);
    let key = body.controls.idempotency_key.given();
    let parameters = body.parameters.given().map(|p| p.0).unwrap_or_default();
    // Plain batches travel as plain parameters; controls need the per-job form.
    let plain = priority == 0 && run_at.is_none() && key.is_none();
    let jobs = (if plain { Vec::new() } else { parameters.clone() })
        .into_iter()
        .enumerate()
        .map(|(i, parameters_json)| pb::JobSubmission {
            parameters_json,
            priority,
            run_at,
            idempotency_key: key.as_ref().map(|k| format!("{k}/{i}")),
            ..Default::default()
        })
        .collect();
    let request = pb::SubmitJobsRequest {
        service_id: id.clone(),
        parameters_json: if plain { parameters } else { Vec::new() },
        jobs,
    };
    let response = state.jq().submit_jobs(request).await?.into_inner();
    let jobs = response.jobs;
    let status = if response.created.iter().any(|c| *c) || response.created.is_empty() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(
        status,
        Linked {
            data: jobs.iter().map(JobDetail::from).collect::<Vec<_>>(),
            links: Links::to(base.join(&format!("/services/{id}/jobs/batch"))),
        },
    ))
}

impl Body for model::ClaimRequest {
    fn check(&self, problems: &mut Problems) {
        problems.optional("max_jobs", &self.max_jobs);
        problems.optional("lease_seconds", &self.lease_seconds);
        problems.optional("worker_id", &self.worker_id);
    }
}

/// Leases up to `max_jobs` REGISTERED jobs of a service, oldest first.
#[utoipa::path(
    post, path = "/services/{id}/jobs/claim", operation_id = "claim_jobs", tag = "Worker protocol",
    description = "Each leased job becomes WORKING and carries its own `lease_token` and `lease_expires_at`. The body is optional: empty means one job with the service's lease length.",
    params(("id" = String, Path, description = "Service id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = Option<model::ClaimRequest>, content_type = "application/json", description = "Optional."),
    responses(
        (status = 200, description = "The leased jobs (an empty list when none is waiting).", body = Linked<Vec<model::LeasedJob>>),
        (status = 400, description = "Deserialization Error From Client Data (a field of the wrong type or out of range); Request Not JSON (a non-empty body without a JSON `Content-Type`, or a malformed one).", body = TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Service Not Found.", body = TopChefErrors),
        (status = 413, description = "Request Entity Too Large: the body is over `BRIGADE_MAX_BODY_BYTES`.", body = TopChefErrors),
        (status = 415, description = "Unsupported Media Type: a `Content-Type` that is not JSON (a form post is refused).", body = TopChefErrors),
    )
)]
pub async fn claim(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    OptionalJson(body): OptionalJson<model::ClaimRequest>,
) -> Result<impl IntoResponse> {
    let request = pb::ClaimJobsRequest {
        service_id: id.clone(),
        max_jobs: body.max_jobs.given().map_or(1, |n| n.as_i32()),
        lease_seconds: body.lease_seconds.given().map_or(0, |n| n.0),
        worker_id: body.worker_id.given().unwrap_or_default(),
    };
    let response = state.jq().claim_jobs(request).await?;
    let jobs = response.into_inner().jobs;
    Ok(Linked {
        data: jobs.into_iter().map(model::LeasedJob::from).collect::<Vec<_>>(),
        links: Links::to(base.join(&format!("/services/{id}/jobs/claim"))),
    })
}

impl Body for model::LeaseHeartbeat {
    fn check(&self, problems: &mut Problems) {
        problems.required("lease_token", &self.lease_token);
        problems.optional("lease_seconds", &self.lease_seconds);
        problems.optional("progress", &self.progress);
        problems.optional("progress_message", &self.progress_message);
        if let crate::fields::Field::Given(m) = &self.progress_message
            && m.chars().count() > 200
        {
            problems.push("progress_message", "Longer than 200 characters.");
        }
    }
}

/// Extends a lease and reports progress; the answer says when the job was cancelled.
#[utoipa::path(
    post, path = "/jobs/{id}/heartbeat", operation_id = "heartbeat_lease", tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = model::LeaseHeartbeat, content_type = "application/json"),
    responses(
        (status = 200, description = "The lease's new expiry.", body = model::LeaseExtended),
        (status = 400, description = "Stale Lease (the token is not the job's current lease token; nothing changes); Deserialization Error From Client Data (`lease_token` missing, a field of the wrong type or out of range); Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = TopChefErrors),
        BrigadeBodyErrors,
    )
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    PathId(id): PathId,
    Json(body): Json<model::LeaseHeartbeat>,
) -> Result<Response> {
    let request = pb::ExtendLeaseRequest {
        job_id: id,
        lease_token: body.lease_token.given().unwrap_or_default(),
        lease_seconds: body.lease_seconds.given().map_or(0, |n| n.0),
        progress: body.progress.given().map(|p| p.0),
        progress_message: body.progress_message.given(),
    };
    let response = state.jq().extend_lease(request).await?.into_inner();
    let data = model::LeaseExtendedData {
        lease_expires_at: scale_date(response.lease_expires_at.as_ref()),
        cancelled: response.cancelled,
        cancel_reason: Some(response.cancel_reason).filter(|r| !r.is_empty()),
    };
    Ok(json(StatusCode::OK, model::LeaseExtended { data }))
}

impl Body for model::CompleteRequest {
    fn check(&self, problems: &mut Problems) {
        problems.required("lease_token", &self.lease_token);
        problems.required("results", &self.results);
    }
}

/// Completes a leased job with its results (exactly once).
#[utoipa::path(
    post, path = "/jobs/{id}/complete", operation_id = "complete_job", tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = model::CompleteRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The job, COMPLETED.", body = Linked<JobDetail>),
        (status = 400, description = "JSONSchema Validation Error (results invalid; the job stays WORKING); Stale Lease (the token is not the job's current lease token; nothing changes); Failed Precondition (e.g. the job was cancelled); Deserialization Error From Client Data; Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = TopChefErrors),
        BrigadeBodyErrors,
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    Json(body): Json<model::CompleteRequest>,
) -> Result<Linked<JobDetail>> {
    let request = pb::CompleteJobRequest {
        job_id: id,
        lease_token: body.lease_token.given().unwrap_or_default(),
        results_json: body.results.given().map(|o| o.0).unwrap_or_default(),
    };
    let response = state.jq().complete_job(request).await?;
    let job = response.into_inner().job;
    Ok(job_response(&base, job))
}

impl Body for model::FailRequest {
    fn check(&self, problems: &mut Problems) {
        problems.required("lease_token", &self.lease_token);
        problems.optional("error", &self.error);
        problems.optional("retry", &self.retry);
        problems.optional("release", &self.release);
    }
}

/// Fails a leased job, or puts it back to REGISTERED with `retry` while attempts remain.
#[utoipa::path(
    post, path = "/jobs/{id}/fail", operation_id = "fail_job", tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    request_body(content = model::FailRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The job, ERROR (or REGISTERED again).", body = Linked<JobDetail>),
        (status = 400, description = "Stale Lease (the token is not the job's current lease token; nothing changes); Failed Precondition; Deserialization Error From Client Data; Request Not JSON (no `Content-Type`, an empty, malformed, non-UTF-8 or too deeply nested body).", body = TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = TopChefErrors),
        BrigadeBodyErrors,
    )
)]
pub async fn fail(
    State(state): State<AppState>,
    base: BaseUrl,
    PathId(id): PathId,
    Json(body): Json<model::FailRequest>,
) -> Result<Linked<JobDetail>> {
    let request = pb::FailJobRequest {
        job_id: id,
        lease_token: body.lease_token.given().unwrap_or_default(),
        error_message: body.error.given().unwrap_or_default(),
        retry: body.retry.given().unwrap_or(false),
        release: body.release.given().unwrap_or(false),
    };
    let response = state.jq().fail_job(request).await?;
    let job = response.into_inner().job;
    Ok(job_response(&base, job))
}

/// Cancels a REGISTERED or WORKING job.
#[utoipa::path(
    post, path = "/jobs/{id}/cancel", operation_id = "cancel_job", tag = "Worker protocol",
    params(("id" = String, Path, description = "Job id: a UUID in any spelling Python's `UUID()` accepts.")),
    responses(
        (status = 200, description = "The job, ERROR with `cancelled: true` (any lease is revoked).", body = Linked<JobDetail>),
        (status = 400, description = "Failed Precondition: the job has already ended.", body = TopChefErrors),
        (status = 415, description = "Unsupported Media Type: a `Content-Type` that is not JSON (a form post is refused).", body = TopChefErrors),
        (status = 404, description = "Not UUID Error (the id is not a UUID) or Job Not Found.", body = TopChefErrors),
    )
)]
pub async fn cancel(State(state): State<AppState>, base: BaseUrl, PathId(id): PathId) -> Result<Linked<JobDetail>> {
    let response = state
        .jq()
        .cancel_job(pb::CancelJobRequest {
            job_id: id,
            ..Default::default()
        })
        .await?;
    let job = response.into_inner().job;
    Ok(job_response(&base, job))
}
