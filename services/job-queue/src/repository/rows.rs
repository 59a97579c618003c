//! Rows as the databases return them, and their conversion into domain types.
//! A job's status is stored as its name and read back through `sqlx::Type`:
//! a name that is not a status fails the read instead of turning into ERROR.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use super::ResolvedJobType;
use crate::domain::{Job, JobId, JobStatus, RowVersion, Service, ServiceId, ServiceRevision};

impl<DB: Database> Type<DB> for JobStatus
where
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: Database> Encode<'q, DB> for JobStatus
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        self.as_str().to_owned().encode(buf)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for JobStatus
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<DB>>::decode(value)?;
        JobStatus::from_stored(text).ok_or_else(|| format!("{text:?} is not a job status").into())
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ServiceRow {
    pub seq: i64,
    id: String,
    name: String,
    version: String,
    description: String,
    revision: i64,
    job_registration_schema: String,
    job_result_schema: String,
    timeout_seconds: i64,
    is_available: bool,
    last_checked_in: i64,
    created: i64,
    max_attempts: i32,
    lease_seconds: i64,
    row_version: i64,
}

impl From<ServiceRow> for Service {
    fn from(r: ServiceRow) -> Self {
        Self {
            id: ServiceId::from_stored(r.id),
            name: r.name,
            version: r.version,
            description: r.description,
            revision: r.revision,
            job_registration_schema: r.job_registration_schema,
            job_result_schema: r.job_result_schema,
            timeout_seconds: r.timeout_seconds,
            is_available: r.is_available,
            last_checked_in: r.last_checked_in,
            created: r.created,
            max_attempts: r.max_attempts,
            lease_seconds: r.lease_seconds,
            row_version: RowVersion(r.row_version),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RevisionRow {
    service_id: String,
    revision: i64,
    job_registration_schema: String,
    job_result_schema: String,
    created: i64,
}

impl From<RevisionRow> for ServiceRevision {
    fn from(r: RevisionRow) -> Self {
        Self {
            service_id: ServiceId::from_stored(r.service_id),
            revision: r.revision,
            job_registration_schema: r.job_registration_schema,
            job_result_schema: r.job_result_schema,
            created: r.created,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    seq: i64,
    id: String,
    service_id: String,
    status: JobStatus,
    parameters: String,
    results: Option<String>,
    date_submitted: i64,
    attempts: i32,
    max_attempts: i32,
    lease_token: Option<String>,
    lease_expires_at: Option<i64>,
    error_message: Option<String>,
    service_revision: i64,
    cancelled: bool,
    updated: i64,
}

impl From<JobRow> for Job {
    fn from(r: JobRow) -> Self {
        Self {
            seq: r.seq,
            id: JobId::from_stored(r.id),
            service_id: ServiceId::from_stored(r.service_id),
            status: r.status,
            parameters: r.parameters,
            results: r.results,
            date_submitted: r.date_submitted,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            lease_token: r.lease_token,
            lease_expires_at: r.lease_expires_at,
            error_message: r.error_message,
            service_revision: r.service_revision,
            cancelled: r.cancelled,
            updated: r.updated,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ResolvedRow {
    service_id: String,
    name: String,
    version: String,
    description: String,
    latest_revision: i64,
    revision: i64,
    job_registration_schema: String,
    job_result_schema: String,
}

impl From<ResolvedRow> for ResolvedJobType {
    fn from(r: ResolvedRow) -> Self {
        Self {
            key: super::JobTypeKey {
                name: r.name,
                version: r.version,
                revision: r.revision,
            },
            service_id: ServiceId::from_stored(r.service_id),
            description: r.description,
            latest_revision: r.latest_revision,
            job_registration_schema: r.job_registration_schema,
            job_result_schema: r.job_result_schema,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct CountRow {
    service_id: String,
    status: JobStatus,
    count: i64,
}

impl From<CountRow> for (ServiceId, JobStatus, i64) {
    fn from(r: CountRow) -> Self {
        (ServiceId::from_stored(r.service_id), r.status, r.count)
    }
}

pub(super) fn jobs(rows: Vec<JobRow>) -> Vec<Job> {
    rows.into_iter().map(Job::from).collect()
}
