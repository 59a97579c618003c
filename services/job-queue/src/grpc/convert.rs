//! Wire messages to domain types and back. Requests become validated domain
//! values through `TryFrom` (failures are `InvalidArgument`).

use brigade_proto::jobqueue::v1 as pb;
use prost_types::Timestamp;

use crate::domain::{Job, JobId, JobStatus, Service, ServiceId, ServicePatch, now_micros};
use crate::error::Error;
use crate::repository::{Completion, JobTypeKey};
use crate::service::NewService;

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
        ..Default::default()
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
        ..Default::default()
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
