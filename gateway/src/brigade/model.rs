//! Bodies of Brigade's own routes. The worker protocol answers in TopChef's
//! envelope and errors, so its jobs are TopChef's [`JobDetail`].

use brigade_proto::jobqueue::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::envelope::scale_date;
use crate::fields::{Field, Kind, Percent, PositiveInt};
use crate::topchef::model::{JobControls, JobDetail, TopChefErrors};

/// Liveness of the gateway process.
#[derive(Serialize, ToSchema)]
pub struct Liveness {
    #[schema(example = "ok")]
    pub status: LivenessStatus,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LivenessStatus {
    Ok,
}

/// Readiness: both services answer SERVING over gRPC health.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: ReadinessStatus,
    pub job_queue: ServingStatus,
    pub recipe_types: ServingStatus,
}

#[derive(Serialize, ToSchema)]
pub enum ReadinessStatus {
    #[serde(rename = "ready")]
    Ready,
    #[serde(rename = "not ready")]
    NotReady,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServingStatus {
    Serving,
    NotServing,
}

impl From<bool> for ServingStatus {
    fn from(serving: bool) -> Self {
        if serving { Self::Serving } else { Self::NotServing }
    }
}

/// `/readyz` when not ready: the readiness body, or (when the gateway sheds
/// load) the TopChef error envelope.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum NotReady {
    Readiness(Readiness),
    Shed(TopChefErrors),
}

/// 1–1000 parameter objects, each kept as its text.
#[derive(Debug)]
pub struct ParameterList(pub Vec<String>);

/// Largest batch accepted in one request.
pub const MAX_BATCH: usize = 1000;

impl Kind for ParameterList {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        let problem = |suffix: String, message: &str| (suffix, message.to_owned());
        let Value::Array(items) = value else {
            return Err(vec![problem(String::new(), "Not a valid list.")]);
        };
        if items.is_empty() || items.len() > MAX_BATCH {
            let message = format!("must hold between 1 and {MAX_BATCH} parameter objects");
            return Err(vec![problem(String::new(), &message)]);
        }
        let wrong: Vec<_> = (items.iter().enumerate())
            .filter(|(_, item)| !item.is_object())
            .map(|(i, _)| problem(format!("[{i}]"), "Not a valid mapping type."))
            .collect();
        if wrong.is_empty() {
            Ok(Self(items.iter().map(Value::to_string).collect()))
        } else {
            Err(wrong)
        }
    }
}

/// `POST /services/{id}/jobs/batch` body: all or nothing.
#[derive(Deserialize, ToSchema)]
pub struct JobBatch {
    /// Each validated against the service's registration schema.
    #[schema(value_type = Vec<Object>, required = true, min_items = 1, max_items = 1000)]
    pub parameters: Field<ParameterList>,
    /// Controls for every job of the batch. With `idempotency_key` K, job i (from 0) is keyed `K/i`,
    /// so the same batch sent again answers 200 with the first jobs.
    #[serde(flatten)]
    pub controls: JobControls,
}

/// `POST /services/{id}/jobs/claim` body (optional; empty means all defaults).
#[derive(Deserialize, ToSchema)]
pub struct ClaimRequest {
    /// How many jobs to lease at most (default 1).
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub max_jobs: Field<PositiveInt>,
    /// Lease length (default: the service's `lease_seconds`).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 86400)]
    pub lease_seconds: Field<PositiveInt>,
    #[schema(value_type = Option<String>)]
    pub worker_id: Field<String>,
}

/// A job leased to a worker.
#[derive(Serialize, ToSchema)]
pub struct LeasedJob {
    #[serde(flatten)]
    pub job: JobDetail,
    /// Needed to heartbeat, complete or fail the job.
    pub lease_token: String,
    #[schema(required = true, format = DateTime)]
    pub lease_expires_at: Option<String>,
}

impl From<pb::LeasedJob> for LeasedJob {
    fn from(leased: pb::LeasedJob) -> Self {
        Self {
            job: JobDetail::from(&leased.job.unwrap_or_default()),
            lease_token: leased.lease_token,
            lease_expires_at: scale_date(leased.lease_expires_at.as_ref()),
        }
    }
}

/// `POST /jobs/{id}/heartbeat` body.
#[derive(Deserialize, ToSchema)]
pub struct LeaseHeartbeat {
    #[schema(value_type = String, required = true)]
    pub lease_token: Field<String>,
    /// New lease length from now (default: the service's `lease_seconds`).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 86400)]
    pub lease_seconds: Field<PositiveInt>,
    /// Progress, 0–100; shown on the job.
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 100)]
    pub progress: Field<Percent>,
    /// A short note on the progress (at most 200 characters).
    #[schema(value_type = Option<String>, max_length = 200)]
    pub progress_message: Field<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LeaseExtendedData {
    #[schema(required = true, format = DateTime)]
    pub lease_expires_at: Option<String>,
    /// The job was cancelled: stop working on it (the lease is gone).
    pub cancelled: bool,
    #[schema(required = true)]
    pub cancel_reason: Option<String>,
}

/// `POST /jobs/{id}/heartbeat` answer.
#[derive(Serialize, ToSchema)]
pub struct LeaseExtended {
    pub data: LeaseExtendedData,
}

/// `POST /jobs/{id}/complete` body.
#[derive(Deserialize, ToSchema)]
pub struct CompleteRequest {
    #[schema(value_type = String, required = true)]
    pub lease_token: Field<String>,
    /// Validated against the job's result schema.
    #[schema(value_type = Object, required = true)]
    pub results: Field<crate::fields::Object>,
}

/// `POST /jobs/{id}/fail` body.
#[derive(Deserialize, ToSchema)]
pub struct FailRequest {
    #[schema(value_type = String, required = true)]
    pub lease_token: Field<String>,
    /// Kept as the job's `error_message`.
    #[schema(value_type = Option<String>)]
    pub error: Field<String>,
    /// Put the job back to REGISTERED while attempts remain (default false).
    #[schema(value_type = Option<bool>)]
    pub retry: Field<bool>,
    /// Hand the job back to REGISTERED without counting an attempt (default false).
    #[schema(value_type = Option<bool>)]
    pub release: Field<bool>,
}

/// The interface a service revision's schemas become: what a recipe job node
/// naming `(name, version, revision)` sees as the job type's inputs and outputs.
#[derive(Serialize, ToSchema)]
pub struct ServiceInterface {
    #[schema(example = "6f1c2a9e-4d1b-4e57-8c43-0a3f5b7d9e21")]
    pub service_id: String,
    /// The job type name (`job_type_name` in a recipe job node).
    #[schema(example = "add")]
    pub name: String,
    /// `job_type_version` in a recipe job node.
    #[schema(example = "1.0.0")]
    pub version: String,
    /// The revision shown (`job_type_revision`).
    #[schema(example = 1)]
    pub revision: i64,
    /// The service's newest revision.
    #[schema(example = 1)]
    pub latest_revision: i64,
    /// From `job_registration_schema`: the node's inputs.
    pub inputs: InterfaceParameters,
    /// From `job_result_schema`: the node's outputs, which later nodes connect to.
    pub outputs: InterfaceParameters,
}

/// One side of an interface, in Scale's shape.
#[derive(Serialize, ToSchema)]
pub struct InterfaceParameters {
    /// Properties that are `{"type": "string", "format": "uri"}` (or an array of them: `multiple`).
    pub files: Vec<FileParameter>,
    /// Every other top-level property.
    pub json: Vec<JsonParameter>,
}

#[derive(Serialize, ToSchema)]
pub struct FileParameter {
    #[schema(example = "image")]
    pub name: String,
    /// From `contentMediaType`; empty: any.
    pub media_types: Vec<String>,
    pub required: bool,
    pub multiple: bool,
}

#[derive(Serialize, ToSchema)]
pub struct JsonParameter {
    #[schema(example = "a")]
    pub name: String,
    /// The property's JSON type; absent when it has no single type (any value fits).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(example = "integer")]
    pub json_type: Option<String>,
    pub required: bool,
}

impl From<brigade_recipe_types::definition::Interface> for InterfaceParameters {
    fn from(interface: brigade_recipe_types::definition::Interface) -> Self {
        Self {
            files: interface
                .files
                .into_iter()
                .map(|p| FileParameter {
                    name: p.name,
                    media_types: p.media_types,
                    required: p.required,
                    multiple: p.multiple,
                })
                .collect(),
            json: interface
                .json
                .into_iter()
                .map(|p| JsonParameter {
                    name: p.name,
                    json_type: p.json_type,
                    required: p.required,
                })
                .collect(),
        }
    }
}

/// A service's queue in numbers, counted by job-queue in one grouped query.
#[derive(Serialize, ToSchema)]
pub struct ServiceStats {
    #[schema(example = "6f1c2a9e-4d1b-4e57-8c43-0a3f5b7d9e21")]
    pub service_id: String,
    /// Jobs by status (every status is present, 0 when none).
    pub counts: StatusCounts,
    /// REGISTERED jobs claimable now.
    #[schema(example = 12)]
    pub due_now: i64,
    /// REGISTERED jobs not claimable yet (`run_at` or a retry backoff still ahead).
    #[schema(example = 3)]
    pub due_later: i64,
    /// Jobs WORKING under a lease.
    #[schema(example = 2)]
    pub working: i64,
    /// Jobs COMPLETED within the last 60 seconds (throughput).
    #[schema(example = 40)]
    pub completed_last_minute: i64,
    /// Jobs COMPLETED within the last hour.
    #[schema(example = 2400)]
    pub completed_last_hour: i64,
    /// No claims while paused.
    pub paused: bool,
    /// Most jobs WORKING at once; null: no limit.
    #[schema(example = 4)]
    pub max_concurrency: Option<i32>,
    /// When the service last checked in (a claim, a heartbeat, a PATCH).
    #[schema(example = "2026-12-02T01:13:03.523957Z")]
    pub last_checked_in: Option<String>,
    /// When the counts were taken.
    #[schema(example = "2026-12-02T01:14:00.000000Z")]
    pub as_of: Option<String>,
}

/// Jobs of one service by status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct StatusCounts {
    pub registered: i64,
    pub working: i64,
    pub completed: i64,
    pub error: i64,
}

impl From<pb::GetServiceStatsResponse> for ServiceStats {
    fn from(s: pb::GetServiceStatsResponse) -> Self {
        Self {
            counts: StatusCounts {
                registered: s.registered,
                working: s.working,
                completed: s.completed,
                error: s.error,
            },
            due_now: s.registered - s.due_later,
            due_later: s.due_later,
            working: s.working,
            completed_last_minute: s.completed_last_minute,
            completed_last_hour: s.completed_last_hour,
            paused: s.paused,
            max_concurrency: s.max_concurrency,
            last_checked_in: scale_date(s.last_checked_in.as_ref()),
            as_of: scale_date(s.as_of.as_ref()),
            service_id: s.service_id,
        }
    }
}
