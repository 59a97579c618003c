//! The REST surface, one module per resource.

pub mod health;
pub mod jobs;
pub mod leases;
pub mod recipe_types;
pub mod root;
pub mod services;

use axum::Router;
use axum::routing::{get, post};
use brigade_proto::jobqueue::v1 as pb;
use serde_json::{Map, Value, json};

use crate::envelope::{document, topchef_date};
use crate::error::TopChefError;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(root::metadata))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/validator", get(root::validator_info).post(root::validate))
        .route("/services", get(services::list).post(services::create))
        .route("/services/{id}", get(services::detail).patch(services::patch))
        .route("/services/{id}/queue", get(services::queue))
        .route("/services/{id}/jobs", get(services::jobs).post(services::submit))
        .route("/services/{id}/jobs/next", get(services::next))
        .route("/services/{id}/jobs/batch", post(leases::batch_submit))
        .route("/services/{id}/jobs/claim", post(leases::claim))
        .route("/jobs", get(jobs::list))
        .route("/jobs/{id}", get(jobs::detail).patch(jobs::patch))
        .route("/jobs/{id}/heartbeat", post(leases::heartbeat))
        .route("/jobs/{id}/complete", post(leases::complete))
        .route("/jobs/{id}/fail", post(leases::fail))
        .route("/jobs/{id}/cancel", post(leases::cancel))
        .merge(recipe_types::router())
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
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    pub page_size: Option<String>,
    pub page_token: Option<String>,
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
    let mut client = state.job_queue.clone();
    if let Some((size, token)) = paging {
        let page = client
            .list_jobs(pb::ListJobsRequest {
                service_id: service_id.to_owned(),
                page_size: size,
                page_token: token,
            })
            .await?
            .into_inner();
        let next = Some(page.next_page_token).filter(|t| !t.is_empty());
        return Ok((page.jobs, next));
    }
    let mut jobs = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_jobs(pb::ListJobsRequest {
                service_id: service_id.to_owned(),
                page_size: MAX_PAGE_SIZE,
                page_token: token,
            })
            .await?
            .into_inner();
        jobs.extend(page.jobs);
        if page.next_page_token.is_empty() {
            return Ok((jobs, None));
        }
        token = page.next_page_token;
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
