//! Scale's recipe-type handlers.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use brigade_proto::recipetypes::v1 as pb;
use http::StatusCode;

use super::extract::{self, Body, Json, RecipeTypeName};
use super::model::{self, Page};
use super::{Paging, query_pairs, values};
use crate::envelope::{BaseUrl, json, with_location};
use crate::error::ScaleError;
use crate::fields::LenientBool;
use crate::state::AppState;

type Result<T, E = ScaleError> = std::result::Result<T, E>;

fn optional_bool_query(pairs: &[(String, String)], name: &str) -> Result<Option<bool>> {
    let values = values(pairs, name);
    let Some(value) = values.first() else {
        return Ok(None);
    };
    let field = crate::fields::read::<LenientBool>(serde_json::Value::from(*value));
    extract::boolean(name, &field)?;
    Ok(field.given().map(|LenientBool(b)| b))
}

/// Lists recipe types, filtered, ordered and paged.
#[utoipa::path(
    get, path = "/v6/recipe-types/", operation_id = "list_recipe_types", tag = "Scale v6",
    params(model::ScaleListQuery),
    responses(
        (status = 200, description = "One page; `next` and `previous` are absolute URLs.", body = Page<model::RecipeTypeListItem>),
        (status = 400, description = "`is_active`/`is_system` not a boolean, or an unknown `order` key.", body = model::ScaleErrorBody),
        (status = 404, description = "`Invalid page.`", body = model::ScaleErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    uri: http::Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let pairs = query_pairs(raw.as_deref());
    let paging = Paging::from_query(&pairs)?;
    let (page, count, items) = super::fetch_page(&paging, |offset| {
        let mut client = state.rt();
        let request = optional_bool_query(&pairs, "is_active").and_then(|is_active| {
            Ok(pb::ListRecipeTypesRequest {
                keywords: super::capped_values(&pairs, "keyword")?
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                is_active,
                is_system: optional_bool_query(&pairs, "is_system")?,
                order: super::capped_values(&pairs, "order")?
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                offset,
                limit: paging.size,
            })
        });
        async move {
            let response = client.list_recipe_types(request?).await?.into_inner();
            Ok((response.count, response.recipe_types))
        }
    })
    .await?;
    let results = items.into_iter().map(model::RecipeTypeListItem::from).collect();
    let page = Page::new(&base, uri.path(), &pairs, (page, paging.size, count), results);
    Ok(page.into_response())
}

impl Body for model::NewRecipeType {
    fn check(&self) -> Result<()> {
        extract::required("title", &self.title, extract::string)?;
        extract::string("description", &self.description)?;
        extract::required("definition", &self.definition, extract::object)
    }
}

/// Creates a recipe type; its name is the slug of its title.
#[utoipa::path(
    post, path = "/v6/recipe-types/", operation_id = "create_recipe_type", tag = "Scale v6",
    request_body(content = model::NewRecipeType, content_type = "application/json"),
    responses(
        (status = 201, description = "Created.", body = model::RecipeTypeDetails,
            headers(("Location" = String, description = "Absolute URL of the new recipe type."))),
        (status = 400, description = "A missing or mistyped parameter, a name that exists or is reserved, a title with no letters or digits, an invalid definition (the validation errors in `detail`), or the body is not a JSON object or not JSON (no `Content-Type`, empty, malformed, too deeply nested).", body = model::ScaleErrorBody),
        (status = 503, description = "job-queue (which knows the job types) or the database cannot be reached.", body = model::ScaleErrorBody),
        model::ScaleBodyErrors,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    uri: http::Uri,
    Json(body): Json<model::NewRecipeType>,
) -> Result<Response> {
    let request = pb::CreateRecipeTypeRequest {
        title: body.title.given().unwrap_or_default(),
        description: body.description.given(),
        definition_json: body.definition.given().map(|o| o.0).unwrap_or_default(),
    };
    let response = state.rt().create_recipe_type(request).await?;
    let created = response.into_inner().recipe_type.unwrap_or_default();
    let details = model::RecipeTypeDetails::from(created);
    let version = if uri.path().starts_with("/v7/") { "v7" } else { "v6" };
    let location = base.join(&format!("/{version}/recipe-types/{}/", details.summary.name));
    Ok(with_location(json(StatusCode::CREATED, details), &location))
}

impl Body for model::RecipeTypeValidationRequest {
    fn check(&self) -> Result<()> {
        extract::required("definition", &self.definition, extract::object)?;
        extract::string("name", &self.name)
    }
}

/// Validates a definition without saving it, reporting every error and warning.
#[utoipa::path(
    post, path = "/v6/recipe-types/validation/", operation_id = "validate_recipe_type", tag = "Scale v6",
    request_body(content = model::RecipeTypeValidationRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The report (also when the definition is invalid: `is_valid` is false).", body = model::ValidationReport),
        (status = 400, description = "`definition` missing or not an object, `name` not a string, or the body is not a JSON object or not JSON (no `Content-Type`, empty, malformed, too deeply nested).", body = model::ScaleErrorBody),
        (status = 404, description = "`name` names no recipe type.", body = model::ScaleErrorBody),
        (status = 503, description = "job-queue (which knows the job types) cannot be reached; never a wrong result.", body = model::ScaleErrorBody),
        model::ScaleBodyErrors,
    )
)]
pub async fn validate(
    State(state): State<AppState>,
    Json(body): Json<model::RecipeTypeValidationRequest>,
) -> Result<Response> {
    let request = pb::ValidateRecipeTypeRequest {
        name: body.name.given(),
        definition_json: body.definition.given().map(|o| o.0).unwrap_or_default(),
    };
    let response = state.rt().validate_recipe_type(request).await?;
    let result = response.into_inner().result;
    Ok(json(StatusCode::OK, model::ValidationReport::from(result)))
}

/// One recipe type with its definition, job types, sub- and super-recipe types.
#[utoipa::path(
    get, path = "/v6/recipe-types/{name}/", operation_id = "get_recipe_type", tag = "Scale v6",
    params(("name" = String, Path, description = "Recipe type name (Scale's `[\\w.-]+`; anything else is 404)."),),
    responses(
        (status = 200, description = "The recipe type.", body = model::RecipeTypeDetails),
        (status = 404, description = "`Not found.`", body = model::ScaleErrorBody),
    )
)]
pub async fn detail(State(state): State<AppState>, RecipeTypeName(name): RecipeTypeName) -> Result<Response> {
    let response = state.rt().get_recipe_type(pb::GetRecipeTypeRequest { name }).await?;
    let d = response.into_inner().recipe_type.unwrap_or_default();
    Ok(json(StatusCode::OK, model::RecipeTypeDetails::from(d)))
}

impl Body for model::RecipeTypeEdit {
    fn check(&self) -> Result<()> {
        extract::object("definition", &self.definition)?;
        extract::boolean("auto_update", &self.auto_update)?;
        extract::boolean("is_active", &self.is_active)?;
        extract::string("title", &self.title)?;
        extract::string("description", &self.description)
    }
}

/// Edits a recipe type; a new revision only when the normalised definition changes.
#[utoipa::path(
    patch, path = "/v6/recipe-types/{name}/", operation_id = "edit_recipe_type", tag = "Scale v6",
    params(("name" = String, Path, description = "Recipe type name (Scale's `[\\w.-]+`; anything else is 404)."),),
    request_body(content = model::RecipeTypeEdit, content_type = "application/json"),
    responses(
        (status = 200, description = "The validation report of the edit (its warnings include `DEPRECATED_RECIPES` when parents were deactivated), as Scale answers. The headers say which revision the recipe type is at now and whether this PATCH made it.", body = model::ValidationReport,
            headers(
                ("X-Brigade-Revision" = i64, description = "The recipe type's `revision_num` after this PATCH."),
                ("X-Brigade-New-Revision" = String, description = "`true` when this PATCH made that revision; `false` when none was needed (no `definition`, or the normalised definition is unchanged)."),
                ("Location" = String, description = "Absolute URL of that revision (`/v6/recipe-types/{name}/revisions/{revision_num}/`)."),
            )),
        (status = 400, description = "A mistyped parameter, an invalid definition, or the body is not a JSON object or not JSON (no `Content-Type`, empty, malformed, too deeply nested).", body = model::ScaleErrorBody),
        (status = 404, description = "`Not found.`", body = model::ScaleErrorBody),
        (status = 503, description = "job-queue (which knows the job types) or the database cannot be reached.", body = model::ScaleErrorBody),
        model::ScaleBodyErrors,
    )
)]
pub async fn edit(
    State(state): State<AppState>,
    base: BaseUrl,
    RecipeTypeName(name): RecipeTypeName,
    Json(body): Json<model::RecipeTypeEdit>,
) -> Result<Response> {
    let request = pb::UpdateRecipeTypeRequest {
        name: name.clone(),
        title: body.title.given(),
        description: body.description.given(),
        // `{}` keeps the current definition, as `null` does.
        definition_json: body.definition.given().map(|o| o.0).filter(|d| d != "{}"),
        auto_update: body.auto_update.given().is_none_or(|LenientBool(b)| b),
        is_active: body.is_active.given().map(|LenientBool(b)| b),
    };
    let edited = state.rt().update_recipe_type(request).await?.into_inner();
    let mut response = json(StatusCode::OK, model::ValidationReport::from(edited.result));
    let revision = edited.revision_num;
    let location = base.join(&format!("/v6/recipe-types/{name}/revisions/{revision}/"));
    let headers = response.headers_mut();
    for (header, value) in [
        ("x-brigade-revision", revision.to_string()),
        ("x-brigade-new-revision", edited.new_revision.to_string()),
        ("location", location),
    ] {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(header, value);
        }
    }
    Ok(response)
}

/// A recipe type's revisions, newest first.
#[utoipa::path(
    get, path = "/v6/recipe-types/{name}/revisions/", operation_id = "list_recipe_type_revisions", tag = "Scale v6",
    params(("name" = String, Path, description = "Recipe type name (Scale's `[\\w.-]+`; anything else is 404)."), model::ScalePageQuery),
    responses(
        (status = 200, description = "One page of revisions.", body = Page<model::RevisionSummary>),
        (status = 404, description = "`Not found.` (no such recipe type) or `Invalid page.`", body = model::ScaleErrorBody),
    )
)]
pub async fn revisions(
    State(state): State<AppState>,
    base: BaseUrl,
    uri: http::Uri,
    RecipeTypeName(name): RecipeTypeName,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let pairs = query_pairs(raw.as_deref());
    let paging = Paging::from_query(&pairs)?;
    let (page, count, items) = super::fetch_page(&paging, |offset| {
        let mut client = state.rt();
        let request = pb::ListRevisionsRequest {
            name: name.clone(),
            offset,
            limit: paging.size,
        };
        async move {
            let response = client.list_revisions(request).await?.into_inner();
            Ok((response.count, response.revisions))
        }
    })
    .await?;
    let results = items.into_iter().map(model::RevisionSummary::from).collect();
    let page = Page::new(&base, uri.path(), &pairs, (page, paging.size, count), results);
    Ok(page.into_response())
}

/// The same revision under the shorter path Scale's documentation also gives.
#[utoipa::path(
    get,
    path = "/v6/recipe-types/{name}/{revision_num}/",
    operation_id = "get_recipe_type_revision_short",
    tag = "Scale v6",
    params(
        ("name" = String, Path, description = "Recipe type name (Scale's `[\\w.-]+`; anything else is 404)."),
        ("revision_num" = i64, Path, minimum = 0, description = "Revision number (anything but a non-negative integer is 404)."),
    ),
    responses(
        (status = 200, description = "The revision.", body = model::RevisionDetail),
        (status = 404, description = "`Not found.`", body = model::ScaleErrorBody),
    )
)]
pub async fn revision_short(state: State<AppState>, path: Path<(String, String)>) -> Result<Response> {
    revision(state, path).await
}

/// One revision of a recipe type, with its definition.
#[utoipa::path(
    get,
    path = "/v6/recipe-types/{name}/revisions/{revision_num}/",
    operation_id = "get_recipe_type_revision",
    tag = "Scale v6",
    params(
        ("name" = String, Path, description = "Recipe type name (Scale's `[\\w.-]+`; anything else is 404)."),
        ("revision_num" = i64, Path, minimum = 0, description = "Revision number (anything but a non-negative integer is 404)."),
    ),
    responses(
        (status = 200, description = "The revision.", body = model::RevisionDetail),
        (status = 404, description = "`Not found.`", body = model::ScaleErrorBody),
    )
)]
pub async fn revision(State(state): State<AppState>, Path((name, number)): Path<(String, String)>) -> Result<Response> {
    let RecipeTypeName(name) = RecipeTypeName::checked(name)?;
    let revision_num = number
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(ScaleError::not_found)?;
    let response = state
        .rt()
        .get_revision(pb::GetRevisionRequest { name, revision_num })
        .await?;
    let r = response.into_inner();
    Ok(json(StatusCode::OK, model::RevisionDetail::from_response(r)))
}
