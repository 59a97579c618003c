//! Scale's `/v6/recipe-types/` routes, with the `/v7/` aliases Scale serves and
//! the same paths without the trailing slash.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use brigade_proto::recipetypes::v1 as pb;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::Route;
use crate::body::json_body;
use crate::envelope::{BaseUrl, document, json, scale_date, with_location};
use crate::error::ScaleError;
use crate::openapi::model as doc;
use crate::state::AppState;

type Result<T, E = ScaleError> = std::result::Result<T, E>;

const DEFAULT_PAGE_SIZE: i64 = 100;
const MAX_PAGE_SIZE: i64 = 1000;

/// The Scale routes: each under `/v6/` and `/v7/`, with and without the trailing slash.
pub fn routes() -> Vec<Route> {
    let mut routes = Vec::new();
    for version in ["v6", "v7"] {
        for slash in ["/", ""] {
            let base = format!("/{version}/recipe-types");
            routes.extend([
                Route::get(format!("{base}{slash}"), list),
                Route::post(format!("{base}{slash}"), create),
                Route::post(format!("{base}/validation{slash}"), validate),
                Route::get(format!("{base}/{{name}}{slash}"), detail),
                Route::patch(format!("{base}/{{name}}{slash}"), edit),
                Route::get(format!("{base}/{{name}}/revisions{slash}"), revisions),
                Route::get(format!("{base}/{{name}}/revisions/{{revision_num}}{slash}"), revision),
                Route::get(format!("{base}/{{name}}/{{revision_num}}{slash}"), revision_short),
            ]);
        }
    }
    routes
}

/// Scale's URL pattern for names: `[\w.-]+`.
fn checked_name(name: &str) -> Result<String> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ScaleError::not_found())
    }
}

/// The query string as ordered (key, value) pairs.
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn values<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Scale's `parse_bool`: a JSON bool or true/t/1/false/f/0, any case.
fn parse_bool(name: &str, value: &Value) -> Result<bool> {
    let text = match value {
        Value::Bool(b) => return Ok(*b),
        Value::String(s) => s.trim().to_ascii_lowercase(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    match text.as_str() {
        "true" | "t" | "1" => Ok(true),
        "false" | "f" | "0" => Ok(false),
        _ => Err(ScaleError::bad_request(format!(
            "Parameter must be a valid boolean: \"{name}\""
        ))),
    }
}

fn optional_bool_query(pairs: &[(String, String)], name: &str) -> Result<Option<bool>> {
    values(pairs, name)
        .first()
        .map(|v| parse_bool(name, &Value::String((*v).to_owned())))
        .transpose()
}

fn summary(s: Option<&pb::RecipeTypeSummary>) -> Value {
    let Some(s) = s else { return Value::Null };
    json!({
        "id": s.id,
        "name": s.name,
        "title": s.title,
        "description": s.description,
        "revision_num": s.revision_num,
        "is_active": s.is_active,
        "is_system": s.is_system,
        "created": scale_date(s.created.as_ref()),
        "deprecated": scale_date(s.deprecated.as_ref()),
        "last_modified": scale_date(s.last_modified.as_ref()),
    })
}

fn details(d: &pb::RecipeTypeDetails) -> Value {
    let mut body = summary(d.summary.as_ref());
    if let Some(o) = body.as_object_mut() {
        o.insert("definition".into(), document(&d.definition_json));
        o.insert(
            "job_types".into(),
            d.job_types
                .iter()
                .map(|j| {
                    json!({"id": j.id, "name": j.name, "version": j.version, "revision_num": j.revision_num,
                           "description": j.description})
                })
                .collect(),
        );
        o.insert(
            "sub_recipe_types".into(),
            d.sub_recipe_types.iter().map(|s| summary(Some(s))).collect(),
        );
        o.insert(
            "super_recipe_types".into(),
            d.super_recipe_types.iter().map(|s| summary(Some(s))).collect(),
        );
    }
    body
}

fn report(r: Option<pb::ValidationResult>) -> Value {
    let r = r.unwrap_or_default();
    let messages = |list: &[pb::ValidationMessage]| -> Vec<Value> {
        list.iter()
            .map(|m| json!({"name": m.name, "description": m.description}))
            .collect()
    };
    json!({
        "is_valid": r.is_valid,
        "errors": messages(&r.errors),
        "warnings": messages(&r.warnings),
        "diff": document(&r.diff_json),
    })
}

/// DRF page-number pagination: which page, and how to link its neighbours.
struct Paging {
    page: PageRequest,
    size: i64,
}

enum PageRequest {
    Number(i64),
    Last,
}

impl Paging {
    fn from_query(pairs: &[(String, String)]) -> Result<Self> {
        let size = values(pairs, "page_size")
            .first()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|n| *n > 0)
            .map_or(DEFAULT_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE));
        let page = match values(pairs, "page").first().map(|v| v.trim()) {
            None => PageRequest::Number(1),
            Some("last") => PageRequest::Last,
            Some(v) => PageRequest::Number(
                v.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| ScaleError::new(StatusCode::NOT_FOUND, "Invalid page."))?,
            ),
        };
        Ok(Self { page, size })
    }

    /// Resolves "last" and checks range once the total is known.
    fn number(&self, count: i64) -> Result<i64> {
        let pages = ((count + self.size - 1) / self.size).max(1);
        let page = match self.page {
            PageRequest::Last => pages,
            PageRequest::Number(n) => n,
        };
        if page > pages {
            return Err(ScaleError::new(StatusCode::NOT_FOUND, "Invalid page."));
        }
        Ok(page)
    }

    fn offset(&self, page: i64) -> i64 {
        (page - 1).saturating_mul(self.size)
    }
}

/// `{count, next, previous, results}` with absolute neighbour links.
fn paginated(
    base: &BaseUrl,
    path: &str,
    pairs: &[(String, String)],
    page: i64,
    size: i64,
    count: i64,
    results: Vec<Value>,
) -> Value {
    let link = |target: i64| -> String {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs.iter().filter(|(k, _)| k != "page") {
            serializer.append_pair(k, v);
        }
        if target > 1 {
            serializer.append_pair("page", &target.to_string());
        }
        let query = serializer.finish();
        if query.is_empty() {
            base.join(path)
        } else {
            base.join(&format!("{path}?{query}"))
        }
    };
    let has_next = page.saturating_mul(size) < count;
    json!({
        "count": count,
        "next": if has_next { Value::String(link(page + 1)) } else { Value::Null },
        "previous": if page > 1 { Value::String(link(page - 1)) } else { Value::Null },
        "results": results,
    })
}

fn request_path(version_prefix: &str, rest: &str) -> String {
    format!("/{version_prefix}/recipe-types/{rest}")
}

fn version_of(headers_path: &str) -> &'static str {
    if headers_path.starts_with("/v7/") { "v7" } else { "v6" }
}

/// Lists recipe types, filtered, ordered and paged.
#[utoipa::path(
    get,
    path = "/v6/recipe-types/",
    operation_id = "list_recipe_types",
    tag = "Scale v6",
    params(doc::ScaleListQuery),
    responses(
        (status = 200, description = "One page; `next` and `previous` are absolute URLs.", body = doc::RecipeTypeList),
        (status = 400, description = "`is_active`/`is_system` not a boolean, or an unknown `order` key.", body = doc::ScaleErrorBody),
        (status = 404, description = "`Invalid page.`", body = doc::ScaleErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let pairs = query_pairs(raw.as_deref());
    let paging = Paging::from_query(&pairs)?;
    let filter = |offset: i64, limit: i64| -> Result<pb::ListRecipeTypesRequest> {
        Ok(pb::ListRecipeTypesRequest {
            keywords: values(&pairs, "keyword").into_iter().map(str::to_owned).collect(),
            is_active: optional_bool_query(&pairs, "is_active")?,
            is_system: optional_bool_query(&pairs, "is_system")?,
            order: values(&pairs, "order").into_iter().map(str::to_owned).collect(),
            offset,
            limit,
        })
    };
    let mut client = state.recipe_types.clone();
    let first_offset = match paging.page {
        PageRequest::Number(n) => paging.offset(n),
        PageRequest::Last => 0,
    };
    let mut response = client
        .list_recipe_types(filter(first_offset, paging.size)?)
        .await?
        .into_inner();
    let page = paging.number(response.count)?;
    if paging.offset(page) != first_offset {
        response = client
            .list_recipe_types(filter(paging.offset(page), paging.size)?)
            .await?
            .into_inner();
    }
    let results = response
        .recipe_types
        .iter()
        .map(|item| {
            let mut v = summary(item.summary.as_ref());
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "job_types".into(),
                    item.job_types
                        .iter()
                        .map(|j| json!({"name": j.name, "version": j.version}))
                        .collect(),
                );
                o.insert("sub_recipe_types".into(), json!(item.sub_recipe_types));
            }
            v
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        paginated(&base, uri.path(), &pairs, page, paging.size, response.count, results),
    ))
}

/// The JSON body as an object (Scale reads parameters from it).
async fn body_object(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Map<String, Value>> {
    match json_body(headers, body, state.limits).await? {
        Value::Object(map) => Ok(map),
        _ => Err(ScaleError::bad_request("The request body must be a JSON object.")),
    }
}

fn required_object(body: &Map<String, Value>, name: &str) -> Result<String> {
    match body.get(name) {
        None | Some(Value::Null) => Err(ScaleError::bad_request(format!(
            "Missing required parameter: \"{name}\""
        ))),
        Some(v @ Value::Object(_)) => Ok(v.to_string()),
        Some(_) => Err(ScaleError::bad_request(format!(
            "Parameter must be a valid JSON object: \"{name}\""
        ))),
    }
}

fn optional_string(body: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScaleError::bad_request(format!(
            "Parameter must be a string: \"{name}\""
        ))),
    }
}

/// Creates a recipe type; its name is the slug of its title.
#[utoipa::path(
    post,
    path = "/v6/recipe-types/",
    operation_id = "create_recipe_type",
    tag = "Scale v6",
    request_body(content = doc::NewRecipeType, content_type = "application/json"),
    responses(
        (status = 201, description = "Created.", body = doc::RecipeTypeDetails,
            headers(("Location" = String, description = "Absolute URL of the new recipe type."))),
        (status = 400, description = "A missing or mistyped parameter, a name that exists or is reserved, a title with no letters or digits, an invalid definition (the validation errors in `detail`), or the body is not a JSON object or not JSON (no `Content-Type`, empty, malformed, too deeply nested).", body = doc::ScaleErrorBody),
        (status = 503, description = "job-queue (which knows the job types) or the database cannot be reached.", body = doc::ScaleErrorBody),
        doc::ScaleBodyErrors,
    )
)]
pub async fn create(State(state): State<AppState>, headers: HeaderMap, uri: http::Uri, body: Body) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let body = body_object(&state, &headers, body).await?;
    let title = optional_string(&body, "title")?
        .ok_or_else(|| ScaleError::bad_request("Missing required parameter: \"title\""))?;
    let description = optional_string(&body, "description")?;
    let definition = required_object(&body, "definition")?;
    let created = state
        .recipe_types
        .clone()
        .create_recipe_type(pb::CreateRecipeTypeRequest {
            title,
            description,
            definition_json: definition,
        })
        .await?
        .into_inner()
        .recipe_type
        .unwrap_or_default();
    let name = created.summary.as_ref().map(|s| s.name.clone()).unwrap_or_default();
    let location = base.join(&request_path(version_of(uri.path()), &format!("{name}/")));
    Ok(with_location(json(StatusCode::CREATED, details(&created)), &location))
}

/// Validates a definition without saving it, reporting every error and warning.
#[utoipa::path(
    post,
    path = "/v6/recipe-types/validation/",
    operation_id = "validate_recipe_type",
    tag = "Scale v6",
    request_body(content = doc::RecipeTypeValidationRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The report (also when the definition is invalid: `is_valid` is false).", body = doc::ValidationReport),
        (status = 400, description = "`definition` missing or not an object, `name` not a string, or the body is not a JSON object or not JSON (no `Content-Type`, empty, malformed, too deeply nested).", body = doc::ScaleErrorBody),
        (status = 404, description = "`name` names no recipe type.", body = doc::ScaleErrorBody),
        (status = 503, description = "job-queue (which knows the job types) cannot be reached; never a wrong result.", body = doc::ScaleErrorBody),
        doc::ScaleBodyErrors,
    )
)]
pub async fn validate(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    let body = body_object(&state, &headers, body).await?;
    let definition = required_object(&body, "definition")?;
    let name = optional_string(&body, "name")?;
    let result = state
        .recipe_types
        .clone()
        .validate_recipe_type(pb::ValidateRecipeTypeRequest {
            name,
            definition_json: definition,
        })
        .await?
        .into_inner()
        .result;
    Ok(json(StatusCode::OK, report(result)))
}

/// One recipe type with its definition, job types, sub- and super-recipe types.
#[utoipa::path(
    get,
    path = "/v6/recipe-types/{name}/",
    operation_id = "get_recipe_type",
    tag = "Scale v6",
    params(("name" = String, Path, description = "Recipe type name (Scale's `[\\w.-]+`; anything else is 404)."),),
    responses(
        (status = 200, description = "The recipe type.", body = doc::RecipeTypeDetails),
        (status = 404, description = "`Not found.`", body = doc::ScaleErrorBody),
    )
)]
pub async fn detail(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response> {
    let name = checked_name(&name)?;
    let d = state
        .recipe_types
        .clone()
        .get_recipe_type(pb::GetRecipeTypeRequest { name })
        .await?
        .into_inner()
        .recipe_type
        .unwrap_or_default();
    Ok(json(StatusCode::OK, details(&d)))
}

/// Edits a recipe type; a new revision only when the normalised definition changes.
#[utoipa::path(
    patch,
    path = "/v6/recipe-types/{name}/",
    operation_id = "edit_recipe_type",
    tag = "Scale v6",
    params(("name" = String, Path, description = "Recipe type name (Scale's `[\\w.-]+`; anything else is 404)."),),
    request_body(content = doc::RecipeTypeEdit, content_type = "application/json"),
    responses(
        (status = 200, description = "The validation report of the edit (its warnings include `DEPRECATED_RECIPES` when parents were deactivated).", body = doc::ValidationReport),
        (status = 400, description = "A mistyped parameter, an invalid definition, or the body is not a JSON object or not JSON (no `Content-Type`, empty, malformed, too deeply nested).", body = doc::ScaleErrorBody),
        (status = 404, description = "`Not found.`", body = doc::ScaleErrorBody),
        (status = 503, description = "job-queue (which knows the job types) or the database cannot be reached.", body = doc::ScaleErrorBody),
        doc::ScaleBodyErrors,
    )
)]
pub async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response> {
    let name = checked_name(&name)?;
    let body = body_object(&state, &headers, body).await?;
    let definition = match body.get("definition") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) if m.is_empty() => None,
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => {
            return Err(ScaleError::bad_request(
                "Parameter must be a valid JSON object: \"definition\"",
            ));
        }
    };
    let auto_update = match body.get("auto_update") {
        None | Some(Value::Null) => true,
        Some(v) => parse_bool("auto_update", v)?,
    };
    let is_active = match body.get("is_active") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_bool("is_active", v)?),
    };
    let result = state
        .recipe_types
        .clone()
        .update_recipe_type(pb::UpdateRecipeTypeRequest {
            name,
            title: optional_string(&body, "title")?,
            description: optional_string(&body, "description")?,
            definition_json: definition,
            auto_update,
            is_active,
        })
        .await?
        .into_inner()
        .result;
    Ok(json(StatusCode::OK, report(result)))
}

fn revision_summary(r: &pb::RevisionSummary) -> Value {
    let rt = r.recipe_type.as_ref();
    json!({
        "id": r.id,
        "recipe_type": {
            "id": rt.map(|t| t.id),
            "name": rt.map(|t| t.name.clone()),
            "title": rt.map(|t| t.title.clone()),
            "description": rt.and_then(|t| t.description.clone()),
            "revision_num": rt.map(|t| t.revision_num),
        },
        "revision_num": r.revision_num,
        "created": scale_date(r.created.as_ref()),
    })
}

/// A recipe type's revisions, newest first.
#[utoipa::path(
    get,
    path = "/v6/recipe-types/{name}/revisions/",
    operation_id = "list_recipe_type_revisions",
    tag = "Scale v6",
    params(("name" = String, Path, description = "Recipe type name (Scale's `[\\w.-]+`; anything else is 404)."), doc::ScalePageQuery),
    responses(
        (status = 200, description = "One page of revisions.", body = doc::RevisionList),
        (status = 404, description = "`Not found.` (no such recipe type) or `Invalid page.`", body = doc::ScaleErrorBody),
    )
)]
pub async fn revisions(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let base = BaseUrl::from_headers(&headers);
    let name = checked_name(&name)?;
    let pairs = query_pairs(raw.as_deref());
    let paging = Paging::from_query(&pairs)?;
    let mut client = state.recipe_types.clone();
    let request = |offset: i64| pb::ListRevisionsRequest {
        name: name.clone(),
        offset,
        limit: paging.size,
    };
    let first_offset = match paging.page {
        PageRequest::Number(n) => paging.offset(n),
        PageRequest::Last => 0,
    };
    let mut response = client.list_revisions(request(first_offset)).await?.into_inner();
    let page = paging.number(response.count)?;
    if paging.offset(page) != first_offset {
        response = client.list_revisions(request(paging.offset(page))).await?.into_inner();
    }
    let results = response.revisions.iter().map(revision_summary).collect();
    Ok(json(
        StatusCode::OK,
        paginated(&base, uri.path(), &pairs, page, paging.size, response.count, results),
    ))
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
        (status = 200, description = "The revision.", body = doc::RevisionDetail),
        (status = 404, description = "`Not found.`", body = doc::ScaleErrorBody),
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
        (status = 200, description = "The revision.", body = doc::RevisionDetail),
        (status = 404, description = "`Not found.`", body = doc::ScaleErrorBody),
    )
)]
pub async fn revision(State(state): State<AppState>, Path((name, number)): Path<(String, String)>) -> Result<Response> {
    let name = checked_name(&name)?;
    let revision_num = number
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(ScaleError::not_found)?;
    let r = state
        .recipe_types
        .clone()
        .get_revision(pb::GetRevisionRequest { name, revision_num })
        .await?
        .into_inner();
    let summary_value = r.revision.as_ref().map(|rev| {
        let mut v = revision_summary(rev);
        if let Some(o) = v.as_object_mut() {
            o.insert("recipe_type".into(), summary(rev.recipe_type.as_ref()));
            o.insert("definition".into(), document(&r.definition_json));
        }
        v
    });
    Ok(json(StatusCode::OK, summary_value.unwrap_or(Value::Null)))
}
