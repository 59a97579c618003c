//! The OpenAPI document and the offline docs page that renders it.

use axum::response::{IntoResponse, Response};
use http::header;

use crate::openapi;

/// The docs page: self-contained HTML and JavaScript, embedded in the binary,
/// that fetches `/openapi.json` and renders it (no network access besides).
const PAGE: &str = include_str!("../docs.html");

fn with_type(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The OpenAPI 3.1 document of the whole REST surface.
#[utoipa::path(
    get, path = "/openapi.json", operation_id = "openapi_document", tag = "Documentation",
    responses((status = 200, description = "This document (OpenAPI 3.1, JSON).", body = Object, content_type = "application/json"))
)]
pub async fn openapi_json() -> Response {
    with_type(openapi::json(), "application/json")
}

/// A human-readable page rendering `/openapi.json`; it needs no internet access.
#[utoipa::path(
    get, path = "/docs", operation_id = "docs_page", tag = "Documentation",
    responses((status = 200, description = "The docs page (HTML).", body = String, content_type = "text/html"))
)]
pub async fn page() -> Response {
    with_type(PAGE, "text/html; charset=utf-8")
}
