//! Cross-cutting HTTP behaviour: method override, JSON 404/405, OPTIONS,
//! per-request timeout and load shedding.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use tokio::sync::Semaphore;

use crate::error::{ScaleError, TopChefError, titles};

pub fn is_scale_path(path: &str) -> bool {
    path.starts_with("/v6/") || path.starts_with("/v7/")
}

/// An error shaped for the surface the path belongs to.
pub fn surface_error(path: &str, status: StatusCode, title: &str, detail: String) -> Response {
    if is_scale_path(path) {
        ScaleError::new(status, detail).into_response()
    } else {
        TopChefError::single(status, title, detail).into_response()
    }
}

/// JSON 404 for paths nothing serves.
pub async fn not_found(request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if is_scale_path(&path) {
        return ScaleError::not_found().into_response();
    }
    TopChefError::single(
        StatusCode::NOT_FOUND,
        titles::NOT_FOUND,
        format!("The requested URL {path} was not found on the server"),
    )
    .into_response()
}

/// Runs inside routing (the path is matched, the method not yet):
/// * `X-HTTP-Method-Override` replaces the method; GET, HEAD, OPTIONS and DELETE drop the body.
/// * OPTIONS answers 200 with `Allow`.
/// * An unrouted method answers 405 in JSON with `Allow`.
pub async fn methods(mut request: Request, next: Next) -> Response {
    if let Some(method) = request
        .headers()
        .get("x-http-method-override")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_uppercase())
        .and_then(|v| Method::from_bytes(v.as_bytes()).ok())
        .filter(|m| {
            [
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::DELETE,
                Method::PUT,
                Method::PATCH,
                Method::OPTIONS,
            ]
            .contains(m)
        })
    {
        if [Method::GET, Method::HEAD, Method::OPTIONS, Method::DELETE].contains(&method) {
            *request.body_mut() = Body::empty();
            request.headers_mut().remove(header::CONTENT_LENGTH);
            request.headers_mut().remove(header::TRANSFER_ENCODING);
        }
        *request.method_mut() = method;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let mut allowed: Vec<String> = response
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    if !allowed.iter().any(|m| m == "OPTIONS") {
        allowed.push("OPTIONS".to_owned());
    }
    let allow = allowed.join(", ");
    let mut response = if method == Method::OPTIONS {
        StatusCode::OK.into_response()
    } else {
        let scale = format!("Method \"{method}\" not allowed.");
        let topchef = format!("Attempted to call method {method}. Available methods are {allow}");
        let detail = if is_scale_path(&path) { scale } else { topchef };
        surface_error(&path, StatusCode::METHOD_NOT_ALLOWED, titles::METHOD, detail)
    };
    if let Ok(v) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, v);
    }
    response
}

/// Limits shared by the timeout and load-shedding middleware.
#[derive(Clone)]
pub struct Guard {
    pub permits: Arc<Semaphore>,
    pub timeout: Duration,
}

/// Sheds load above the concurrency limit (503 with `Retry-After`) and bounds
/// each request's time (504).
pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let Ok(_permit) = guard.permits.clone().try_acquire_owned() else {
        let mut response = surface_error(
            &path,
            StatusCode::SERVICE_UNAVAILABLE,
            titles::UNAVAILABLE,
            "The server is handling too many requests; retry after a second".to_owned(),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    match tokio::time::timeout(guard.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => surface_error(
            &path,
            StatusCode::GATEWAY_TIMEOUT,
            titles::TIMEOUT,
            format!("The request did not finish within {} ms", guard.timeout.as_millis()),
        ),
    }
}

/// Counts and times each request by its route template (never the raw path,
/// which would let clients create unbounded label values).
pub async fn http_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let start = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    brigade_common::metrics::HTTP_REQUESTS
        .with_label_values(&[&route, &method, &status])
        .inc();
    brigade_common::metrics::HTTP_LATENCY
        .with_label_values(&[&route, &method])
        .observe(start.elapsed().as_secs_f64());
    response
}

/// Keeps the request id for the gRPC calls this request makes.
pub async fn request_scope(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(brigade_common::trace::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    brigade_common::trace::REQUEST_ID.scope(id, next.run(request)).await
}
