//! TopChef's request and response bodies: the handlers build these, serde
//! writes them and utoipa documents them. Field order is the wire order.

use axum::response::{IntoResponse, Response};
use brigade_proto::jobqueue::v1 as pb;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoResponses, ToSchema};

use crate::envelope::{document, json, topchef_date};
use crate::error::ErrorObject;
use crate::fields::{AnyObject, Field, Kind, Object, PositiveInt};

/// TopChef's error envelope. The HTTP status is reduced over the objects: equal
/// codes stay, any mix of 4xx is 400, a 5xx anywhere is 500.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"errors": [{"detail": "a service with UUID 0b7e5a5e-1d2f-4a6c-9a53-3f1f0e5c2d11 does not exist", "status_code": 404, "title": "Service Not Found"}]}))]
pub struct TopChefErrors {
    #[schema(min_items = 1)]
    pub errors: Vec<ErrorObject>,
}

/// A body TopChef routes refuse before looking at it.
#[derive(IntoResponses)]
pub enum TopChefBodyErrors {
    /// Request Entity Too Large: the body is over `BRIGADE_MAX_BODY_BYTES`.
    #[response(status = 413)]
    TooLarge(TopChefErrors),
    /// Request Not JSON: the `Content-Type` is not `application/json` (or `application/*+json`).
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
    pub documentation_url: &'static str,
    pub maintainer_email: &'static str,
    pub maintainer_name: &'static str,
    pub source_code_repository_url: &'static str,
    /// Brigade's version.
    pub version: &'static str,
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
    Updated(Box<Envelope<ServiceDetail, Links, ServiceDetailMeta>>),
    CheckedIn(CheckedIn),
}

/// A job's status.
#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobStatus {
    Registered = pb::JobStatus::Registered as isize,
    Working = pb::JobStatus::Working as isize,
    Completed = pb::JobStatus::Completed as isize,
    Error = pb::JobStatus::Error as isize,
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
