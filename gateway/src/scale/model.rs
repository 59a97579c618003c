//! Scale v6's request and response bodies: the handlers build these, serde
//! writes them and utoipa documents them. Field order is the wire order.

use axum::response::{IntoResponse, Response};
use brigade_proto::recipetypes::v1 as pb;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, IntoResponses, ToSchema};

use crate::envelope::{document, json, scale_date};
use crate::fields::{AnyObject, Field, LenientBool, Object, PositiveInt};

/// Scale's (Django REST framework's) error body.
#[derive(Serialize, ToSchema)]
#[schema(as = ScaleError, example = json!({"detail": "Not found."}))]
pub struct ScaleErrorBody {
    pub detail: String,
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

/// Scale's page of a list: `{count, next, previous, results}`, links absolute.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub count: i64,
    #[schema(required = true, format = "uri")]
    pub next: Option<String>,
    #[schema(required = true, format = "uri")]
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        json(StatusCode::OK, self)
    }
}

/// A recipe type without its definition.
#[derive(Serialize, ToSchema)]
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
    #[schema(value_type = String, format = DateTime)]
    pub created: Option<String>,
    /// Set while inactive.
    #[schema(required = true, format = DateTime)]
    pub deprecated: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub last_modified: Option<String>,
}

impl From<pb::RecipeTypeSummary> for RecipeTypeSummary {
    fn from(s: pb::RecipeTypeSummary) -> Self {
        Self {
            id: s.id,
            name: s.name,
            title: s.title,
            description: s.description,
            revision_num: s.revision_num,
            is_active: s.is_active,
            is_system: s.is_system,
            created: scale_date(s.created.as_ref()),
            deprecated: scale_date(s.deprecated.as_ref()),
            last_modified: scale_date(s.last_modified.as_ref()),
        }
    }
}

/// A job type named by a job node.
#[derive(Serialize, ToSchema)]
pub struct JobTypeRef {
    pub name: String,
    pub version: String,
}

/// A recipe type in the list.
#[derive(Serialize, ToSchema)]
pub struct RecipeTypeListItem {
    #[serde(flatten)]
    pub summary: RecipeTypeSummary,
    pub job_types: Vec<JobTypeRef>,
    /// Names of the recipe types used as sub-recipes.
    pub sub_recipe_types: Vec<String>,
}

impl From<pb::RecipeTypeListItem> for RecipeTypeListItem {
    fn from(item: pb::RecipeTypeListItem) -> Self {
        Self {
            summary: item.summary.unwrap_or_default().into(),
            job_types: (item.job_types.into_iter())
                .map(|j| JobTypeRef {
                    name: j.name,
                    version: j.version,
                })
                .collect(),
            sub_recipe_types: item.sub_recipe_types,
        }
    }
}

/// A Brigade service used as a job type.
#[derive(Serialize, ToSchema)]
pub struct JobTypeDetails {
    /// The service's id; null when no service has this name and version any more
    /// (it was renamed after the recipe type was saved).
    #[schema(format = "uuid")]
    pub id: Option<String>,
    pub name: String,
    pub version: String,
    pub revision_num: i64,
    pub description: String,
}

impl From<pb::JobTypeDetails> for JobTypeDetails {
    fn from(j: pb::JobTypeDetails) -> Self {
        Self {
            id: (!j.id.is_empty()).then_some(j.id),
            name: j.name,
            version: j.version,
            revision_num: j.revision_num,
            description: j.description,
        }
    }
}

/// A recipe type with its definition.
#[derive(Serialize, ToSchema)]
pub struct RecipeTypeDetails {
    #[serde(flatten)]
    pub summary: RecipeTypeSummary,
    /// The normalised definition (Scale v6 `input` and `nodes`).
    #[schema(value_type = Object)]
    pub definition: Value,
    pub job_types: Vec<JobTypeDetails>,
    pub sub_recipe_types: Vec<RecipeTypeSummary>,
    pub super_recipe_types: Vec<RecipeTypeSummary>,
}

impl From<pb::RecipeTypeDetails> for RecipeTypeDetails {
    fn from(d: pb::RecipeTypeDetails) -> Self {
        Self {
            summary: d.summary.unwrap_or_default().into(),
            definition: document(&d.definition_json),
            job_types: d.job_types.into_iter().map(Into::into).collect(),
            sub_recipe_types: d.sub_recipe_types.into_iter().map(Into::into).collect(),
            super_recipe_types: d.super_recipe_types.into_iter().map(Into::into).collect(),
        }
    }
}

/// `POST /v6/recipe-types/` body.
#[derive(Deserialize, ToSchema)]
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
    #[schema(value_type = String, required = true)]
    pub title: Field<String>,
    #[schema(value_type = Option<String>)]
    pub description: Field<String>,
    /// A Scale v6 recipe definition: `{"input": {...}, "nodes": {...}}`.
    #[schema(value_type = Object, required = true)]
    pub definition: Field<Object>,
}

/// `POST /v6/recipe-types/validation/` body.
#[derive(Deserialize, ToSchema)]
pub struct RecipeTypeValidationRequest {
    #[schema(value_type = Object, required = true)]
    pub definition: Field<Object>,
    /// An existing recipe type to diff against.
    #[schema(value_type = Option<String>)]
    pub name: Field<String>,
}

/// `PATCH /v6/recipe-types/{name}/` body.
#[derive(Deserialize, ToSchema)]
pub struct RecipeTypeEdit {
    #[schema(value_type = Option<String>)]
    pub title: Field<String>,
    #[schema(value_type = Option<String>)]
    pub description: Field<String>,
    /// A new definition; `{}` or `null` keeps the current one.
    #[schema(value_type = Option<Object>)]
    pub definition: Field<Object>,
    /// Move parent recipe types to the new revision when they still validate
    /// (default true). Also accepts `"true"`, `"t"`, `"1"`, `"false"`, `"f"`, `"0"`.
    #[schema(schema_with = lenient_bool, required = false)]
    pub auto_update: Field<LenientBool>,
    /// `false` deactivates this and its parents. Accepts the same spellings.
    #[schema(schema_with = lenient_bool, required = false)]
    pub is_active: Field<LenientBool>,
}

/// An error or warning of a validation.
#[derive(Serialize, ToSchema)]
pub struct ValidationMessage {
    /// Scale's name, e.g. `JOB_TYPE_DOES_NOT_EXIST`, `MISMATCHED_MEDIA_TYPES`.
    pub name: String,
    pub description: String,
}

/// Scale's validation report.
#[derive(Serialize, ToSchema)]
pub struct ValidationReport {
    pub is_valid: bool,
    pub errors: Vec<ValidationMessage>,
    pub warnings: Vec<ValidationMessage>,
    /// Scale's recipe diff against the named or edited recipe type
    /// (`can_be_reprocessed`, `reasons`, `nodes`); `{}` when there is nothing to compare.
    #[schema(value_type = Object)]
    pub diff: Value,
}

impl From<Option<pb::ValidationResult>> for ValidationReport {
    fn from(r: Option<pb::ValidationResult>) -> Self {
        let r = r.unwrap_or_default();
        let messages = |list: Vec<pb::ValidationMessage>| {
            (list.into_iter())
                .map(|m| ValidationMessage {
                    name: m.name,
                    description: m.description,
                })
                .collect()
        };
        Self {
            is_valid: r.is_valid,
            errors: messages(r.errors),
            warnings: messages(r.warnings),
            diff: document(&r.diff_json),
        }
    }
}

/// The recipe type a revision belongs to, as the revision list shows it.
#[derive(Serialize, ToSchema)]
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
#[derive(Serialize, ToSchema)]
pub struct RevisionSummary {
    pub id: i64,
    pub recipe_type: RevisionRecipeType,
    pub revision_num: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created: Option<String>,
}

impl From<pb::RevisionSummary> for RevisionSummary {
    fn from(r: pb::RevisionSummary) -> Self {
        let rt = r.recipe_type;
        Self {
            id: r.id,
            recipe_type: RevisionRecipeType {
                id: rt.as_ref().map(|t| t.id),
                name: rt.as_ref().map(|t| t.name.clone()),
                title: rt.as_ref().map(|t| t.title.clone()),
                description: rt.as_ref().and_then(|t| t.description.clone()),
                revision_num: rt.as_ref().map(|t| t.revision_num),
            },
            revision_num: r.revision_num,
            created: scale_date(r.created.as_ref()),
        }
    }
}

/// One revision with its definition.
#[derive(Serialize, ToSchema)]
pub struct RevisionDetail {
    pub id: i64,
    pub recipe_type: RecipeTypeSummary,
    pub revision_num: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created: Option<String>,
    #[schema(value_type = Object)]
    pub definition: Value,
}

impl RevisionDetail {
    pub fn from_response(r: pb::GetRevisionResponse) -> Option<Self> {
        let rev = r.revision?;
        Some(Self {
            id: rev.id,
            recipe_type: rev.recipe_type.unwrap_or_default().into(),
            revision_num: rev.revision_num,
            created: scale_date(rev.created.as_ref()),
            definition: document(&r.definition_json),
        })
    }
}

/// Scale's `page`: a number from 1, or `last`.
/// Scale's (Django REST framework's) boolean: `true`/`false`, `0`/`1`, `null`, or the
/// strings `true`, `t`, `1`, `false`, `f`, `0` in any case.
fn lenient_bool() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        // `null` (like leaving the field out) keeps the current value.
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([0, 1])),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\s*([tT]([rR][uU][eE])?|[fF]([aA][lL][sS][eE])?|[01])\s*$")),
        )
        .build()
        .into()
}

/// Scale's page size: a positive integer (capped at 1000); anything else,
/// as with Django REST framework's paginator, means the default 100.
fn scale_page_size() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    // A query value is text: any text is accepted (a positive integer counts).
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Results per page: default 100, capped at 1000; a value that is not a positive number means 100.",
        ))
        .examples([serde_json::json!("25")])
        .build()
        .into()
}

fn scale_page() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^\s*(\+?[0-9]*[1-9][0-9]*|last)\s*$"))
        .description(Some(
            "Page number from 1, or `last`; past the last page is 404 `Invalid page.`",
        ))
        .build()
        .into()
}

/// Scale's paging (read from the raw query, see `scale::Paging`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScalePageQuery {
    /// Page number from 1, or `last`; past the last page is 404 `Invalid page.`
    #[param(schema_with = scale_page, required = false)]
    pub page: Option<String>,
    /// Results per page: default 100, capped at 1000; a value that is not a positive number means 100.
    #[param(schema_with = scale_page_size, required = false)]
    pub page_size: Option<i64>,
}

/// Scale's recipe-type list filters and ordering (read from the raw query,
/// because keys repeat).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScaleListQuery {
    /// Page number from 1, or `last`; past the last page is 404 `Invalid page.`
    #[param(schema_with = scale_page, required = false)]
    pub page: Option<String>,
    /// Results per page: default 100, capped at 1000; a value that is not a positive number means 100.
    #[param(schema_with = scale_page_size, required = false)]
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

// ---------------------------------------------------------------- recipes --

/// The recipe type of a recipe, as Scale's recipe serializer shows it.
#[derive(Serialize, ToSchema)]
pub struct RecipeTypeBase {
    pub id: i64,
    pub name: String,
    pub title: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub revision_num: i64,
}

impl From<pb::RecipeTypeSummary> for RecipeTypeBase {
    fn from(s: pb::RecipeTypeSummary) -> Self {
        Self {
            id: s.id,
            name: s.name,
            title: s.title,
            description: s.description,
            revision_num: s.revision_num,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RecipeTypeIdOnly {
    pub id: i64,
}

/// The revision a recipe runs.
#[derive(Serialize, ToSchema)]
pub struct RecipeTypeRevBase {
    pub id: i64,
    pub recipe_type: RecipeTypeIdOnly,
    pub revision_num: i64,
}

/// The event that queued a recipe: always a `USER` event in Brigade (the request that made it).
#[derive(Serialize, ToSchema)]
pub struct RecipeEvent {
    /// The recipe's id (Brigade keeps no separate event table).
    pub id: i64,
    #[serde(rename = "type")]
    #[schema(example = "USER")]
    pub event_type: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub occurred: Option<String>,
}

/// A recipe linked from another (parent, superseded, superseding): its id.
#[derive(Serialize, ToSchema)]
pub struct RecipeRef {
    pub id: i64,
}

/// A recipe in the list (Scale's recipe serializer).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1,
    "recipe_type": {"id": 1, "name": "my-recipe", "title": "My Recipe", "description": "Takes one file", "revision_num": 1},
    "recipe_type_rev": {"id": 1, "recipe_type": {"id": 1}, "revision_num": 1},
    "event": {"id": 1, "type": "USER", "occurred": "2018-11-01T13:59:38.462027Z"},
    "recipe": null, "batch": null, "is_superseded": false, "superseded_recipe": null,
    "status": "RUNNING", "is_completed": false,
    "jobs_total": 2, "jobs_pending": 1, "jobs_blocked": 0, "jobs_queued": 1, "jobs_running": 0,
    "jobs_failed": 0, "jobs_completed": 0, "jobs_canceled": 0, "sub_recipes_total": 0, "sub_recipes_completed": 0,
    "created": "2018-11-01T13:59:38.471071Z", "completed": null, "superseded": null,
    "last_modified": "2018-11-01T13:59:38.471175Z"
}))]
pub struct RecipeListItem {
    pub id: i64,
    pub recipe_type: RecipeTypeBase,
    pub recipe_type_rev: RecipeTypeRevBase,
    pub event: RecipeEvent,
    /// The recipe containing this one (a sub-recipe), else null.
    #[schema(required = true)]
    pub recipe: Option<RecipeRef>,
    /// Always null: Brigade has no batches.
    #[schema(required = true, value_type = Option<Object>)]
    pub batch: Option<Value>,
    pub is_superseded: bool,
    #[schema(required = true)]
    pub superseded_recipe: Option<RecipeRef>,
    /// Brigade's recipe-level status.
    pub status: RecipeStatus,
    pub is_completed: bool,
    pub jobs_total: i32,
    pub jobs_pending: i32,
    pub jobs_blocked: i32,
    pub jobs_queued: i32,
    pub jobs_running: i32,
    pub jobs_failed: i32,
    pub jobs_completed: i32,
    pub jobs_canceled: i32,
    pub sub_recipes_total: i32,
    pub sub_recipes_completed: i32,
    #[schema(value_type = String, format = DateTime)]
    pub created: Option<String>,
    /// Null until every node has completed.
    #[schema(required = true, format = DateTime)]
    pub completed: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub superseded: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub last_modified: Option<String>,
}

/// A recipe's status.
#[derive(Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecipeStatus {
    Running,
    Completed,
    Failed,
    Canceled,
}

impl RecipeStatus {
    pub fn from_pb(status: i32) -> Self {
        match pb::RecipeStatus::try_from(status) {
            Ok(pb::RecipeStatus::Completed) => Self::Completed,
            Ok(pb::RecipeStatus::Failed) => Self::Failed,
            Ok(pb::RecipeStatus::Canceled) => Self::Canceled,
            _ => Self::Running,
        }
    }

    pub fn to_pb(self) -> pb::RecipeStatus {
        match self {
            Self::Running => pb::RecipeStatus::Running,
            Self::Completed => pb::RecipeStatus::Completed,
            Self::Failed => pb::RecipeStatus::Failed,
            Self::Canceled => pb::RecipeStatus::Canceled,
        }
    }

    /// A `status` query value, any letter case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "RUNNING" => Some(Self::Running),
            "COMPLETED" => Some(Self::Completed),
            "FAILED" => Some(Self::Failed),
            "CANCELED" | "CANCELLED" => Some(Self::Canceled),
            _ => None,
        }
    }
}

impl From<pb::Recipe> for RecipeListItem {
    fn from(r: pb::Recipe) -> Self {
        let counts = r.counts.unwrap_or_default();
        let status = RecipeStatus::from_pb(r.status);
        Self {
            id: r.id,
            recipe_type: r.recipe_type.unwrap_or_default().into(),
            recipe_type_rev: RecipeTypeRevBase {
                id: r.recipe_type_rev_id,
                recipe_type: RecipeTypeIdOnly { id: 0 },
                revision_num: r.revision_num,
            },
            event: RecipeEvent {
                id: r.id,
                event_type: "USER",
                occurred: scale_date(r.created.as_ref()),
            },
            recipe: r.parent_recipe_id.map(|id| RecipeRef { id }),
            batch: None,
            is_superseded: r.is_superseded,
            superseded_recipe: r.superseded_recipe_id.map(|id| RecipeRef { id }),
            status,
            is_completed: status == RecipeStatus::Completed,
            jobs_total: counts.jobs_total,
            jobs_pending: counts.jobs_pending,
            jobs_blocked: counts.jobs_blocked,
            jobs_queued: counts.jobs_queued,
            jobs_running: counts.jobs_running,
            jobs_failed: counts.jobs_failed,
            jobs_completed: counts.jobs_completed,
            jobs_canceled: counts.jobs_canceled,
            sub_recipes_total: counts.sub_recipes_total,
            sub_recipes_completed: counts.sub_recipes_completed,
            created: scale_date(r.created.as_ref()),
            completed: scale_date(r.completed.as_ref()),
            superseded: scale_date(r.superseded.as_ref()),
            last_modified: scale_date(r.last_modified.as_ref()),
        }
        .with_type_id()
    }
}

impl RecipeListItem {
    fn with_type_id(mut self) -> Self {
        self.recipe_type_rev.recipe_type.id = self.recipe_type.id;
        self
    }
}

/// One recipe in detail (Scale's recipe details serializer).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1,
    "recipe_type": {"id": 1, "name": "my-recipe", "title": "My Recipe", "description": "Takes one file", "revision_num": 1},
    "recipe_type_rev": {"id": 1, "recipe_type": {"id": 1}, "revision_num": 1},
    "event": {"id": 1, "type": "USER", "occurred": "2018-11-01T13:59:38.462027Z"},
    "recipe": null, "batch": null, "is_superseded": false, "superseded_recipe": null, "superseded_by_recipe": null,
    "input": {"files": {"input_file": ["s3://bucket/a.png"]}, "json": {}},
    "configuration": {},
    "status": "RUNNING", "is_completed": false,
    "jobs_total": 1, "jobs_pending": 0, "jobs_blocked": 0, "jobs_queued": 1, "jobs_running": 0,
    "jobs_failed": 0, "jobs_completed": 0, "jobs_canceled": 0, "sub_recipes_total": 0, "sub_recipes_completed": 0,
    "created": "2018-11-01T13:59:38.471071Z", "completed": null, "superseded": null,
    "last_modified": "2018-11-01T13:59:38.471175Z",
    "details": {"nodes": {"job-a": {"dependencies": [], "node_type": {"node_type": "job", "job_type_name": "spectrometer", "job_type_version": "1.0.0", "job_type_revision": 1, "job_id": "6f1c2a9e-4d1b-4e57-8c43-0a3f5b7d9e21", "status": "QUEUED"}}}},
    "job_types": [{"id": "0b7e5a5e-1d2f-4a6c-9a53-3f1f0e5c2d11", "name": "spectrometer", "version": "1.0.0", "revision_num": 1, "description": "Takes a spectrum"}],
    "sub_recipe_types": []
}))]
pub struct RecipeDetails {
    #[serde(flatten)]
    pub item: RecipeListItem,
    #[schema(required = true)]
    pub superseded_by_recipe: Option<RecipeRef>,
    /// Scale's data JSON: `{"files": {name: [uri, …]}, "json": {name: value}}`.
    #[schema(value_type = Object)]
    pub input: Value,
    /// The recipe configuration given on creation (`{}` when none).
    #[schema(value_type = Object)]
    pub configuration: Value,
    /// Scale's recipe instance JSON: every node with its state.
    #[schema(value_type = Object)]
    pub details: Value,
    pub job_types: Vec<JobTypeDetails>,
    pub sub_recipe_types: Vec<RecipeTypeSummary>,
}

impl From<pb::Recipe> for RecipeDetails {
    fn from(mut r: pb::Recipe) -> Self {
        let superseded_by_recipe = r.superseded_by_recipe_id.map(|id| RecipeRef { id });
        let input = document(&r.input_json);
        let configuration = if r.configuration_json.is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            document(&r.configuration_json)
        };
        let details = document(&r.details_json);
        let job_types = std::mem::take(&mut r.job_types).into_iter().map(Into::into).collect();
        let sub_recipe_types = std::mem::take(&mut r.sub_recipe_types)
            .into_iter()
            .map(Into::into)
            .collect();
        Self {
            item: RecipeListItem::from(r),
            superseded_by_recipe,
            input,
            configuration,
            details,
            job_types,
            sub_recipe_types,
        }
    }
}

/// `POST /v6/recipes/` body.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "recipe_type_name": "my-recipe",
    "input": {"files": {"input_file": ["s3://bucket/a.png"]}, "json": {}},
    "configuration": {}
}))]
pub struct NewRecipe {
    /// The recipe type by id; or give `recipe_type_name`.
    #[schema(value_type = Option<i64>)]
    pub recipe_type_id: Field<PositiveInt>,
    /// The recipe type by name; or give `recipe_type_id`.
    #[schema(value_type = Option<String>)]
    pub recipe_type_name: Field<String>,
    /// A revision of the recipe type (default: the latest).
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub revision_num: Field<PositiveInt>,
    /// Scale's data JSON: `{"files": {name: [uri, …]}, "json": {name: value}}`, checked against the input interface.
    #[schema(value_type = Object, required = true)]
    pub input: Field<Object>,
    /// Scale's recipe configuration JSON.
    #[schema(value_type = Option<Object>)]
    pub configuration: Field<Object>,
}

/// Scale's forced-nodes JSON.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"all": false, "nodes": ["job-a"]}))]
pub struct ForcedNodes {
    /// Force every node (then `nodes` and `sub_recipes` are left out).
    #[schema(required = true)]
    pub all: bool,
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Forced nodes of sub-recipe nodes, by node name.
    #[serde(default)]
    #[schema(no_recursion)]
    pub sub_recipes: std::collections::BTreeMap<String, ForcedNodes>,
}

impl From<ForcedNodes> for pb::ForcedNodes {
    fn from(f: ForcedNodes) -> Self {
        Self {
            all: f.all,
            nodes: f.nodes,
            sub_recipes: f.sub_recipes.into_iter().map(|(k, v)| (k, v.into())).collect(),
        }
    }
}

/// `POST /v6/recipes/{id}/reprocess/` body.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"forced_nodes": {"all": false, "nodes": ["job-a"]}, "revision_num": 2}))]
pub struct ReprocessRecipe {
    #[schema(value_type = ForcedNodes, required = true)]
    pub forced_nodes: Field<AnyObject>,
    /// A revision of the recipe type (default: the latest).
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub revision_num: Field<PositiveInt>,
}

/// Scale's recipe list filters and ordering (read from the raw query, because keys repeat).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipeListQuery {
    /// Page number from 1, or `last`; past the last page is 404 `Invalid page.`
    #[param(schema_with = scale_page, required = false)]
    pub page: Option<String>,
    /// Results per page: default 100, capped at 1000; a value that is not a positive number means 100.
    #[param(schema_with = scale_page_size, required = false)]
    pub page_size: Option<i64>,
    /// Recipes created at or after this ISO-8601 time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub started: Option<String>,
    /// Recipes created at or before this ISO-8601 time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub ended: Option<String>,
    /// Repeat for more.
    #[param(style = Form, explode)]
    pub recipe_id: Option<Vec<i64>>,
    /// Repeat for more.
    #[param(style = Form, explode)]
    pub recipe_type_id: Option<Vec<i64>>,
    /// Repeat for more.
    #[param(style = Form, explode)]
    pub recipe_type_name: Option<Vec<String>>,
    /// Brigade's recipe status; repeat for more.
    #[param(style = Form, explode, inline)]
    pub status: Option<Vec<RecipeStatus>>,
    pub is_superseded: Option<bool>,
    pub is_completed: Option<bool>,
    /// Only sub-recipes of these recipes; repeat for more.
    #[param(style = Form, explode)]
    pub root_recipe_id: Option<Vec<i64>>,
    /// `id`, `created`, `last_modified`, each optionally prefixed by `-` (default `-last_modified`).
    #[param(style = Form, explode, schema_with = recipe_order, required = false)]
    pub order: Option<Vec<String>>,
}

fn recipe_order() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    // Keys may also come comma-separated in one value; an empty value is ignored.
    let key = "-?(id|created|last_modified)";
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!("^({key}(,{key})*)?$"))),
        )
        .build()
        .into()
}

/// One server-sent event of a recipe's event stream.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the wire format; the stream writes it with axum's `Event`
pub struct RecipeStreamEvent {
    /// `recipe`, or `error` for the last event of a stream that could not go on.
    #[schema(pattern = "^(recipe|error)$")]
    pub event: String,
    /// A `recipe` event's data: the JSON `GET /v6/recipes/{id}/` answers (`RecipeDetails`);
    /// an `error` event's: `{"detail": …}`.
    pub data: String,
}
