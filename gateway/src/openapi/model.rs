//! Types that describe the JSON of the REST surface for the OpenAPI document.
//!
//! The handlers build their bodies with `serde_json::json!`; these types mirror
//! those shapes field for field and exist only to be documented (nothing
//! constructs them). `scripts/fuzz.sh` checks real responses against them.

use utoipa::{IntoParams, IntoResponses, ToSchema};

use crate::error::ErrorObject;

// ------------------------------------------------------------------ errors --

/// TopChef's error envelope. The HTTP status is reduced over the objects: equal
/// codes stay, any mix of 4xx is 400, a 5xx anywhere is 500.
#[derive(ToSchema)]
#[schema(example = json!({"errors": [{"detail": "a service with UUID 0b7e5a5e-1d2f-4a6c-9a53-3f1f0e5c2d11 does not exist", "status_code": 404, "title": "Service Not Found"}]}))]
pub struct TopChefErrors {
    #[schema(min_items = 1)]
    pub errors: Vec<ErrorObject>,
}

/// Scale's (Django REST framework's) error body.
#[derive(ToSchema)]
#[schema(as = ScaleError, example = json!({"detail": "Not found."}))]
pub struct ScaleErrorBody {
    pub detail: String,
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

/// A body Scale routes refuse before looking at it.
#[derive(IntoResponses)]
pub enum ScaleBodyErrors {
    /// The body is over `BRIGADE_MAX_BODY_BYTES`.
    #[response(status = 413)]
    TooLarge(ScaleErrorBody),
    /// The `Content-Type` is not `application/json` (or `application/*+json`).
    #[response(status = 415)]
    UnsupportedMediaType(ScaleErrorBody),
}

// ------------------------------------------------------------------ health --

/// Liveness of the gateway process.
#[derive(ToSchema)]
pub struct Liveness {
    #[schema(example = "ok")]
    pub status: LivenessStatus,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum LivenessStatus {
    Ok,
}

/// Readiness: both services answer SERVING over gRPC health.
#[derive(ToSchema)]
pub struct Readiness {
    pub status: ReadinessStatus,
    pub job_queue: ServingStatus,
    pub recipe_types: ServingStatus,
}

#[derive(ToSchema)]
pub enum ReadinessStatus {
    #[serde(rename = "ready")]
    Ready,
    #[serde(rename = "not ready")]
    NotReady,
}

#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServingStatus {
    Serving,
    NotServing,
}

/// `/readyz` when not ready: the readiness body, or (when the gateway sheds
/// load) the TopChef error envelope.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum NotReady {
    Readiness(Readiness),
    Shed(TopChefErrors),
}

// ----------------------------------------------------------------- TopChef --

/// `links` of a TopChef response.
#[derive(ToSchema)]
pub struct Links {
    /// Absolute URL of this resource.
    #[schema(rename = "self", format = "uri")]
    pub self_url: String,
}

/// `links` of a TopChef list; `next` is present only on a page that has a successor.
#[derive(ToSchema)]
pub struct PagedLinks {
    /// Absolute URL of this list.
    #[schema(rename = "self", format = "uri")]
    pub self_url: String,
    /// Absolute URL of the next page (it carries `page_token`); absent on the last page
    /// and when the list was not paged.
    #[schema(required = false, format = "uri")]
    pub next: String,
}

/// `GET /` data.
#[derive(ToSchema)]
pub struct ApiMetadata {
    pub documentation_url: String,
    pub maintainer_email: String,
    pub maintainer_name: String,
    pub source_code_repository_url: String,
    /// Brigade's version.
    pub version: String,
}

#[derive(ToSchema)]
pub struct ApiMetadataMeta {
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
}

/// `GET /`.
#[derive(ToSchema)]
pub struct ApiMetadataResponse {
    pub data: ApiMetadata,
    pub links: Links,
    pub meta: ApiMetadataMeta,
}

#[derive(ToSchema)]
pub struct ValidatorInfoMeta {
    /// JSON Schema (draft-04) of the `POST /validator` body.
    #[schema(value_type = Object)]
    pub validator_schema: serde_json::Value,
}

/// `GET /validator`.
#[derive(ToSchema)]
pub struct ValidatorInfo {
    /// Always `{}`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub links: Links,
    pub meta: ValidatorInfoMeta,
}

/// `POST /validator` body.
#[derive(ToSchema)]
pub struct ValidatorRequest {
    /// A JSON Schema (draft-04 unless `$schema` names another draft).
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
    /// The instance to validate against `schema`.
    #[schema(value_type = Object)]
    pub object: serde_json::Value,
}

#[derive(ToSchema)]
pub struct ValidationSuccessData {
    #[schema(example = "Validation was successful")]
    pub status: String,
}

/// `POST /validator` when the object is valid.
#[derive(ToSchema)]
pub struct ValidationSuccess {
    pub data: ValidationSuccessData,
    pub links: Links,
}

/// A service in the list.
#[derive(ToSchema)]
pub struct ServiceOverview {
    pub description: String,
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
}

#[derive(ToSchema)]
pub struct ServiceListMeta {
    /// JSON Schema (draft-04) of each entry of `data`.
    #[schema(value_type = Object)]
    pub service_schema: serde_json::Value,
    /// JSON Schema (draft-04) of the `POST /services` body.
    #[schema(value_type = Object)]
    pub new_service_schema: serde_json::Value,
}

/// `GET /services`: every service, oldest first (or one page with `page_size`).
#[derive(ToSchema)]
pub struct ServiceList {
    pub data: Vec<ServiceOverview>,
    pub links: PagedLinks,
    pub meta: ServiceListMeta,
}

/// `POST /services` body. Unknown keys are ignored.
#[derive(ToSchema)]
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
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    pub description: String,
    /// JSON Schema of a job's `parameters`; checked against its meta-schema.
    #[schema(value_type = Object)]
    pub job_registration_schema: serde_json::Value,
    /// JSON Schema of a job's `results`; checked against its meta-schema.
    #[schema(value_type = Object)]
    pub job_result_schema: serde_json::Value,
    /// `(name, version)` is unique; default `1.0.0`.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$", example = "1.0.0")]
    pub version: Option<String>,
    /// Seconds without a check-in after which `has_timed_out` is true.
    #[schema(minimum = 1)]
    pub timeout: Option<i64>,
    /// Attempts before a job whose leases keep expiring goes to ERROR (default 3).
    #[schema(minimum = 1, maximum = 100)]
    pub max_attempts: Option<i64>,
    /// Default lease length in seconds (default 30).
    #[schema(minimum = 1, maximum = 86400)]
    pub lease_seconds: Option<i64>,
}

#[derive(ToSchema)]
pub struct CreatedServiceData {
    #[schema(example = "service successfully created")]
    pub message: String,
    #[schema(format = "uuid")]
    pub id: String,
}

/// `POST /services` answer (`Location` names the new service).
#[derive(ToSchema)]
pub struct CreatedService {
    pub data: CreatedServiceData,
    pub links: Links,
}

/// A service in detail.
#[derive(ToSchema)]
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
    pub job_registration_schema: serde_json::Value,
    /// The current revision's result schema.
    #[schema(value_type = Object)]
    pub job_result_schema: serde_json::Value,
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

#[derive(ToSchema)]
pub struct ServiceDetailMeta {
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub service_schema: serde_json::Value,
}

/// `GET /services/{id}` (and `PATCH` with a JSON body).
#[derive(ToSchema)]
pub struct ServiceDetailResponse {
    pub data: ServiceDetail,
    pub links: Links,
    pub meta: ServiceDetailMeta,
}

/// `PATCH /services/{id}` JSON body: every key optional, `null` means unchanged,
/// unknown keys ignored. All are checked before anything changes.
#[derive(ToSchema)]
pub struct ServicePatch {
    pub is_available: Option<bool>,
    pub description: Option<String>,
    /// Not blank, at most 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(minimum = 1)]
    pub timeout: Option<i64>,
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$")]
    pub version: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub job_registration_schema: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub job_result_schema: Option<serde_json::Value>,
    #[schema(minimum = 1, maximum = 100)]
    pub max_attempts: Option<i64>,
    #[schema(minimum = 1, maximum = 86400)]
    pub lease_seconds: Option<i64>,
}

/// `PATCH /services/{id}` without a JSON body: a heartbeat.
#[derive(ToSchema)]
pub struct CheckedIn {
    #[schema(example = "Service checked in at 2024-05-01T12:00:00.123456")]
    pub meta: String,
}

/// `PATCH /services/{id}`: the service after the change, or the heartbeat message.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum ServicePatched {
    Updated(Box<ServiceDetailResponse>),
    CheckedIn(CheckedIn),
}

/// A job's status.
#[derive(ToSchema)]
#[schema(rename_all = "UPPERCASE")]
pub enum JobStatus {
    Registered,
    Working,
    Completed,
    Error,
}

/// A job in a list.
#[derive(ToSchema)]
pub struct JobOverview {
    #[schema(format = DateTime)]
    pub date_submitted: String,
    #[schema(format = "uuid")]
    pub id: String,
    pub status: JobStatus,
}

/// A job.
#[derive(ToSchema)]
pub struct JobDetail {
    #[schema(format = DateTime)]
    pub date_submitted: String,
    #[schema(format = "uuid")]
    pub id: String,
    /// Valid against the registration schema of the revision it was submitted under.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// `null` until results are set.
    #[schema(required = true, value_type = Option<Object>)]
    pub results: Option<serde_json::Value>,
    pub status: JobStatus,
}

/// A job with Brigade's fields.
#[derive(ToSchema)]
pub struct JobFull {
    #[schema(format = DateTime)]
    pub date_submitted: String,
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    #[schema(required = true, value_type = Option<Object>)]
    pub results: Option<serde_json::Value>,
    pub status: JobStatus,
    #[schema(format = "uuid")]
    pub service_id: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Set by a failure.
    #[schema(required = true)]
    pub error_message: Option<String>,
    pub cancelled: bool,
}

#[derive(ToSchema)]
pub struct JobFullMeta {
    /// JSON Schema (draft-04) of a job.
    #[schema(value_type = Object)]
    pub job_info_schema: serde_json::Value,
    /// JSON Schema (draft-04) of the `PATCH /jobs/{id}` body.
    #[schema(value_type = Object)]
    pub patch_request_schema: serde_json::Value,
}

/// `GET /jobs/{id}`.
#[derive(ToSchema)]
pub struct JobFullResponse {
    pub data: JobFull,
    pub links: Links,
    pub meta: JobFullMeta,
}

#[derive(ToSchema)]
pub struct DataSchemaMeta {
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub data_schema: serde_json::Value,
}

/// `GET /jobs`: every job, oldest first (or one page with `page_size`).
#[derive(ToSchema)]
pub struct JobList {
    pub data: Vec<JobOverview>,
    pub links: PagedLinks,
    pub meta: DataSchemaMeta,
}

#[derive(ToSchema)]
pub struct ServiceJobsMeta {
    /// JSON Schema (draft-04) of the `POST /services/{id}/jobs` body, holding the
    /// service's registration schema as `parameters`.
    #[schema(value_type = Object)]
    pub new_job_schema: serde_json::Value,
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub data_schema: serde_json::Value,
}

/// `GET /services/{id}/jobs`: the service's jobs, oldest first (or one page).
#[derive(ToSchema)]
pub struct ServiceJobList {
    pub data: Vec<JobDetail>,
    pub links: PagedLinks,
    pub meta: ServiceJobsMeta,
}

/// `GET /services/{id}/queue`: up to 10 oldest REGISTERED jobs.
#[derive(ToSchema)]
pub struct Queue {
    #[schema(min_items = 1, max_items = 10)]
    pub data: Vec<JobDetail>,
    pub links: Links,
    pub meta: DataSchemaMeta,
}

#[derive(ToSchema)]
pub struct NextJobMeta {
    /// JSON Schema (draft-04) of `data`.
    #[schema(value_type = Object)]
    pub job_schema: serde_json::Value,
}

/// `GET /services/{id}/jobs/next`.
#[derive(ToSchema)]
pub struct NextJob {
    pub data: JobDetail,
    pub links: Links,
    pub meta: NextJobMeta,
}

/// `POST /services/{id}/jobs` body. Unknown keys are ignored.
#[derive(ToSchema)]
#[schema(example = json!({"parameters": {"exposure_ms": 250}}))]
pub struct NewJob {
    /// Validated against the service's current registration schema.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
}

/// `POST /services/{id}/jobs` answer (`Location` names the job).
#[derive(ToSchema)]
pub struct JobSubmitted {
    pub data: JobDetail,
    #[schema(example = "new job ID is 6f1c2a9e-4d1b-4e57-8c43-0a3f5b7d9e21")]
    pub meta: String,
}

/// `PATCH /jobs/{id}` body: free status change and results. Unknown keys are ignored.
#[derive(ToSchema)]
pub struct JobPatch {
    /// New status, in any letter case.
    pub status: Option<JobStatus>,
    /// Validated against the job's result schema.
    #[schema(value_type = Option<Object>)]
    pub results: Option<serde_json::Value>,
}

// ---------------------------------------------------------- worker protocol --

/// `POST /services/{id}/jobs/batch` body: all or nothing.
#[derive(ToSchema)]
pub struct JobBatch {
    /// Each validated against the service's registration schema.
    #[schema(value_type = Vec<Object>, min_items = 1, max_items = 1000)]
    pub parameters: Vec<serde_json::Value>,
}

/// `POST /services/{id}/jobs/batch` answer: the new jobs in order.
#[derive(ToSchema)]
pub struct JobBatchCreated {
    pub data: Vec<JobDetail>,
    pub links: Links,
}

/// `POST /services/{id}/jobs/claim` body (optional; empty means all defaults).
#[derive(ToSchema)]
pub struct ClaimRequest {
    /// How many jobs to lease at most (default 1).
    #[schema(minimum = 1)]
    pub max_jobs: Option<i64>,
    /// Lease length (default: the service's `lease_seconds`).
    #[schema(minimum = 1, maximum = 86400)]
    pub lease_seconds: Option<i64>,
    pub worker_id: Option<String>,
}

/// A job leased to a worker.
#[derive(ToSchema)]
pub struct LeasedJob {
    #[schema(format = DateTime)]
    pub date_submitted: String,
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    #[schema(required = true, value_type = Option<Object>)]
    pub results: Option<serde_json::Value>,
    pub status: JobStatus,
    /// Needed to heartbeat, complete or fail the job.
    pub lease_token: String,
    #[schema(required = true, format = DateTime)]
    pub lease_expires_at: Option<String>,
}

/// `POST /services/{id}/jobs/claim` answer: the leased jobs, oldest first (maybe none).
#[derive(ToSchema)]
pub struct Claimed {
    pub data: Vec<LeasedJob>,
    pub links: Links,
}

/// `POST /jobs/{id}/heartbeat` body.
#[derive(ToSchema)]
pub struct LeaseHeartbeat {
    pub lease_token: String,
    /// New lease length from now (default: the service's `lease_seconds`).
    #[schema(minimum = 1, maximum = 86400)]
    pub lease_seconds: Option<i64>,
}

#[derive(ToSchema)]
pub struct LeaseExtendedData {
    #[schema(required = true, format = DateTime)]
    pub lease_expires_at: Option<String>,
}

/// `POST /jobs/{id}/heartbeat` answer.
#[derive(ToSchema)]
pub struct LeaseExtended {
    pub data: LeaseExtendedData,
}

/// `POST /jobs/{id}/complete` body.
#[derive(ToSchema)]
pub struct CompleteRequest {
    pub lease_token: String,
    /// Validated against the job's result schema.
    #[schema(value_type = Object)]
    pub results: serde_json::Value,
}

/// `POST /jobs/{id}/fail` body.
#[derive(ToSchema)]
pub struct FailRequest {
    pub lease_token: String,
    /// Kept as the job's `error_message`.
    pub error: Option<String>,
    /// Put the job back to REGISTERED while attempts remain (default false).
    pub retry: Option<bool>,
}

/// The job after a worker-protocol change.
#[derive(ToSchema)]
pub struct JobEnvelope {
    pub data: JobDetail,
    pub links: Links,
}

// ------------------------------------------------------------------- Scale --

/// A recipe type without its definition.
#[derive(ToSchema)]
pub struct RecipeTypeSummary {
    pub id: i64,
    /// Slug of the title (≤ 30 characters).
    pub name: String,
    pub title: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub revision_num: i64,
    pub is_active: bool,
    pub is_system: bool,
    #[schema(format = DateTime)]
    pub created: String,
    /// Set while inactive.
    #[schema(required = true, format = DateTime)]
    pub deprecated: Option<String>,
    #[schema(format = DateTime)]
    pub last_modified: String,
}

/// A job type named by a job node.
#[derive(ToSchema)]
pub struct JobTypeRef {
    pub name: String,
    pub version: String,
}

/// A recipe type in the list.
#[derive(ToSchema)]
pub struct RecipeTypeListItem {
    pub id: i64,
    pub name: String,
    pub title: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub revision_num: i64,
    pub is_active: bool,
    pub is_system: bool,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(required = true, format = DateTime)]
    pub deprecated: Option<String>,
    #[schema(format = DateTime)]
    pub last_modified: String,
    pub job_types: Vec<JobTypeRef>,
    /// Names of the recipe types used as sub-recipes.
    pub sub_recipe_types: Vec<String>,
}

/// `GET /v6/recipe-types/`: one page, links absolute.
#[derive(ToSchema)]
pub struct RecipeTypeList {
    pub count: i64,
    #[schema(required = true, format = "uri")]
    pub next: Option<String>,
    #[schema(required = true, format = "uri")]
    pub previous: Option<String>,
    pub results: Vec<RecipeTypeListItem>,
}

/// A Brigade service used as a job type.
#[derive(ToSchema)]
pub struct JobTypeDetails {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    pub version: String,
    pub revision_num: i64,
    pub description: String,
}

/// A recipe type with its definition.
#[derive(ToSchema)]
pub struct RecipeTypeDetails {
    pub id: i64,
    pub name: String,
    pub title: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub revision_num: i64,
    pub is_active: bool,
    pub is_system: bool,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(required = true, format = DateTime)]
    pub deprecated: Option<String>,
    #[schema(format = DateTime)]
    pub last_modified: String,
    /// The normalised definition (Scale v6 `input` and `nodes`).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    pub job_types: Vec<JobTypeDetails>,
    pub sub_recipe_types: Vec<RecipeTypeSummary>,
    pub super_recipe_types: Vec<RecipeTypeSummary>,
}

/// `POST /v6/recipe-types/` body.
#[derive(ToSchema)]
#[schema(example = json!({
    "title": "My Recipe",
    "description": "Takes one file",
    "definition": {
        "version": "7",
        "input": {"files": [{"name": "input_file", "media_types": ["image/png"], "required": true, "multiple": false}], "json": []},
        "nodes": {}
    }
}))]
pub struct NewRecipeType {
    /// The name is made from it by Django's slug rules.
    pub title: String,
    pub description: Option<String>,
    /// A Scale v6 recipe definition: `{"input": {...}, "nodes": {...}}`.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

/// `POST /v6/recipe-types/validation/` body.
#[derive(ToSchema)]
pub struct RecipeTypeValidationRequest {
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// An existing recipe type to diff against.
    pub name: Option<String>,
}

/// `PATCH /v6/recipe-types/{name}/` body.
#[derive(ToSchema)]
pub struct RecipeTypeEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    /// A new definition; `{}` or `null` keeps the current one.
    #[schema(value_type = Option<Object>)]
    pub definition: Option<serde_json::Value>,
    /// Move parent recipe types to the new revision when they still validate
    /// (default true). Also accepts `"true"`, `"t"`, `"1"`, `"false"`, `"f"`, `"0"`.
    pub auto_update: Option<bool>,
    /// `false` deactivates this and its parents. Accepts the same spellings.
    pub is_active: Option<bool>,
}

/// An error or warning of a validation.
#[derive(ToSchema)]
pub struct ValidationMessage {
    /// Scale's name, e.g. `JOB_TYPE_DOES_NOT_EXIST`, `MISMATCHED_MEDIA_TYPES`.
    pub name: String,
    pub description: String,
}

/// Scale's validation report.
#[derive(ToSchema)]
pub struct ValidationReport {
    pub is_valid: bool,
    pub errors: Vec<ValidationMessage>,
    pub warnings: Vec<ValidationMessage>,
    /// Scale's recipe diff against the named or edited recipe type
    /// (`can_be_reprocessed`, `reasons`, `nodes`); `{}` when there is nothing to compare.
    #[schema(value_type = Object)]
    pub diff: serde_json::Value,
}

/// The recipe type a revision belongs to, as the revision list shows it.
#[derive(ToSchema)]
pub struct RevisionRecipeType {
    #[schema(required = true)]
    pub id: Option<i64>,
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true)]
    pub title: Option<String>,
    #[schema(required = true)]
    pub description: Option<String>,
    #[schema(required = true)]
    pub revision_num: Option<i64>,
}

/// A revision in the list.
#[derive(ToSchema)]
pub struct RevisionSummary {
    pub id: i64,
    pub recipe_type: RevisionRecipeType,
    pub revision_num: i64,
    #[schema(format = DateTime)]
    pub created: String,
}

/// `GET /v6/recipe-types/{name}/revisions/`: one page, newest first.
#[derive(ToSchema)]
pub struct RevisionList {
    pub count: i64,
    #[schema(required = true, format = "uri")]
    pub next: Option<String>,
    #[schema(required = true, format = "uri")]
    pub previous: Option<String>,
    pub results: Vec<RevisionSummary>,
}

/// One revision with its definition.
#[derive(ToSchema)]
pub struct RevisionDetail {
    pub id: i64,
    pub recipe_type: RecipeTypeSummary,
    pub revision_num: i64,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

/// Scale's `page`: a number from 1, or `last`.
fn scale_page() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .description(Some(
            "Page number from 1, or `last`; past the last page is 404 `Invalid page.`",
        ))
        .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["last"])),
        )
        .build()
        .into()
}

/// Scale's paging.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScalePageQuery {
    /// Page number from 1, or `last`; past the last page is 404 `Invalid page.`
    #[param(schema_with = scale_page, required = false)]
    pub page: Option<String>,
    /// Results per page: default 100, capped at 1000; a value that is not a positive number means 100.
    #[param(minimum = 1)]
    pub page_size: Option<i64>,
}

/// Scale's recipe-type list filters and ordering.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScaleListQuery {
    /// Page number from 1, or `last`; past the last page is 404 `Invalid page.`
    #[param(schema_with = scale_page, required = false)]
    pub page: Option<String>,
    /// Results per page: default 100, capped at 1000; a value that is not a positive number means 100.
    #[param(minimum = 1)]
    pub page_size: Option<i64>,
    /// Case-insensitive match on name, title or description; repeat for more (all must match).
    #[param(style = Form, explode)]
    pub keyword: Option<Vec<String>>,
    /// Only active (`true`) or inactive (`false`) recipe types; also `t`/`f`/`1`/`0`, any case.
    pub is_active: Option<bool>,
    /// Only system (`true`) or non-system (`false`) recipe types.
    pub is_system: Option<bool>,
    /// Sort keys, repeated or comma-separated, each optionally prefixed by `-` for descending
    /// (default `name`); an unknown key is 400.
    #[param(style = Form, explode, inline)]
    pub order: Option<Vec<OrderKey>>,
}

/// A sort key of the recipe-type list.
#[derive(ToSchema)]
pub enum OrderKey {
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "title")]
    Title,
    #[serde(rename = "-title")]
    TitleDesc,
    #[serde(rename = "created")]
    Created,
    #[serde(rename = "-created")]
    CreatedDesc,
    #[serde(rename = "last_modified")]
    LastModified,
    #[serde(rename = "-last_modified")]
    LastModifiedDesc,
    #[serde(rename = "revision_num")]
    RevisionNum,
    #[serde(rename = "-revision_num")]
    RevisionNumDesc,
}
