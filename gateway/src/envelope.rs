//! Shapes shared by the REST responses: absolute links, dates, JSON documents.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;

/// Scheme and host of the request, for absolute links (`X-Forwarded-Proto` and
/// `X-Forwarded-Host` honoured behind a proxy).
#[derive(Clone, Debug)]
pub struct BaseUrl(pub String);

impl BaseUrl {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let scheme = get("x-forwarded-proto")
            .and_then(|p| p.split(',').next())
            .map(str::trim)
            .filter(|p| *p == "http" || *p == "https")
            .unwrap_or("http");
        let host = get("x-forwarded-host")
            .or_else(|| get(header::HOST.as_str()))
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c)))
            .unwrap_or("localhost");
        Self(format!("{scheme}://{host}"))
    }

    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// TopChef's date form: `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`, the fraction left
/// out when it is zero, as Python's `isoformat` does.
pub fn topchef_date(ts: Option<&prost_types::Timestamp>) -> String {
    let Some(ts) = ts else { return String::new() };
    let Some(dt) = chrono::DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).unwrap_or(0)) else {
        return String::new();
    };
    if dt.timestamp_subsec_micros() == 0 {
        dt.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// The naive UTC form TopChef uses in its check-in message.
pub fn naive_date(ts: Option<&prost_types::Timestamp>) -> String {
    topchef_date(ts).trim_end_matches("+00:00").to_owned()
}

/// Scale's (DRF's) date form: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn scale_date(ts: Option<&prost_types::Timestamp>) -> Option<String> {
    let ts = ts?;
    chrono::DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).unwrap_or(0))
        .map(|dt| dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

/// A JSON document that travelled as text; invalid text (never expected) becomes null.
pub fn document(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

pub fn json(status: StatusCode, body: impl serde::Serialize) -> Response {
    (status, Json(body)).into_response()
}

pub fn with_location(mut response: Response, location: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_topchef_form() {
        let ts = prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_456_000,
        };
        assert_eq!(topchef_date(Some(&ts)), "2023-11-14T22:13:20.123456+00:00");
        let whole = prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        };
        assert_eq!(topchef_date(Some(&whole)), "2023-11-14T22:13:20+00:00");
        assert_eq!(naive_date(Some(&ts)), "2023-11-14T22:13:20.123456");
    }

    #[test]
    fn base_url_from_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("example.com:8080"));
        assert_eq!(
            BaseUrl::from_headers(&h).join("/services"),
            "http://example.com:8080/services"
        );
        h.insert(header::HOST, HeaderValue::from_static("evil.com/<script>"));
        assert_eq!(BaseUrl::from_headers(&h).0, "http://localhost");
    }
}
