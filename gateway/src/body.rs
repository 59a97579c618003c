//! Reading JSON request bodies within bounds: size, media type, syntax and depth.

use axum::body::{Body, Bytes};
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

/// Why a body could not be read as JSON.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    TooLarge(u64),
    /// A Content-Type that is not JSON.
    UnsupportedMediaType(String),
    /// No Content-Type, or an empty body.
    NotJson,
    Malformed(String),
    TooDeep(u32),
    /// The client did not send the whole body in time.
    Timeout,
}

impl BodyError {
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::TooLarge(_) => http::StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Timeout => http::StatusCode::REQUEST_TIMEOUT,
            _ => http::StatusCode::BAD_REQUEST,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    pub max_bytes: u64,
    pub max_depth: u32,
    /// Time allowed for the whole body to arrive, so a stalled body cannot hold a slot.
    pub read_timeout: std::time::Duration,
}

/// `application/json` or any `*+json`, parameters such as charset allowed.
pub fn is_json_content_type(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let mime = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    Some(mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")))
}

pub async fn read_bytes(body: Body, limits: BodyLimits) -> Result<Bytes, BodyError> {
    let limit = usize::try_from(limits.max_bytes).unwrap_or(usize::MAX);
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(limits.read_timeout, collect).await {
        Err(_) => Err(BodyError::Timeout),
        Ok(collected) => collected
            .map(http_body_util::Collected::to_bytes)
            .map_err(|_| BodyError::TooLarge(limits.max_bytes)),
    }
}

/// Nesting depth of raw JSON text, counted before parsing so a hostile body
/// cannot reach the parser's recursion.
pub fn depth_exceeds(bytes: &[u8], max: u32) -> bool {
    let mut depth = 0u32;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

pub fn parse_json(bytes: &[u8], max_depth: u32) -> Result<Value, BodyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::NotJson);
    }
    if depth_exceeds(bytes, max_depth) {
        return Err(BodyError::TooDeep(max_depth));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| BodyError::Malformed("the body is not valid UTF-8".to_owned()))?;
    serde_json::from_str(text).map_err(|e| BodyError::Malformed(e.to_string()))
}

/// Reads a body that must be JSON.
pub async fn json_body(headers: &HeaderMap, body: Body, limits: BodyLimits) -> Result<Value, BodyError> {
    let bytes = read_bytes(body, limits).await?;
    match is_json_content_type(headers) {
        None => Err(BodyError::NotJson),
        Some(false) => {
            let ct = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            Err(BodyError::UnsupportedMediaType(ct.to_owned()))
        }
        Some(true) => parse_json(&bytes, limits.max_depth),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_outside_strings_only() {
        assert!(!depth_exceeds(br#"{"a": "[[[[[[["}"#, 2));
        assert!(depth_exceeds(b"[[[1]]]", 2));
        assert!(!depth_exceeds(b"[[1],[2]]", 2));
        assert!(!depth_exceeds(br#"{"a\"[[[": 1}"#, 1));
    }

    #[test]
    fn parse_rejects_each_bad_input() {
        assert_eq!(parse_json(b"  ", 8), Err(BodyError::NotJson));
        assert!(matches!(parse_json(b"{", 8), Err(BodyError::Malformed(_))));
        assert!(matches!(parse_json(&[0xff, 0xfe], 8), Err(BodyError::Malformed(_))));
        assert_eq!(parse_json(b"[[[[]]]]", 3), Err(BodyError::TooDeep(3)));
        assert_eq!(parse_json(b"{\"a\":1}", 3).ok(), Some(serde_json::json!({"a": 1})));
    }

    #[test]
    fn json_media_types() {
        let mut h = HeaderMap::new();
        assert_eq!(is_json_content_type(&h), None);
        h.insert(
            CONTENT_TYPE,
            http::HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert_eq!(is_json_content_type(&h), Some(true));
        h.insert(
            CONTENT_TYPE,
            http::HeaderValue::from_static("application/merge-patch+json"),
        );
        assert_eq!(is_json_content_type(&h), Some(true));
        h.insert(CONTENT_TYPE, "text/plain".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(is_json_content_type(&h), Some(false));
    }
}
