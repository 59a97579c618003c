//! Scale v6's request and response bodies: the handlers build these, serde
//! writes them and utoipa documents them. Field order is the wire order.

use axum::response::{IntoResponse, Response};
use brigade_proto::recipetypes::v1 as pb;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, IntoResponses, ToSchema};

use crate::envelope::{document, json, scale_date};
use crate::fields::{Field, LenientBool, Object};

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
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    pub version: String,
    pub revision_num: i64,
    pub description: String,
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
            job_types: (d.job_types.into_iter())
                .map(|j| JobTypeDetails {
                    id: j.id,
                    name: j.name,
                    version: j.version,
                    revision_num: j.revision_num,
                    description: j.description,
                })
                .collect(),
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
    #[schema(value_type = Option<bool>)]
    pub auto_update: Field<LenientBool>,
    /// `false` deactivates this and its parents. Accepts the same spellings.
    #[schema(value_type = Option<bool>)]
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

/// Scale's paging (read from the raw query, see `scale::Paging`).
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

/// Scale's recipe-type list filters and ordering (read from the raw query,
/// because keys repeat).
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
