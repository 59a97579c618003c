//! TopChef's request and response bodies: the handlers build these, serde
//! writes them and utoipa documents them. Field order is the wire order.

use axum::response::{IntoResponse, Response};
use brigade_proto::jobqueue::v1 as pb;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoResponses, ToSchema};

use crate::envelope::{document, json, scale_date, topchef_date};
use crate::error::ErrorObject;
use crate::fields::{AnyObject, Field, Int32, Kind, Limit, Object, PositiveInt, Timestamp};

/// TopChef's error envelope. The HTTP status is reduced over the objects: equal
/// codes stay, any mix of 4xx is 400, a 5xx anywhere is 500.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"errors": [{"detail": "a service with UUID 0b7e5a5e-1d2f-4a6c-9a53-3f1f0e5c2d11 does not exist", "status_code": 404, "title": "Service Not Found"}]}))]
pub struct TopChefErrors {
    #[schema(min_items = 1)]
    pub errors: Vec<ErrorObject>,
}

/// A body TopChef routes refuse before looking at it (a `Content-Type` that is not JSON is
/// TopChef's 400 `Request Not JSON`, as the original answers).
#[derive(IntoResponses)]
pub enum TopChefBodyErrors {
    /// Request Entity Too Large: the body is over `BRIGADE_MAX_BODY_BYTES`.
    #[response(status = 413)]
    TooLarge(TopChefErrors),
}

/// A body Brigade's own routes refuse before looking at it.
#[derive(IntoResponses)]
pub enum BrigadeBodyErrors {
    /// Request Entity Too Large: the body is over `BRIGADE_MAX_BODY_BYTES`.
    #[response(status = 413)]
    TooLarge(TopChefErrors),
    /// Unsupported Media Type: a `Content-Type` that is not `application/json` (or
    /// `application/*+json`), e.g. a form post, whatever the body.
    #[response(status = 415)]
    UnsupportedMediaType(TopChefErrors),
}

/// TopChef's response envelope: the resource in `data`, where it lives in
/// `links`, and the JSON Schemas (draft-04) that describe it in `meta`.
#[derive(Serialize, ToSchema)]
pub struct Envelope<D, L, M> {
    pub data: D,
    pub links: L,
    pub meta: M,
}

impl<D: Serialize, L: Serialize, M: Serialize> IntoResponse for Envelope<D, L, M> {
    fn into_response(self) -> Response {
        json(StatusCode::OK, self)
    }
}

/// The envelope where TopChef sends no `meta`.
#[derive(Serialize, ToSchema)]
pub struct Linked<D> {
    pub data: D,
    pub links: Links,
}

impl<D: Serialize> IntoResponse for Linked<D> {
    fn into_response(self) -> Response {
        json(StatusCode::OK, self)
    }
}

/// `links` of a TopChef response.
#[derive(Serialize, ToSchema)]
pub struct Links {
    /// Absolute URL of this resource.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    pub self_url: String,
}

impl Links {
    pub fn to(self_url: String) -> Self {
        Self { self_url }
    }
}

/// `links` of a TopChef list; `next` is present only on a page that has a successor.
#[derive(Serialize, ToSchema)]
pub struct PagedLinks {
    /// Absolute URL of this list.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    pub self_url: String,
    /// Absolute URL of the next page (it carries `page_token`); absent on the last page
    /// and when the list was not paged.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false, format = "uri")]
    pub next: Option<String>,
}

impl PagedLinks {
    /// Links whose `next` is already built (see `JobListing::next_link`).
    pub fn with_next(self_url: String, next: Option<String>) -> Self {
        Self { self_url, next }
    }

    pub fn new(self_url: String, next_token: Option<String>) -> Self {
        let next = next_token.map(|token| {
            let sep = if self_url.contains('?') { '&' } else { '?' };
            format!(
                "{}{sep}page_token={token}",
                self_url.split('?').next().unwrap_or(&self_url)
            )
        });
        Self { self_url, next }
    }
}

/// `GET /` data.
#[derive(Serialize, ToSchema)]
pub struct ApiMetadata {
    /// `BRIGADE_API_DOCUMENTATION_URL`.
    pub documentation_url: String,
    /// `BRIGADE_API_MAINTAINER_EMAIL`.
    pub maintainer_email: String,
    /// `BRIGADE_API_MAINTAINER_NAME`.
    pub maintainer_name: String,
    /// `BRIGADE_API_SOURCE_CODE_URL`.
    pub source_code_repository_url: String,
    /// `BRIGADE_API_VERSION` (default: Brigade's version).
    pub version: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiMetadataMeta {
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub schema: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ValidatorInfoMeta {
    /// JSON Schema (draft-04) of the `POST /validator` body.
    #[schema(value_type = Object)]
    pub validator_schema: Value,
}

/// `POST /validator` body.
#[derive(Deserialize, ToSchema)]
pub struct ValidatorRequest {
    /// A JSON Schema (draft-04 unless `$schema` names another draft).
    #[serde(default)]
    #[schema(value_type = Object, required = true)]
    pub schema: Field<AnyObject>,
    /// The instance to validate against `schema`.
    #[serde(default)]
    #[schema(value_type = Object, required = true)]
    pub object: Field<AnyObject>,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationSuccessData {
    #[schema(example = "Validation was successful")]
    pub status: &'static str,
}

/// A service in the list.
#[derive(Serialize, ToSchema)]
pub struct ServiceOverview {
    pub description: String,
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
}

impl From<pb::Service> for ServiceOverview {
    fn from(s: pb::Service) -> Self {
        Self {
            description: s.description,
            id: s.id,
            name: s.name,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceListMeta {
    /// JSON Schema (draft-04) of each entry of `data`.
    #[schema(value_type = Object)]
    pub service_schema: Value,
    /// JSON Schema (draft-04) of the `POST /services` body.
    #[schema(value_type = Object)]
    pub new_service_schema: Value,
}

/// `POST /services` body. Unknown keys are ignored.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "spectrometer",
    "description": "Takes a spectrum",
    "job_registration_schema": {"type": "object", "properties": {"exposure_ms": {"type": "integer"}}, "required": ["exposure_ms"]},
    "job_result_schema": {"type": "object", "properties": {"counts": {"type": "array", "items": {"type": "number"}}}},
    "version": "1.0.0",
    "timeout": 30
}))]
pub struct NewService {
    /// Not blank, at most 200 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Field<String>,
    #[schema(value_type = String, required = true)]
    pub description: Field<String>,
    /// JSON Schema of a job's `parameters`; checked against its meta-schema.
    #[schema(value_type = Object, required = true)]
    pub job_registration_schema: Field<Object>,
    /// JSON Schema of a job's `results`; checked against its meta-schema.
    #[schema(value_type = Object, required = true)]
    pub job_result_schema: Field<Object>,
    /// `(name, version)` is unique; default `1.0.0`.
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$", example = "1.0.0")]
    pub version: Field<String>,
    /// Seconds without a check-in after which `has_timed_out` is true.
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub timeout: Field<PositiveInt>,
    /// Attempts before a job whose leases keep expiring goes to ERROR (default 3).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub max_attempts: Field<PositiveInt>,
    /// Default lease length in seconds (default 30).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 86400)]
    pub lease_seconds: Field<PositiveInt>,
    /// Most jobs WORKING at once (e.g. 1 for an instrument); `null` or left out: no limit.
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 1000000)]
    pub max_concurrency: Field<Limit>,
    /// No claims while paused; submits are still accepted (default false).
    #[schema(value_type = Option<bool>)]
    pub paused: Field<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedServiceData {
    #[schema(example = "service successfully created")]
    pub message: &'static str,
    #[schema(format = "uuid")]
    pub id: String,
}

/// A service in detail.
#[derive(Serialize, ToSchema)]
pub struct ServiceDetail {
    pub description: String,
    /// More than `timeout` seconds since the last check-in.
    pub has_timed_out: bool,
    #[schema(format = "uuid")]
    pub id: String,
    /// The manual availability flag.
    pub is_service_available: bool,
    /// The current revision's registration schema.
    #[schema(value_type = Object)]
    pub job_registration_schema: Value,
    /// The current revision's result schema.
    #[schema(value_type = Object)]
    pub job_result_schema: Value,
    /// Every job of the service, oldest first.
    pub jobs: Vec<JobOverview>,
    pub name: String,
    /// Seconds.
    pub timeout: i64,
    pub version: String,
    /// Schema revision, from 1; a PATCH that changes either schema adds one.
    pub revision: i64,
    pub max_attempts: i32,
    pub lease_seconds: i64,
    /// Most jobs WORKING at once; `null`: no limit.
    #[schema(required = true)]
    pub max_concurrency: Option<i32>,
    /// No claims while paused.
    pub paused: bool,
}

impl ServiceDetail {
    pub fn new(s: pb::Service, jobs: &[pb::Job]) -> Self {
        Self {
            description: s.description,
            has_timed_out: s.has_timed_out,
            id: s.id,
            is_service_available: s.is_service_available,
            job_registration_schema: document(&s.job_registration_schema_json),
            job_result_schema: document(&s.job_result_schema_json),
            jobs: jobs.iter().map(JobOverview::from).collect(),
            name: s.name,
            timeout: s.timeout_seconds,
            version: s.version,
            revision: s.revision,
            max_attempts: s.max_attempts,
            lease_seconds: s.lease_seconds,
            max_concurrency: s.max_concurrency,
            paused: s.paused,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceDetailMeta {
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub service_schema: Value,
}

/// `PATCH /services/{id}` JSON body: every key optional, `null` means unchanged,
/// unknown keys ignored. All are checked before anything changes.
#[derive(Deserialize, ToSchema)]
pub struct ServicePatch {
    #[schema(value_type = Option<bool>)]
    pub is_available: Field<bool>,
    #[schema(value_type = Option<String>)]
    pub description: Field<String>,
    /// Not blank, at most 200 characters.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Field<String>,
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub timeout: Field<PositiveInt>,
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$")]
    pub version: Field<String>,
    #[schema(value_type = Option<Object>)]
    pub job_registration_schema: Field<Object>,
    #[schema(value_type = Option<Object>)]
    pub job_result_schema: Field<Object>,
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub max_attempts: Field<PositiveInt>,
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 86400)]
    pub lease_seconds: Field<PositiveInt>,
    /// An integer ≥ 1 sets the limit; `null` removes it; left out: unchanged.
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 1000000)]
    pub max_concurrency: Field<Limit>,
    /// Pause (`true`) or resume (`false`) claims.
    #[schema(value_type = Option<bool>)]
    pub paused: Field<bool>,
}

/// `PATCH /services/{id}` without a JSON body: a heartbeat.
#[derive(Serialize, ToSchema)]
pub struct CheckedIn {
    #[schema(example = "Service checked in at 2024-05-01T12:00:00.123456")]
    pub meta: String,
}

/// `PATCH /services/{id}`: the service after the change, or the heartbeat message.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ServicePatched {
    Updated(Box<Envelope<ServiceDetail, PagedLinks, ServiceDetailMeta>>),
    CheckedIn(CheckedIn),
}

/// A job's status.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobStatus {
    Registered = pb::JobStatus::Registered as isize,
    Working = pb::JobStatus::Working as isize,
    Completed = pb::JobStatus::Completed as isize,
    Error = pb::JobStatus::Error as isize,
}

impl JobStatus {
    pub fn to_pb(self) -> pb::JobStatus {
        match self {
            Self::Registered => pb::JobStatus::Registered,
            Self::Working => pb::JobStatus::Working,
            Self::Completed => pb::JobStatus::Completed,
            Self::Error => pb::JobStatus::Error,
        }
    }
}

impl From<i32> for JobStatus {
    fn from(status: i32) -> Self {
        match pb::JobStatus::try_from(status) {
            Ok(pb::JobStatus::Registered) => Self::Registered,
            Ok(pb::JobStatus::Working) => Self::Working,
            Ok(pb::JobStatus::Completed) => Self::Completed,
            _ => Self::Error,
        }
    }
}

/// A status in any letter case, as TopChef's PATCH takes it.
impl Kind for JobStatus {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        let problem = |m: &str| Err(vec![(String::new(), m.to_owned())]);
        let Value::String(s) = value else {
            return problem("Not a valid string.");
        };
        match s.trim().to_ascii_uppercase().as_str() {
            "REGISTERED" => Ok(Self::Registered),
            "WORKING" => Ok(Self::Working),
            "COMPLETED" => Ok(Self::Completed),
            "ERROR" => Ok(Self::Error),
            _ => problem("Unknown value for job status enum"),
        }
    }
}

/// A job in a list.
#[derive(Serialize, ToSchema)]
pub struct JobOverview {
    #[schema(format = DateTime)]
    pub date_submitted: String,
    #[schema(format = "uuid")]
    pub id: String,
    pub status: JobStatus,
}

impl From<&pb::Job> for JobOverview {
    fn from(job: &pb::Job) -> Self {
        Self {
            date_submitted: topchef_date(job.date_submitted.as_ref()),
            id: job.id.clone(),
            status: job.status.into(),
        }
    }
}

/// A job.
#[derive(Serialize, ToSchema)]
pub struct JobDetail {
    #[schema(format = DateTime)]
    pub date_submitted: String,
    #[schema(format = "uuid")]
    pub id: String,
    /// Valid against the registration schema of the revision it was submitted under.
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// `null` until results are set.
    #[schema(required = true, value_type = Option<Object>)]
    pub results: Value,
    pub status: JobStatus,
}

impl From<&pb::Job> for JobDetail {
    fn from(job: &pb::Job) -> Self {
        Self {
            date_submitted: topchef_date(job.date_submitted.as_ref()),
            id: job.id.clone(),
            parameters: document(&job.parameters_json),
            results: job.results_json.as_deref().map_or(Value::Null, document),
            status: job.status.into(),
        }
    }
}

/// One delivery of a job to a worker.
#[derive(Serialize, ToSchema)]
pub struct JobAttempt {
    /// From 1.
    pub number: i32,
    pub worker_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub claimed: Option<String>,
    /// `null` while the attempt runs.
    #[schema(required = true, format = DateTime)]
    pub finished: Option<String>,
    /// `RUNNING`, `COMPLETED`, `FAILED`, `RETRIED`, `EXPIRED`, `RELEASED` or `CANCELLED`.
    pub outcome: String,
    #[schema(required = true)]
    pub error_message: Option<String>,
}

impl From<pb::JobAttempt> for JobAttempt {
    fn from(a: pb::JobAttempt) -> Self {
        Self {
            number: a.number,
            worker_id: a.worker_id,
            claimed: scale_date(a.claimed.as_ref()),
            finished: scale_date(a.finished.as_ref()),
            outcome: a.outcome,
            error_message: a.error_message,
        }
    }
}

/// A job with Brigade's fields.
#[derive(Serialize, ToSchema)]
pub struct JobFull {
    #[serde(flatten)]
    pub job: JobDetail,
    #[schema(format = "uuid")]
    pub service_id: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Set by a failure.
    #[schema(required = true)]
    pub error_message: Option<String>,
    pub cancelled: bool,
    /// Higher is claimed first, then oldest (default 0).
    pub priority: i32,
    /// When a REGISTERED job becomes claimable (`run_at` or retry backoff); `null` when due now.
    #[schema(required = true, format = DateTime)]
    pub due_at: Option<String>,
    /// 0–100, reported by the worker with its heartbeats.
    #[schema(required = true)]
    pub progress: Option<i32>,
    #[schema(required = true)]
    pub progress_message: Option<String>,
    /// Why the job was cancelled.
    #[schema(required = true)]
    pub cancel_reason: Option<String>,
    /// Every attempt, oldest first.
    pub attempt_history: Vec<JobAttempt>,
    /// The recipe this job belongs to (a Scale recipe id), else `null`.
    #[schema(required = true)]
    pub recipe_id: Option<String>,
    /// The recipe node this job runs, else `null`.
    #[schema(required = true)]
    pub recipe_node: Option<String>,
}

impl From<pb::Job> for JobFull {
    fn from(job: pb::Job) -> Self {
        Self {
            job: JobDetail::from(&job),
            service_id: job.service_id,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            error_message: job.error_message,
            cancelled: job.cancelled,
            priority: job.priority,
            due_at: scale_date(job.due_at.as_ref()),
            progress: job.progress,
            progress_message: job.progress_message,
            cancel_reason: job.cancel_reason,
            attempt_history: job.attempt_history.into_iter().map(JobAttempt::from).collect(),
            recipe_id: job.recipe_id,
            recipe_node: job.recipe_node,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct JobFullMeta {
    /// JSON Schema (draft-04) of a job.
    #[schema(value_type = Object)]
    pub job_info_schema: Value,
    /// JSON Schema (draft-04) of the `PATCH /jobs/{id}` body.
    #[schema(value_type = Object)]
    pub patch_request_schema: Value,
}

#[derive(Serialize, ToSchema)]
pub struct DataSchemaMeta {
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub data_schema: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceJobsMeta {
    /// JSON Schema (draft-04) of the `POST /services/{id}/jobs` body, holding the
    /// service's registration schema as `parameters`.
    #[schema(value_type = Object)]
    pub new_job_schema: Value,
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub data_schema: Value,
}

#[derive(Serialize, ToSchema)]
pub struct NextJobMeta {
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub job_schema: Value,
}

/// `POST /services/{id}/jobs` body. Unknown keys are ignored.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"parameters": {"exposure_ms": 250}}))]
pub struct NewJob {
    /// Validated against the service's current registration schema.
    #[schema(value_type = Object, required = true)]
    pub parameters: Field<Object>,
    #[serde(flatten)]
    pub controls: JobControls,
}

/// Queue controls of a submit (single or batch).
#[derive(Deserialize, ToSchema)]
pub struct JobControls {
    /// Higher is claimed first, then oldest (default 0).
    #[schema(value_type = Option<i32>)]
    pub priority: Field<Int32>,
    /// RFC 3339: the job is not claimable before then (it stays REGISTERED with `due_at`).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub run_at: Field<Timestamp>,
    /// A second submit with the same key for the same service answers 200 with the first job;
    /// a different body under a used key is 409. At most 200 characters.
    #[schema(value_type = Option<String>, max_length = 200)]
    pub idempotency_key: Field<String>,
}

/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

impl JobControls {
    pub fn check(&self, problems: &mut crate::topchef::extract::Problems) {
        problems.optional("priority", &self.priority);
        problems.optional("run_at", &self.run_at);
        problems.optional("idempotency_key", &self.idempotency_key);
        if let Field::Given(key) = &self.idempotency_key
            && (key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY)
        {
            problems.push(
                "idempotency_key",
                format!("Must be between 1 and {MAX_IDEMPOTENCY_KEY} characters."),
            );
        }
    }
}

/// A page of a bulk operation's outcome.
#[derive(Serialize, ToSchema)]
pub struct BulkCount {
    /// How many jobs were touched.
    pub count: i64,
}

/// `POST /services/{id}/jobs/cancel` and `/retry` body: which jobs.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"status": ["REGISTERED"], "since": "2026-01-01T00:00:00Z"}))]
pub struct BulkFilter {
    /// A status or a list of statuses (required).
    #[schema(value_type = Vec<JobStatus>, required = true)]
    pub status: Field<StatusList>,
    /// Only jobs submitted at or after this RFC 3339 time.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Field<Timestamp>,
    /// Only jobs submitted before this RFC 3339 time.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Field<Timestamp>,
    /// Kept as each cancelled job's `cancel_reason` (cancel only).
    #[schema(value_type = Option<String>)]
    pub reason: Field<String>,
}

/// One status, or a list of 1–4 statuses.
#[derive(Debug)]
pub struct StatusList(pub Vec<JobStatus>);

impl Kind for StatusList {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        let items = match value {
            Value::Array(items) if !items.is_empty() && items.len() <= 4 => items,
            Value::Array(_) => return Err(vec![(String::new(), "Must list 1 to 4 statuses.".to_owned())]),
            single => vec![single],
        };
        items
            .into_iter()
            .map(JobStatus::read)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

/// `POST /services/{id}/jobs` answer (`Location` names the job).
#[derive(Serialize, ToSchema)]
pub struct JobSubmitted {
    pub data: JobDetail,
    #[schema(example = "new job ID is 6f1c2a9e-4d1b-4e57-8c43-0a3f5b7d9e21")]
    pub meta: String,
}

/// `PATCH /jobs/{id}` body: free status change and results. Unknown keys are ignored.
#[derive(Deserialize, ToSchema)]
pub struct JobPatch {
    /// New status, in any letter case.
    #[schema(value_type = Option<JobStatus>)]
    pub status: Field<JobStatus>,
    /// Validated against the job's result schema.
    #[schema(value_type = Option<Object>)]
    pub results: Field<Object>,
}
