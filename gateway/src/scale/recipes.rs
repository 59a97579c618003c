//! Scale's recipe handlers: queue, list, details, cancel and reprocess.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use brigade_proto::recipetypes::v1 as pb;
use http::StatusCode;

use super::extract::{self, Body, Json};
use super::model::{self, Page, RecipeStatus};
use super::{Paging, capped_values, query_pairs};
use crate::envelope::{BaseUrl, json, with_location};
use crate::error::ScaleError;
use crate::fields::{Field, LenientBool};
use crate::state::AppState;

type Result<T, E = ScaleError> = std::result::Result<T, E>;

/// A recipe id in the path: a positive integer, else 404 (Scale's URL pattern `\d+`).
pub(super) fn recipe_id(raw: &str) -> Result<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(ScaleError::not_found)
}

fn version_of(uri: &http::Uri) -> &'static str {
    if uri.path().starts_with("/v7/") { "v7" } else { "v6" }
}

fn integers(pairs: &[(String, String)], name: &str) -> Result<Vec<i64>> {
    capped_values(pairs, name)?
        .into_iter()
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ScaleError::bad_request(format!("Parameter must be a valid integer: \"{name}\"")))
        })
        .collect()
}

fn timestamp(pairs: &[(String, String)], name: &str) -> Result<Option<prost_types::Timestamp>> {
    let Some(value) = capped_values(pairs, name)?.first().copied() else {
        return Ok(None);
    };
    let parsed = chrono::DateTime::parse_from_rfc3339(value.trim())
        .map_err(|_| ScaleError::bad_request(format!("Invalid ISO-8601 datetime: \"{name}\"")))?;
    Ok(Some(prost_types::Timestamp {
        seconds: parsed.timestamp(),
        nanos: i32::try_from(parsed.timestamp_subsec_nanos()).unwrap_or(0),
    }))
}

fn boolean(pairs: &[(String, String)], name: &str) -> Result<Option<bool>> {
    let Some(value) = capped_values(pairs, name)?.first().copied() else {
        return Ok(None);
    };
    let field = crate::fields::read::<LenientBool>(serde_json::Value::from(value));
    extract::boolean(name, &field)?;
    Ok(field.given().map(|LenientBool(b)| b))
}

const ORDER_KEYS: [&str; 3] = ["id", "created", "last_modified"];

/// The list request from the query, every filter checked.
fn list_request(pairs: &[(String, String)]) -> Result<pb::ListRecipesRequest> {
    let statuses = capped_values(pairs, "status")?
        .into_iter()
        .map(|s| {
            RecipeStatus::parse(s)
                .map(|s| s.to_pb() as i32)
                .ok_or_else(|| ScaleError::bad_request(format!("Invalid status: \"{s}\"")))
        })
        .collect::<Result<Vec<_>>>()?;
    let order = capped_values(pairs, "order")?
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .map(|key| {
            if ORDER_KEYS.contains(&key.trim_start_matches('-')) {
                Ok(key.to_owned())
            } else {
                Err(ScaleError::bad_request(format!("Invalid order field: \"{key}\"")))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(pb::ListRecipesRequest {
        recipe_type_ids: integers(pairs, "recipe_type_id")?,
        recipe_type_names: capped_values(pairs, "recipe_type_name")?
            .into_iter()
            .map(str::to_owned)
            .collect(),
        statuses,
        started: timestamp(pairs, "started")?,
        ended: timestamp(pairs, "ended")?,
        is_superseded: boolean(pairs, "is_superseded")?,
        order,
        offset: 0,
        limit: 0,
        recipe_ids: integers(pairs, "recipe_id")?,
        is_completed: boolean(pairs, "is_completed")?,
        root_recipe_ids: integers(pairs, "root_recipe_id")?,
    })
}

/// Lists recipes, filtered, ordered and paged.
#[utoipa::path(
    get, path = "/v6/recipes/", operation_id = "list_recipes", tag = "Scale v6",
    params(model::RecipeListQuery),
    responses(
        (status = 200, description = "One page; `next` and `previous` are absolute URLs.", body = Page<model::RecipeListItem>),
        (status = 400, description = "A filter of the wrong type (an integer, a boolean, an ISO-8601 time, a status), an unknown `order` key, or more than 100 values (or a value over 200 characters) for one key.", body = model::ScaleErrorBody),
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
    let template = list_request(&pairs)?;
    let (page, count, items) = super::fetch_page(&paging, |offset| {
        let mut client = state.rt();
        let request = pb::ListRecipesRequest {
            offset,
            limit: paging.size,
            ..template.clone()
        };
        async move {
            let response = client.list_recipes(request).await?.into_inner();
            Ok((response.count, response.recipes))
        }
    })
    .await?;
    let results = items.into_iter().map(model::RecipeListItem::from).collect();
    let page = Page::new(&base, uri.path(), &pairs, (page, paging.size, count), results);
    Ok(axum::response::IntoResponse::into_response(page))
}

fn positive(name: &str, field: &Field<crate::fields::PositiveInt>) -> Result<()> {
    match field {
        Field::Invalid(_) => Err(ScaleError::bad_request(format!(
            "Parameter must be a positive integer: \"{name}\""
        ))),
        _ => Ok(()),
    }
}

impl Body for model::NewRecipe {
    fn check(&self) -> Result<()> {
        positive("recipe_type_id", &self.recipe_type_id)?;
        extract::string("recipe_type_name", &self.recipe_type_name)?;
        if matches!(self.recipe_type_id, Field::Absent) && matches!(self.recipe_type_name, Field::Absent) {
            return Err(ScaleError::bad_request(
                "Missing required parameter: \"recipe_type_id\"",
            ));
        }
        positive("revision_num", &self.revision_num)?;
        extract::required("input", &self.input, extract::object)?;
        extract::object("configuration", &self.configuration)
    }
}

/// Queues a new recipe of a recipe type with its input data.
#[utoipa::path(
    post, path = "/v6/recipes/", operation_id = "create_recipe", tag = "Scale v6",
    request_body(content = model::NewRecipe, content_type = "application/json"),
    responses(
        (status = 201, description = "Queued; the recipe's details.", body = model::RecipeDetails,
            headers(("Location" = String, description = "Absolute URL of the new recipe."))),
        (status = 400, description = "A missing or mistyped parameter, an inactive recipe type, or input that does not match the recipe type's input interface (each problem named in `detail`); or the body is not a JSON object or not JSON.", body = model::ScaleErrorBody),
        (status = 404, description = "No recipe type (or revision) with that id or name.", body = model::ScaleErrorBody),
        model::ScaleBodyErrors,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    uri: http::Uri,
    Json(body): Json<model::NewRecipe>,
) -> Result<Response> {
    let request = pb::CreateRecipeRequest {
        recipe_type_id: body.recipe_type_id.given().map_or(0, |n| n.0),
        recipe_type_name: body.recipe_type_name.given().unwrap_or_default(),
        revision_num: body.revision_num.given().map(|n| n.0),
        input_json: body.input.given().map(|o| o.0).unwrap_or_default(),
        configuration_json: body.configuration.given().map(|o| o.0),
    };
    let response = state.rt().create_recipe(request).await?;
    let recipe = response.into_inner().recipe.unwrap_or_default();
    let location = base.join(&format!("/{}/recipes/{}/", version_of(&uri), recipe.id));
    Ok(with_location(
        json(StatusCode::CREATED, model::RecipeDetails::from(recipe)),
        &location,
    ))
}

/// One recipe with its input, node states and job types.
#[utoipa::path(
    get, path = "/v6/recipes/{id}/", operation_id = "get_recipe", tag = "Scale v6",
    params(("id" = i64, Path, minimum = 1, description = "Recipe id (anything but a positive integer is 404).")),
    responses(
        (status = 200, description = "The recipe.", body = model::RecipeDetails),
        (status = 404, description = "`Not found.`", body = model::ScaleErrorBody),
    )
)]
pub async fn detail(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Response> {
    let id = recipe_id(&raw)?;
    let response = state.rt().get_recipe(pb::GetRecipeRequest { id }).await?;
    let recipe = response.into_inner().recipe.unwrap_or_default();
    Ok(json(StatusCode::OK, model::RecipeDetails::from(recipe)))
}

/// Cancels a recipe: its queued and working jobs and its sub-recipes too.
#[utoipa::path(
    post, path = "/v6/recipes/{id}/cancel/", operation_id = "cancel_recipe", tag = "Scale v6",
    params(("id" = i64, Path, minimum = 1, description = "Recipe id (anything but a positive integer is 404).")),
    responses(
        (status = 200, description = "The recipe, CANCELED.", body = model::RecipeDetails),
        (status = 400, description = "The recipe has already ended.", body = model::ScaleErrorBody),
        (status = 404, description = "`Not found.`", body = model::ScaleErrorBody),
        model::ScaleBodyErrors,
    )
)]
pub async fn cancel(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Response> {
    let id = recipe_id(&raw)?;
    let response = state.rt().cancel_recipe(pb::CancelRecipeRequest { id }).await?;
    let recipe = response.into_inner().recipe.unwrap_or_default();
    Ok(json(StatusCode::OK, model::RecipeDetails::from(recipe)))
}

impl Body for model::ReprocessRecipe {
    fn check(&self) -> Result<()> {
        if let Field::Invalid(_) = self.forced_nodes {
            return Err(ScaleError::bad_request(
                "Parameter must be a valid JSON object: \"forced_nodes\"",
            ));
        }
        if let Field::Absent = self.forced_nodes {
            return Err(ScaleError::bad_request("Missing required parameter: \"forced_nodes\""));
        }
        positive("revision_num", &self.revision_num)
    }
}

/// Reprocesses a recipe: a new recipe supersedes it; unchanged, unforced nodes reuse the old results.
#[utoipa::path(
    post, path = "/v6/recipes/{id}/reprocess/", operation_id = "reprocess_recipe", tag = "Scale v6",
    params(("id" = i64, Path, minimum = 1, description = "Recipe id (anything but a positive integer is 404).")),
    request_body(content = model::ReprocessRecipe, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted; the new recipe's details.", body = model::RecipeDetails,
            headers(("Location" = String, description = "Absolute URL of the new recipe."))),
        (status = 400, description = "`forced_nodes` missing or malformed, nothing to reprocess, or the recipe is already superseded.", body = model::ScaleErrorBody),
        (status = 404, description = "`Not found.` (no such recipe, or no such revision).", body = model::ScaleErrorBody),
        model::ScaleBodyErrors,
    )
)]
pub async fn reprocess(
    State(state): State<AppState>,
    base: BaseUrl,
    uri: http::Uri,
    Path(raw): Path<String>,
    Json(body): Json<model::ReprocessRecipe>,
) -> Result<Response> {
    let id = recipe_id(&raw)?;
    let forced = body.forced_nodes.given().map(|o| o.0).unwrap_or_default();
    let forced: model::ForcedNodes = serde_json::from_value(forced).map_err(|_| {
        ScaleError::bad_request("Invalid forced_nodes: \"all\" must be a boolean, \"nodes\" a list of node names")
    })?;
    let request = pb::ReprocessRecipeRequest {
        id,
        forced_nodes: Some(forced.into()),
        revision_num: body.revision_num.given().map(|n| n.0),
    };
    let response = state.rt().reprocess_recipe(request).await?;
    let recipe = response.into_inner().recipe.unwrap_or_default();
    let location = base.join(&format!("/{}/recipes/{}/", version_of(&uri), recipe.id));
    Ok(with_location(
        json(StatusCode::ACCEPTED, model::RecipeDetails::from(recipe)),
        &location,
    ))
}
