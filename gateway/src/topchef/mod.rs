//! TopChef's job-queue API: `/`, `/validator`, `/services…`, `/jobs…`.

pub mod bulk;
pub mod extract;
pub mod jobs;
pub mod model;
pub mod root;
pub mod schemas;
pub mod services;

use brigade_proto::jobqueue::v1 as pb;

use crate::error::TopChefError;
use crate::state::AppState;

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

/// The longest value a job-list time filter may take.
use brigade_common::limits::MAX_FILTER_CHARS;

/// A job list's query: paging plus the `status`, `since` and `until` filters.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListQuery {
    /// Page size, 1 to `BRIGADE_MAX_LIST_ITEMS` (default 1000, also the size without `page_size`).
    #[param(value_type = Option<i32>, minimum = 1)]
    pub page_size: Option<String>,
    /// Opaque token from `links.next`.
    pub page_token: Option<String>,
    /// Only jobs in these statuses: repeated or comma-separated, any letter case.
    #[param(value_type = Option<Vec<model::JobStatus>>, style = Form, explode)]
    pub status: Vec<String>,
    /// Only jobs submitted at or after this RFC 3339 time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// Only jobs submitted before this RFC 3339 time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for JobListQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut q = JobListQuery::default();
        for (key, value) in url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "page_size" if q.page_size.is_none() => q.page_size = Some(value.into_owned()),
                "page_token" if q.page_token.is_none() => q.page_token = Some(value.into_owned()),
                "since" if q.since.is_none() => q.since = Some(value.into_owned()),
                "until" if q.until.is_none() => q.until = Some(value.into_owned()),
                "status" => q.status.push(value.into_owned()),
                _ => {}
            }
        }
        Ok(q)
    }
}

/// A job list request, checked: what to ask job-queue and how to link the next page.
pub struct JobListing {
    pub page_size: i32,
    pub page_token: String,
    pub statuses: Vec<i32>,
    pub since: Option<prost_types::Timestamp>,
    pub until: Option<prost_types::Timestamp>,
    /// The query to repeat on `links.next` (filters and page size, not the token).
    pub keep: Vec<(String, String)>,
}

impl JobListQuery {
    pub fn checked(&self, max_items: i32) -> Result<JobListing, TopChefError> {
        let problem = |field: &str, message: String| TopChefError::deserialization(vec![(field.to_owned(), message)]);
        let mut keep = Vec::new();
        let page_size =
            match self.page_size.as_deref() {
                None => max_items,
                Some(s) => {
                    let n =
                        s.trim().parse::<i32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                            problem("page_size", format!("must be an integer between 1 and {max_items}"))
                        })?;
                    keep.push(("page_size".to_owned(), n.to_string()));
                    n.min(max_items)
                }
            };
        let values: Vec<&str> = self.status.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
        brigade_common::limits::check_text_filter(&values).map_err(|e| problem("status", e))?;
        let mut statuses = Vec::new();
        // An empty value (`?status=`, `?status=a,,b`) names no status: refused like any other
        // value outside the enum, as Scale's recipe list does, not read as "no filter".
        for value in &values {
            let status = <model::JobStatus as crate::fields::Kind>::read(serde_json::Value::from(*value))
                .map_err(|_| problem("status", "Unknown value for job status enum".to_owned()))?;
            let code = status.to_pb() as i32;
            if !statuses.contains(&code) {
                statuses.push(code);
                keep.push(("status".to_owned(), format!("{status:?}").to_ascii_uppercase()));
            }
        }
        let time = |field: &str, value: &Option<String>, keep: &mut Vec<(String, String)>| {
            value
                .as_deref()
                .map(|v| {
                    if v.chars().count() > MAX_FILTER_CHARS {
                        return None;
                    }
                    keep.push((field.to_owned(), v.to_owned()));
                    crate::fields::Timestamp::parse(v)
                })
                .map(|t| t.ok_or_else(|| problem(field, "Not a valid RFC 3339 datetime.".to_owned())))
                .transpose()
        };
        let since = time("since", &self.since, &mut keep)?;
        let until = time("until", &self.until, &mut keep)?;
        Ok(JobListing {
            page_size,
            page_token: self.page_token.clone().unwrap_or_default(),
            statuses,
            since,
            until,
            keep,
        })
    }
}

impl JobListing {
    /// `links.next` of this page: the same filters, the next token.
    pub fn next_link(&self, self_url: &str, token: Option<String>) -> Option<String> {
        let token = token?;
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.keep {
            query.append_pair(k, v);
        }
        query.append_pair("page_token", &token);
        Some(format!(
            "{}?{}",
            self_url.split('?').next().unwrap_or(self_url),
            query.finish()
        ))
    }
}

/// One bounded page of the jobs of one service (or all).
pub async fn fetch_jobs(
    state: &AppState,
    service_id: &str,
    listing: &JobListing,
) -> Result<(Vec<pb::Job>, Option<String>), TopChefError> {
    let request = pb::ListJobsRequest {
        service_id: service_id.to_owned(),
        page_size: listing.page_size,
        page_token: listing.page_token.clone(),
        statuses: listing.statuses.clone(),
        since: listing.since,
        until: listing.until,
    };
    let page = state.jq().list_jobs(request).await?.into_inner();
    Ok((page.jobs, Some(page.next_page_token).filter(|t| !t.is_empty())))
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
