//! TopChef's job-queue API: `/`, `/validator`, `/services…`, `/jobs…`.

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

/// Every job of one service (or all), page by page; or one page when asked.
pub async fn fetch_jobs(
    state: &AppState,
    service_id: &str,
    paging: Option<(i32, String)>,
) -> Result<(Vec<pb::Job>, Option<String>), TopChefError> {
    list_pages(paging, |page_size, page_token| {
        let (mut client, service_id) = (state.jq(), service_id.to_owned());
        let request = pb::ListJobsRequest {
            service_id,
            page_size,
            page_token,
            ..Default::default()
        };
        async move {
            let page = client.list_jobs(request).await?.into_inner();
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
