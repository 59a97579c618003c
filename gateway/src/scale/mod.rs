//! Scale v6's recipe-type API: `/v6/recipe-types/…`, with the `/v7/` aliases
//! Scale serves and the same paths without the trailing slash.

pub mod events;
pub mod extract;
pub mod model;
pub mod recipe_types;
pub mod recipes;

use http::StatusCode;

use self::model::Page;
use self::recipe_types::{create, detail, edit, list, revision, revision_short, revisions, validate};
use crate::auth::{ADMIN, READ, SUBMIT};
use crate::envelope::BaseUrl;
use crate::error::ScaleError;
use crate::routes::Route;

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
                Route::get(format!("{base}{slash}"), READ, list),
                Route::post(format!("{base}{slash}"), ADMIN, create),
                Route::post(format!("{base}/validation{slash}"), READ, validate),
                Route::get(format!("{base}/{{name}}{slash}"), READ, detail),
                Route::patch(format!("{base}/{{name}}{slash}"), ADMIN, edit),
                Route::get(format!("{base}/{{name}}/revisions{slash}"), READ, revisions),
                Route::get(
                    format!("{base}/{{name}}/revisions/{{revision_num}}{slash}"),
                    READ,
                    revision,
                ),
                Route::get(format!("{base}/{{name}}/{{revision_num}}{slash}"), READ, revision_short),
            ]);
            let base = format!("/{version}/recipes");
            routes.extend([
                Route::get(format!("{base}{slash}"), READ, recipes::list),
                Route::post(format!("{base}{slash}"), SUBMIT, recipes::create),
                Route::get(format!("{base}/{{id}}{slash}"), READ, recipes::detail),
                Route::get(format!("{base}/{{id}}/events{slash}"), READ, events::recipe),
                Route::post(format!("{base}/{{id}}/cancel{slash}"), ADMIN, recipes::cancel),
                Route::post(format!("{base}/{{id}}/reprocess{slash}"), SUBMIT, recipes::reprocess),
            ]);
        }
    }
    routes
}

/// The values of one filter key, capped in count and length (400 past the cap),
/// so a hostile query cannot make a list query unbounded.
pub fn capped_values<'a>(pairs: &'a [(String, String)], key: &str) -> Result<Vec<&'a str>> {
    let found = values(pairs, key);
    brigade_common::limits::check_text_filter(&found)
        .map_err(|e| ScaleError::bad_request(format!("Filter \"{key}\": {e}")))?;
    Ok(found)
}

/// The query string as ordered (key, value) pairs.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn values<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// DRF page-number pagination: which page, and how to link its neighbours.
pub struct Paging {
    pub page: PageRequest,
    pub size: i64,
}

pub enum PageRequest {
    Number(i64),
    Last,
}

impl Paging {
    pub fn from_query(pairs: &[(String, String)]) -> Result<Self> {
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
    pub fn number(&self, count: i64) -> Result<i64> {
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

    pub fn offset(&self, page: i64) -> i64 {
        (page - 1).saturating_mul(self.size)
    }
}

/// Fetches the requested page with `fetch(offset)` → `(count, items)`;
/// `last` takes a second call once the count is known.
pub async fn fetch_page<F, Fut, P>(paging: &Paging, mut fetch: F) -> Result<(i64, i64, Vec<P>)>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = Result<(i64, Vec<P>)>>,
{
    let first_offset = match paging.page {
        PageRequest::Number(n) => paging.offset(n),
        PageRequest::Last => 0,
    };
    let (mut count, mut items) = fetch(first_offset).await?;
    let page = paging.number(count)?;
    if paging.offset(page) != first_offset {
        (count, items) = fetch(paging.offset(page)).await?;
    }
    Ok((page, count, items))
}

impl<T> Page<T> {
    /// Page `page` of `count` results, with absolute links to its neighbours
    /// that keep every query parameter but `page`.
    pub fn new(
        base: &BaseUrl,
        path: &str,
        pairs: &[(String, String)],
        (page, size, count): (i64, i64, i64),
        results: Vec<T>,
    ) -> Self {
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
        Self {
            count,
            next: has_next.then(|| link(page + 1)),
            previous: (page > 1).then(|| link(page - 1)),
            results,
        }
    }
}
