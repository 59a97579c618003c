//! The OpenAPI document and the offline docs page that renders it: Redoc
//! (vendored from its npm package into `gateway/src/vendor/redoc/`, embedded
//! in the binary) draws `/openapi.json`; the page itself already lists every
//! operation, so it says something before (or without) any script.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use http::header;
use serde_json::Value;

use crate::openapi;

/// Redoc's standalone bundle (MIT; its licence files are beside it).
const REDOC: &str = include_str!("../vendor/redoc/redoc.standalone.js");
/// Which Redoc release is vendored, for the cache key below.
const REDOC_VERSION: &str = "2.5.4";

const TEMPLATE: &str = include_str!("../docs.html");
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn with_type(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The operations of `document` as plain HTML, grouped by tag in the
/// document's tag order, aliases (`x-alias-of`) left out as on the rendered page.
fn operation_list(document: &Value) -> String {
    let mut groups: Vec<(String, String, Vec<String>)> = document["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tag| {
            let name = tag["name"].as_str()?.to_owned();
            let description = tag["description"].as_str().unwrap_or_default().to_owned();
            Some((name, description, Vec::new()))
        })
        .collect();
    let paths = document["paths"].as_object().into_iter().flatten();
    for (path, item) in paths {
        for method in METHODS {
            let Some(operation) = item.get(method).filter(|op| op.get(openapi::ALIAS_OF).is_none()) else {
                continue;
            };
            let tag = operation["tags"][0].as_str().unwrap_or_default();
            let Some(group) = groups.iter_mut().find(|(name, _, _)| name == tag) else {
                continue;
            };
            let summary = operation["summary"].as_str().unwrap_or_default();
            group.2.push(format!(
                "<li id=\"op-{id}\"><code class=\"method\">{method}</code> <code>{path}</code> <span class=\"note\">{summary}</span></li>",
                id = escape(operation["operationId"].as_str().unwrap_or_default()),
                method = method.to_ascii_uppercase(),
                path = escape(path),
                summary = escape(summary),
            ));
        }
    }
    let title = escape(document["info"]["title"].as_str().unwrap_or("Brigade REST API"));
    let version = escape(document["info"]["version"].as_str().unwrap_or_default());
    let mut html = format!(
        "<h1>{title} <small class=\"note\">{version}</small></h1>\n<p id=\"status\" class=\"note\">Loading the interactive reference… The operations, from <a href=\"/openapi.json\">/openapi.json</a>:</p>\n"
    );
    for (name, description, items) in groups.iter().filter(|(_, _, items)| !items.is_empty()) {
        let _ = writeln!(
            html,
            "<h2>{}</h2>\n<p class=\"note\">{}</p>\n<ul>\n{}\n</ul>",
            escape(name),
            escape(description),
            items.join("\n")
        );
    }
    html
}

static PAGE: LazyLock<String> =
    LazyLock::new(|| TEMPLATE.replace("<!--OPERATIONS-->", &operation_list(&openapi::json_value())));

/// The OpenAPI 3.1 document of the whole REST surface.
#[utoipa::path(
    get, path = "/openapi.json", operation_id = "openapi_document", tag = "Documentation",
    responses((status = 200, description = "This document (OpenAPI 3.1, JSON).", body = Object, content_type = "application/json"))
)]
pub async fn openapi_json() -> Response {
    with_type(openapi::json(), "application/json")
}

/// The API reference (Redoc), rendering `/openapi.json`; it needs no internet access.
#[utoipa::path(
    get, path = "/docs", operation_id = "docs_page", tag = "Documentation",
    description = "Redoc, embedded in the binary, renders `/openapi.json` with its examples; the `/v7/` and no-slash Scale aliases are folded into their `/v6/…/` operations. The page lists every operation before any script runs.",
    responses((status = 200, description = "The docs page (HTML).", body = String, content_type = "text/html"))
)]
pub async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE.as_str()).into_response()
}

/// Redoc's standalone bundle, as `/docs` loads it.
#[utoipa::path(
    get, path = "/docs/redoc.standalone.js", operation_id = "docs_redoc_script", tag = "Documentation",
    description = "Redoc's standalone bundle (MIT), vendored from its npm package and embedded in the binary.",
    responses((status = 200, description = "JavaScript.", body = String, content_type = "text/javascript"))
)]
pub async fn redoc_script() -> Response {
    let etag = format!("\"redoc-{REDOC_VERSION}\"");
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8".to_owned()),
            (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
            (header::ETAG, etag),
        ],
        REDOC,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_the_operations_without_their_aliases() {
        let page = PAGE.as_str();
        assert!(!page.contains("<!--OPERATIONS-->"));
        for id in [
            "create_service",
            "claim_jobs",
            "service_interface",
            "create_recipe_type",
            "edit_recipe_type",
        ] {
            assert!(page.contains(&format!("id=\"op-{id}\"")), "{id} is not listed");
        }
        assert!(!page.contains("_v7"), "an alias is listed");
        assert!(!page.contains("<code>/v7/"), "an alias is listed");
        assert!(
            !page.contains("<code>/v6/recipe-types</code>"),
            "a no-slash alias is listed"
        );
        assert!(page.contains("<script src=\"/docs/redoc.standalone.js\"></script>"));
    }

    #[test]
    fn the_vendored_bundle_is_redoc() {
        assert!(REDOC.len() > 500_000, "a truncated bundle");
        assert!(REDOC.contains(REDOC_VERSION), "the bundle is not Redoc {REDOC_VERSION}");
    }
}
