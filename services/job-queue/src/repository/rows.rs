//! Rows as the databases return them, and their conversion into domain types.
//! A job's status is stored as its name and read back through `sqlx::Type`:
//! a name that is not a status fails the read instead of turning into ERROR.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use super::{QueueCounts, ResolvedJobType};
use crate::domain::{
    AttemptOutcome, Job, JobAttempt, JobId, JobStatus, RowVersion, Service, ServiceId, ServiceRevision,
};

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

impl<DB: Database> Type<DB> for AttemptOutcome
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

impl<'q, DB: Database> Encode<'q, DB> for AttemptOutcome
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        self.as_str().to_owned().encode(buf)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for AttemptOutcome
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<DB>>::decode(value)?;
        AttemptOutcome::from_stored(text).ok_or_else(|| format!("{text:?} is not an attempt outcome").into())
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
    max_concurrency: Option<i32>,
    paused: bool,
    retry_backoff_base_ms: i64,
    retry_backoff_cap_ms: i64,
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
            max_concurrency: r.max_concurrency,
            paused: r.paused,
            retry_backoff_base_ms: r.retry_backoff_base_ms,
            retry_backoff_cap_ms: r.retry_backoff_cap_ms,
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
    priority: i32,
    due_at: Option<i64>,
    idempotency_key: Option<String>,
    recipe_id: Option<String>,
    recipe_node: Option<String>,
    progress: Option<i32>,
    progress_message: Option<String>,
    cancel_reason: Option<String>,
    row_version: i64,
    applied_token: Option<String>,
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
            priority: r.priority,
            due_at: r.due_at,
            idempotency_key: r.idempotency_key,
            recipe_id: r.recipe_id,
            recipe_node: r.recipe_node,
            progress: r.progress,
            progress_message: r.progress_message,
            cancel_reason: r.cancel_reason,
            row_version: r.row_version,
            applied_token: r.applied_token,
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

/// One status's line of [`QUEUE_COUNTS`](super::queries::QUEUE_COUNTS).
#[derive(sqlx::FromRow)]
pub(super) struct StatusCountRow {
    status: JobStatus,
    count: i64,
    due_later: i64,
    last_minute: i64,
    last_hour: i64,
}

/// The lines folded into one [`QueueCounts`]; each window counts on its own status only.
pub(super) fn queue_counts(rows: Vec<StatusCountRow>) -> QueueCounts {
    let mut counts = QueueCounts::default();
    for row in rows {
        match row.status {
            JobStatus::Registered => {
                counts.registered = row.count;
                counts.due_later = row.due_later;
            }
            JobStatus::Working => counts.working = row.count,
            JobStatus::Completed => {
                counts.completed = row.count;
                counts.completed_last_minute = row.last_minute;
                counts.completed_last_hour = row.last_hour;
            }
            JobStatus::Error => counts.error = row.count,
        }
    }
    counts
}

pub(super) fn jobs(rows: Vec<JobRow>) -> Vec<Job> {
    rows.into_iter().map(Job::from).collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct AttemptRow {
    number: i32,
    worker_id: String,
    claimed: i64,
    finished: Option<i64>,
    outcome: AttemptOutcome,
    error_message: Option<String>,
}

impl From<AttemptRow> for JobAttempt {
    fn from(r: AttemptRow) -> Self {
        Self {
            number: r.number,
            worker_id: r.worker_id,
            claimed: r.claimed,
            finished: r.finished,
            outcome: r.outcome,
            error_message: r.error_message,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ExpiredRow {
    #[sqlx(flatten)]
    job: JobRow,
    retry_backoff_base_ms: i64,
    retry_backoff_cap_ms: i64,
}

impl From<ExpiredRow> for super::ExpiredLease {
    fn from(r: ExpiredRow) -> Self {
        Self {
            job: r.job.into(),
            retry_backoff_base_ms: r.retry_backoff_base_ms,
            retry_backoff_cap_ms: r.retry_backoff_cap_ms,
        }
    }
}
