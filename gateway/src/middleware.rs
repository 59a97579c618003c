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

use crate::body::BodyLimits;
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

/// Brigade's own routes under TopChef's paths (the worker protocol and queue controls),
/// which answer a body that is not JSON with 415 as Scale's do, not TopChef's 400.
pub fn is_brigade_path(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match segments.as_slice() {
        ["", "services", _, "jobs", action] => ["batch", "claim", "cancel", "retry"].contains(action),
        ["", "jobs", _, action] => ["heartbeat", "complete", "fail", "cancel", "retry"].contains(action),
        _ => false,
    }
}

/// A percent-encoded path that does not decode to UTF-8 is refused in the API's JSON shape
/// (the path extractors would answer in plain text).
fn path_is_utf8(path: &str) -> bool {
    percent_decoded(path).is_some_and(|bytes| String::from_utf8(bytes).is_ok())
}

fn percent_decoded(path: &str) -> Option<Vec<u8>> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes.get(i + 1..i + 3))
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// A state-changing request with a `Content-Type` that is not JSON: what a browser sends
/// cross-site without a CORS preflight (forms, `text/plain`). PATCH is left to the handlers
/// (TopChef's PATCH without JSON is a heartbeat, and PATCH always needs a preflight).
fn refused_content_type(request: &Request) -> Option<Response> {
    let method = request.method();
    if ![Method::POST, Method::PUT, Method::DELETE].contains(method) {
        return None;
    }
    if crate::body::is_json_content_type(request.headers()) != Some(false) {
        return None;
    }
    let path = request.uri().path();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(not text)")
        .to_owned();
    let error = crate::body::BodyError::UnsupportedMediaType(content_type);
    Some(if is_scale_path(path) {
        ScaleError::from(error).into_response()
    } else if is_brigade_path(path) || method == Method::DELETE {
        let mut e = TopChefError::from(error);
        if let Some(first) = e.errors.first_mut() {
            first.status_code = StatusCode::UNSUPPORTED_MEDIA_TYPE.as_u16();
            first.title = titles::UNSUPPORTED.to_owned();
        }
        e.into_response()
    } else {
        TopChefError::from(error).into_response()
    })
}

/// Runs inside routing (the path is matched, the method not yet):
/// * A path that is not UTF-8 once decoded is a JSON 400.
/// * `X-HTTP-Method-Override` on a POST replaces the method (never on another method, so a
///   GET or HEAD cannot become a write); GET, HEAD, OPTIONS and DELETE drop the body. A
///   method the route does not serve answers 405 as any other would.
/// * A POST, PUT or DELETE with a `Content-Type` that is not JSON is refused (415 on Scale and
///   Brigade routes, TopChef's 400 `Request Not JSON` on TopChef's).
/// * OPTIONS answers 200 with `Allow`.
/// * An unrouted method answers 405 in JSON with `Allow`.
pub async fn methods(mut request: Request, next: Next) -> Response {
    if !path_is_utf8(request.uri().path()) {
        let path = request.uri().path().to_owned();
        return surface_error(
            &path,
            StatusCode::BAD_REQUEST,
            titles::BAD_PATH,
            "The request path is not valid UTF-8".to_owned(),
        );
    }
    let overridable = request.method() == Method::POST;
    if let Some(method) = (request.headers())
        .get("x-http-method-override")
        .filter(|_| overridable)
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
    if let Some(refused) = refused_content_type(&request) {
        return refused;
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
    pub body: BodyLimits,
}

/// Reads each request's body within its size and time limits, then sheds load
/// above the concurrency limit (503 with `Retry-After`) and bounds each
/// request's time (504). The body is read before a permit is taken, so clients
/// that stall their bodies hold only their own connections (each until its
/// read deadline, at most `BRIGADE_MAX_BODY_BYTES` each), never the slots other
/// clients' requests need.
pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let request = match crate::body::read_bytes(body, guard.body).await {
        Ok(bytes) => Request::from_parts(parts, Body::from(bytes)),
        Err(e) if is_scale_path(&path) => return ScaleError::from(e).into_response(),
        Err(e) => return TopChefError::from(e).into_response(),
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brigade_paths() {
        assert!(is_brigade_path("/services/x/jobs/claim"));
        assert!(is_brigade_path("/jobs/x/complete"));
        assert!(is_brigade_path("/services/x/jobs/cancel"));
        assert!(!is_brigade_path("/services/x/jobs"));
        assert!(!is_brigade_path("/services"));
        assert!(!is_brigade_path("/jobs/x"));
    }

    #[test]
    fn utf8_paths() {
        assert!(path_is_utf8("/services/%C3%A9"));
        assert!(!path_is_utf8("/services/%FF"));
        assert!(path_is_utf8("/services/%Z1"));
        assert!(path_is_utf8("/v6/recipes/1/"));
    }
}
