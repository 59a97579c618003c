//! Wire messages to domain types and back. Requests become validated domain
//! values through `TryFrom` (failures are `InvalidArgument`).

use brigade_proto::jobqueue::v1 as pb;
use prost_types::Timestamp;

use crate::domain::{Job, JobAttempt, JobId, JobStatus, Service, ServiceId, ServicePatch, now_micros};
use crate::error::Error;
use crate::repository::{Completion, JobFilter, JobTypeKey};
use crate::service::{NewService, Submission};

pub fn timestamp(micros: i64) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

pub fn service_to_pb(s: Service) -> pb::Service {
    let now = now_micros();
    pb::Service {
        has_timed_out: s.has_timed_out(now),
        id: s.id.into_string(),
        name: s.name,
        description: s.description,
        version: s.version,
        revision: s.revision,
        job_registration_schema_json: s.job_registration_schema,
        job_result_schema_json: s.job_result_schema,
        timeout_seconds: s.timeout_seconds,
        is_service_available: s.is_available,
        last_checked_in: Some(timestamp(s.last_checked_in)),
        created: Some(timestamp(s.created)),
        max_attempts: s.max_attempts,
        lease_seconds: s.lease_seconds,
        max_concurrency: s.max_concurrency,
        paused: s.paused,
        retry_backoff_base_ms: s.retry_backoff_base_ms,
        retry_backoff_cap_ms: s.retry_backoff_cap_ms,
    }
}

/// Microseconds from a wire timestamp; one out of range is the client's mistake.
pub(super) fn micros(field: &str, t: &Timestamp) -> Result<i64, Error> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(Error::invalid(field, "nanos must be between 0 and 999999999"));
    }
    t.seconds
        .checked_mul(1_000_000)
        .and_then(|s| s.checked_add(i64::from(t.nanos / 1000)))
        // Years 0001 through 9999, as RFC 3339 can write them.
        .filter(|m| (-62_135_596_800_000_000..=253_402_300_799_000_000).contains(m))
        .ok_or_else(|| Error::invalid(field, "timestamp out of range"))
}

fn optional_micros(field: &str, t: Option<&Timestamp>) -> Result<Option<i64>, Error> {
    t.map(|t| micros(field, t)).transpose()
}

/// A job with its attempt history (GetJob, WatchJob).
pub fn job_detail_to_pb(j: Job, attempts: Vec<JobAttempt>) -> pb::Job {
    let mut job = job_to_pb(j);
    job.attempt_history = attempts
        .into_iter()
        .map(|a| pb::JobAttempt {
            number: a.number,
            worker_id: a.worker_id,
            claimed: Some(timestamp(a.claimed)),
            finished: a.finished.map(timestamp),
            outcome: a.outcome.as_str().to_owned(),
            error_message: a.error_message,
        })
        .collect();
    job
}

/// Statuses a filter names; UNSPECIFIED is not a status to filter by.
pub(super) fn statuses_from_pb(field: &str, values: &[i32]) -> Result<Vec<JobStatus>, Error> {
    brigade_common::limits::check_filter_count(values.len()).map_err(|e| Error::invalid(field, e))?;
    values
        .iter()
        .map(|v| status_from_pb(*v)?.ok_or_else(|| Error::invalid(field, "JOB_STATUS_UNSPECIFIED is not a status")))
        .collect()
}

pub(super) fn filter_from_pb(f: Option<pb::JobFilter>) -> Result<JobFilter, Error> {
    let f = f.ok_or_else(|| Error::invalid("filter", "required"))?;
    Ok(JobFilter {
        service_id: Some(ServiceId::parse("filter.service_id", &f.service_id)?),
        statuses: statuses_from_pb("filter.statuses", &f.statuses)?,
        since: optional_micros("filter.since", f.since.as_ref())?,
        until: optional_micros("filter.until", f.until.as_ref())?,
    })
}

pub(super) fn list_filter_from_pb(r: &pb::ListJobsRequest) -> Result<JobFilter, Error> {
    Ok(JobFilter {
        service_id: match r.service_id.as_str() {
            "" => None,
            text => Some(ServiceId::parse("service_id", text)?),
        },
        statuses: statuses_from_pb("statuses", &r.statuses)?,
        since: optional_micros("since", r.since.as_ref())?,
        until: optional_micros("until", r.until.as_ref())?,
    })
}

impl TryFrom<pb::JobSubmission> for Submission {
    type Error = Error;

    fn try_from(j: pb::JobSubmission) -> Result<Self, Error> {
        Ok(Self {
            parameters: j.parameters_json,
            priority: j.priority,
            run_at: optional_micros("run_at", j.run_at.as_ref())?,
            idempotency_key: j.idempotency_key,
            recipe_id: j.recipe_id,
            recipe_node: j.recipe_node,
        })
    }
}

impl TryFrom<pb::SubmitJobRequest> for Submission {
    type Error = Error;

    fn try_from(r: pb::SubmitJobRequest) -> Result<Self, Error> {
        Ok(Self {
            parameters: r.parameters_json,
            priority: r.priority,
            run_at: optional_micros("run_at", r.run_at.as_ref())?,
            idempotency_key: r.idempotency_key,
            recipe_id: r.recipe_id,
            recipe_node: r.recipe_node,
        })
    }
}

impl From<JobStatus> for pb::JobStatus {
    fn from(s: JobStatus) -> Self {
        match s {
            JobStatus::Registered => Self::Registered,
            JobStatus::Working => Self::Working,
            JobStatus::Completed => Self::Completed,
            JobStatus::Error => Self::Error,
        }
    }
}

pub fn job_to_pb(j: Job) -> pb::Job {
    pb::Job {
        id: j.id.into_string(),
        service_id: j.service_id.into_string(),
        status: pb::JobStatus::from(j.status) as i32,
        parameters_json: j.parameters,
        results_json: j.results,
        date_submitted: Some(timestamp(j.date_submitted)),
        attempts: j.attempts,
        max_attempts: j.max_attempts,
        lease_expires_at: j.lease_expires_at.map(timestamp),
        error_message: j.error_message,
        service_revision: j.service_revision,
        cancelled: j.cancelled,
        priority: j.priority,
        due_at: j.due_at.map(timestamp),
        idempotency_key: j.idempotency_key,
        progress: j.progress,
        progress_message: j.progress_message,
        attempt_history: Vec::new(),
        cancel_reason: j.cancel_reason,
        recipe_id: j.recipe_id,
        recipe_node: j.recipe_node,
    }
}

pub(super) fn leased_to_pb(j: Job) -> pb::LeasedJob {
    pb::LeasedJob {
        lease_token: j.lease_token.clone().unwrap_or_default(),
        lease_expires_at: j.lease_expires_at.map(timestamp),
        job: Some(job_to_pb(j)),
    }
}

/// A status a client asked for; UNSPECIFIED leaves the status as it is.
pub(super) fn status_from_pb(value: i32) -> Result<Option<JobStatus>, Error> {
    match pb::JobStatus::try_from(value) {
        Ok(pb::JobStatus::Unspecified) => Ok(None),
        Ok(pb::JobStatus::Registered) => Ok(Some(JobStatus::Registered)),
        Ok(pb::JobStatus::Working) => Ok(Some(JobStatus::Working)),
        Ok(pb::JobStatus::Completed) => Ok(Some(JobStatus::Completed)),
        Ok(pb::JobStatus::Error) => Ok(Some(JobStatus::Error)),
        Err(_) => Err(Error::invalid("status", format!("unknown job status {value}"))),
    }
}

pub(super) fn service_id(text: &str) -> Result<ServiceId, Error> {
    ServiceId::parse("id", text)
}

pub(super) fn job_id(text: &str) -> Result<JobId, Error> {
    JobId::parse("id", text)
}

impl TryFrom<pb::CreateServiceRequest> for NewService {
    type Error = Error;

    fn try_from(r: pb::CreateServiceRequest) -> Result<Self, Error> {
        Ok(Self {
            name: r.name,
            description: r.description,
            version: Some(r.version).filter(|v| !v.is_empty()),
            job_registration_schema: r.job_registration_schema_json,
            job_result_schema: r.job_result_schema_json,
            timeout_seconds: r.timeout_seconds,
            max_attempts: r.max_attempts,
            lease_seconds: r.lease_seconds,
            max_concurrency: r.max_concurrency,
            paused: r.paused,
            retry_backoff_base_ms: r.retry_backoff_base_ms,
            retry_backoff_cap_ms: r.retry_backoff_cap_ms,
        })
    }
}

/// Which service an update is for, and what it changes.
pub(super) struct ServiceUpdate {
    pub id: ServiceId,
    pub patch: ServicePatch,
}

impl TryFrom<pb::UpdateServiceRequest> for ServiceUpdate {
    type Error = Error;

    fn try_from(r: pb::UpdateServiceRequest) -> Result<Self, Error> {
        let max_concurrency = match (r.max_concurrency, r.clear_max_concurrency) {
            (Some(_), true) => {
                return Err(Error::invalid(
                    "max_concurrency",
                    "set max_concurrency or clear it, not both",
                ));
            }
            (Some(limit), false) => Some(Some(limit)),
            (None, true) => Some(None),
            (None, false) => None,
        };
        Ok(Self {
            id: service_id(&r.id)?,
            patch: ServicePatch {
                is_available: r.is_available,
                description: r.description,
                name: r.name,
                timeout_seconds: r.timeout_seconds,
                version: r.version,
                job_registration_schema: r.job_registration_schema_json,
                job_result_schema: r.job_result_schema_json,
                max_attempts: r.max_attempts,
                lease_seconds: r.lease_seconds,
                max_concurrency,
                paused: r.paused,
                retry_backoff_base_ms: r.retry_backoff_base_ms,
                retry_backoff_cap_ms: r.retry_backoff_cap_ms,
            },
        })
    }
}

impl TryFrom<pb::CompleteJobRequest> for Completion {
    type Error = Error;

    fn try_from(r: pb::CompleteJobRequest) -> Result<Self, Error> {
        Ok(Self {
            id: JobId::parse("job_id", &r.job_id)?,
            lease_token: r.lease_token,
            results: r.results_json,
        })
    }
}

impl From<pb::JobTypeKey> for JobTypeKey {
    fn from(k: pb::JobTypeKey) -> Self {
        Self {
            name: k.name,
            version: k.version,
            revision: k.revision,
        }
    }
}
