//! The REST surface, one module per resource.

pub mod docs;
pub mod health;
pub mod jobs;
pub mod leases;
pub mod recipe_types;
pub mod root;
pub mod services;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, get, patch, post};
use brigade_proto::jobqueue::v1 as pb;
use http::Method;
use serde_json::{Map, Value, json};

use crate::envelope::{document, topchef_date};
use crate::error::TopChefError;
use crate::state::AppState;

/// One method on one path and the handler that serves it.
pub struct Route {
    pub method: Method,
    pub path: String,
    handler: MethodRouter<AppState>,
}

impl Route {
    /// A GET route (axum also answers HEAD with it).
    pub fn get<H, T>(path: impl Into<String>, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Self {
            method: Method::GET,
            path: path.into(),
            handler: get(handler),
        }
    }

    pub fn post<H, T>(path: impl Into<String>, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Self {
            method: Method::POST,
            path: path.into(),
            handler: post(handler),
        }
    }

    pub fn patch<H, T>(path: impl Into<String>, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Self {
            method: Method::PATCH,
            path: path.into(),
            handler: patch(handler),
        }
    }
}

/// Every route of the REST surface. [`router`] is built from this table alone,
/// so [`served`] is exactly what the gateway serves (the OpenAPI document is
/// checked against it by the end-to-end tests).
pub fn table() -> Vec<Route> {
    let mut routes = vec![
        Route::get("/", root::metadata),
        Route::get("/healthz", health::healthz),
        Route::get("/readyz", health::readyz),
        Route::get("/metrics", health::metrics),
        Route::get("/openapi.json", docs::openapi_json),
        Route::get("/docs", docs::page),
        Route::get("/validator", root::validator_info),
        Route::post("/validator", root::validate),
        Route::get("/services", services::list),
        Route::post("/services", services::create),
        Route::get("/services/{id}", services::detail),
        Route::patch("/services/{id}", services::patch),
        Route::get("/services/{id}/queue", services::queue),
        Route::get("/services/{id}/jobs", services::jobs),
        Route::post("/services/{id}/jobs", services::submit),
        Route::get("/services/{id}/jobs/next", services::next),
        Route::post("/services/{id}/jobs/batch", leases::batch_submit),
        Route::post("/services/{id}/jobs/claim", leases::claim),
        Route::get("/jobs", jobs::list),
        Route::get("/jobs/{id}", jobs::detail),
        Route::patch("/jobs/{id}", jobs::patch),
        Route::post("/jobs/{id}/heartbeat", leases::heartbeat),
        Route::post("/jobs/{id}/complete", leases::complete),
        Route::post("/jobs/{id}/fail", leases::fail),
        Route::post("/jobs/{id}/cancel", leases::cancel),
    ];
    routes.extend(recipe_types::routes());
    routes
}

/// The (method, path) pairs the router serves, paths in axum's (and OpenAPI's)
/// `{param}` form. HEAD (on GET routes) and OPTIONS are answered on every path besides.
pub fn served() -> Vec<(Method, String)> {
    table().into_iter().map(|r| (r.method, r.path)).collect()
}

pub fn router(state: AppState) -> Router {
    table()
        .into_iter()
        .fold(Router::new(), |router, r| router.route(&r.path, r.handler))
        .with_state(state)
}

/// A path id must be a UUID in any form Python's `UUID()` accepts; it is
/// normalised to lowercase hyphenated text.
pub fn path_id(raw: &str) -> Result<String, TopChefError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| TopChefError::not_uuid(raw))
}

pub fn status_name(status: i32) -> &'static str {
    match pb::JobStatus::try_from(status) {
        Ok(pb::JobStatus::Registered) => "REGISTERED",
        Ok(pb::JobStatus::Working) => "WORKING",
        Ok(pb::JobStatus::Completed) => "COMPLETED",
        _ => "ERROR",
    }
}

/// TopChef's JobDetail.
pub fn job_detail(job: &pb::Job) -> Value {
    json!({
        "date_submitted": topchef_date(job.date_submitted.as_ref()),
        "id": job.id,
        "parameters": document(&job.parameters_json),
        "results": job.results_json.as_deref().map_or(Value::Null, document),
        "status": status_name(job.status),
    })
}

/// TopChef's JobOverview.
pub fn job_overview(job: &pb::Job) -> Value {
    json!({
        "date_submitted": topchef_date(job.date_submitted.as_ref()),
        "id": job.id,
        "status": status_name(job.status),
    })
}

/// Optional paging on TopChef lists: `?page_size=N&page_token=T`.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–10000. Without `page_size` and `page_token` the whole list is returned.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 10000)]
    pub page_size: Option<String>,
    /// Opaque token from `links.next` (page size 100 when given without `page_size`).
    pub page_token: Option<String>,
}

/// Read by hand rather than with `Query`, so a repeated key is not a plain-text
/// rejection: the first value counts, as in most web frameworks.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut page = PageQuery::default();
        for (key, value) in url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "page_size" if page.page_size.is_none() => page.page_size = Some(value.into_owned()),
                "page_token" if page.page_token.is_none() => page.page_token = Some(value.into_owned()),
                _ => {}
            }
        }
        Ok(page)
    }
}

/// Largest page a client may ask for on a TopChef list.
pub const MAX_PAGE_SIZE: i32 = 10_000;

impl PageQuery {
    /// `None` when the client did not ask for paging (the whole list is returned).
    pub fn requested(&self) -> Result<Option<(i32, String)>, TopChefError> {
        if self.page_size.is_none() && self.page_token.is_none() {
            return Ok(None);
        }
        let size = match self.page_size.as_deref() {
            None => 100,
            Some(s) => s
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    TopChefError::deserialization(vec![(
                        "page_size".to_owned(),
                        format!("must be an integer between 1 and {MAX_PAGE_SIZE}"),
                    )])
                })?,
        };
        Ok(Some((size, self.page_token.clone().unwrap_or_default())))
    }
}

/// Every job of one service (or all), page by page; or one page when asked.
pub async fn fetch_jobs(
    state: &AppState,
    service_id: &str,
    paging: Option<(i32, String)>,
) -> Result<(Vec<pb::Job>, Option<String>), TopChefError> {
    let client = state.job_queue.clone();
    list_pages(paging, |page_size, page_token| {
        let mut client = client.clone();
        let service_id = service_id.to_owned();
        async move {
            let page = client
                .list_jobs(pb::ListJobsRequest {
                    service_id,
                    page_size,
                    page_token,
                    ..Default::default()
                })
                .await?
                .into_inner();
            Ok((page.jobs, page.next_page_token))
        }
    })
    .await
}

/// One page when the client asked for paging; otherwise every page, as
/// TopChef returns whole lists. `fetch(size, token)` gives a page and the next
/// token (empty at the end).
pub async fn list_pages<T, F, Fut>(
    paging: Option<(i32, String)>,
    mut fetch: F,
) -> Result<(Vec<T>, Option<String>), TopChefError>
where
    F: FnMut(i32, String) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    if let Some((size, token)) = paging {
        let (items, next) = fetch(size, token).await?;
        return Ok((items, Some(next).filter(|t| !t.is_empty())));
    }
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let (items, next) = fetch(MAX_PAGE_SIZE, token).await?;
        all.extend(items);
        if next.is_empty() {
            return Ok((all, None));
        }
        token = next;
    }
}

/// `links` with `self` and, for a paged list, `next`.
pub fn links(self_url: String, next: Option<String>) -> Value {
    let mut links = Map::new();
    links.insert("self".into(), Value::String(self_url.clone()));
    if let Some(token) = next {
        let sep = if self_url.contains('?') { '&' } else { '?' };
        links.insert(
            "next".into(),
            Value::String(format!(
                "{}{sep}page_token={token}",
                self_url.split('?').next().unwrap_or(&self_url)
            )),
        );
    }
    Value::Object(links)
}

/// Collects field problems so all of them are reported at once.
#[derive(Default)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn push(&mut self, field: &str, message: &str) {
        self.0.push((field.to_owned(), message.to_owned()));
    }

    pub fn into_result(self) -> Result<(), TopChefError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(TopChefError::deserialization(self.0))
        }
    }
}

/// A JSON body that must be an object (TopChef's errors otherwise).
pub async fn object_body(
    state: &AppState,
    headers: &http::HeaderMap,
    body: axum::body::Body,
) -> Result<Map<String, Value>, TopChefError> {
    as_object(crate::body::json_body(headers, body, state.limits).await?)
}

/// An optional boolean field; anything but a JSON boolean is a problem.
pub fn take_bool(body: &mut Map<String, Value>, key: &str, problems: &mut FieldErrors) -> Option<bool> {
    match body.remove(key) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(_) => {
            problems.push(key, "Not a valid boolean.");
            None
        }
    }
}

/// The body as an object, or TopChef's "Invalid input type." error.
pub fn as_object(body: Value) -> Result<Map<String, Value>, TopChefError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(TopChefError::deserialization(vec![(
            "_schema".to_owned(),
            "Invalid input type.".to_owned(),
        )])),
    }
}

pub fn take_string(
    body: &mut Map<String, Value>,
    key: &str,
    required: bool,
    problems: &mut FieldErrors,
) -> Option<String> {
    match body.remove(key) {
        None | Some(Value::Null) if required => {
            problems.push(key, "Missing data for required field.");
            None
        }
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            problems.push(key, "Not a valid string.");
            None
        }
    }
}

pub fn take_object(
    body: &mut Map<String, Value>,
    key: &str,
    required: bool,
    problems: &mut FieldErrors,
) -> Option<String> {
    match body.remove(key) {
        None | Some(Value::Null) if required => {
            problems.push(key, "Missing data for required field.");
            None
        }
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => {
            problems.push(key, "Not a valid mapping type.");
            None
        }
    }
}

/// A whole number of seconds, at least 1.
pub fn take_positive_int(body: &mut Map<String, Value>, key: &str, problems: &mut FieldErrors) -> Option<i64> {
    match body.remove(key) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v >= 1) => n.as_i64(),
        Some(_) => {
            problems.push(key, "Must be an integer of at least 1.");
            None
        }
    }
}
