//! Errors as the two REST surfaces show them. gRPC codes map to HTTP statuses
//! in one table, [`http_status`].

use axum::Json;
use axum::response::{IntoResponse, Response};
use brigade_proto::ErrorReason;
use http::StatusCode;
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;

use crate::body::BodyError;

/// The one mapping from the internal (gRPC) vocabulary to HTTP.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded | Code::Cancelled => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a gRPC failure says, reduced to what may be shown to a client.
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
    pub reason: Option<ErrorReason>,
    pub violations: Vec<(String, String)>,
}

/// Messages from Brigade's own services carry an `ErrorInfo`; anything else
/// (a transport failure, a panic) may hold internals and is replaced.
pub fn describe(status: &tonic::Status) -> Failure {
    let details = status.get_error_details();
    let reason = ErrorReason::of(status);
    let violations = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default();
    let http = http_status(status.code());
    let message = match status.code() {
        Code::Internal | Code::Unknown | Code::DataLoss | Code::Unimplemented => "internal server error".to_owned(),
        // Any Brigade reason (DATABASE_UNAVAILABLE, PEER_UNAVAILABLE) marks a message written for
        // clients. Until every service sends one, a message in the services' own style ("the …")
        // counts too; a transport's "tcp connect error …" never does.
        Code::Unavailable if reason.is_none() && !status.message().starts_with("the ") => {
            "a backend service is unavailable; try again shortly".to_owned()
        }
        Code::DeadlineExceeded | Code::Cancelled => "the request took too long".to_owned(),
        // Only Brigade's services say why they are exhausted; a transport saying so may leak internals.
        Code::ResourceExhausted if reason.is_none() => "a backend service is overloaded; try again shortly".to_owned(),
        _ => status.message().to_owned(),
    };
    if http.is_server_error() {
        tracing::warn!(code = ?status.code(), message = %status.message(), "backend call failed");
    }
    Failure {
        status: http,
        message,
        reason,
        violations,
    }
}

/// A 503 tells the client when to try again.
pub fn retry_after(mut response: Response) -> Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .entry(http::header::RETRY_AFTER)
            .or_insert(http::HeaderValue::from_static("1"));
    }
    response
}

// ---------------------------------------------------------------- TopChef --

/// One TopChef error.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorObject {
    /// What went wrong, for a person.
    pub detail: String,
    /// The HTTP status of this error.
    #[schema(minimum = 400, maximum = 599)]
    pub status_code: u16,
    /// TopChef's title, e.g. `Service Not Found`, `JSONSchema Validation Error`, `Request Not JSON`.
    pub title: String,
}

/// TopChef's `{"errors": [...]}` envelope.
#[derive(Debug)]
pub struct TopChefError {
    pub errors: Vec<ErrorObject>,
    pub allow: Option<String>,
}

pub mod titles {
    pub const NOT_JSON: &str = "Request Not JSON";
    pub const DESERIALIZATION: &str = "Deserialization Error From Client Data";
    pub const SCHEMA: &str = "JSONSchema Validation Error";
    pub const NOT_UUID: &str = "Not UUID Error";
    pub const SERVICE_NOT_FOUND: &str = "Service Not Found";
    pub const JOB_NOT_FOUND: &str = "Job Not Found";
    pub const METHOD: &str = "Method Not Implemented";
    pub const NOT_FOUND: &str = "Not Found";
    pub const CONFLICT: &str = "Conflict";
    pub const TOO_LARGE: &str = "Request Entity Too Large";
    pub const STALE_LEASE: &str = "Stale Lease";
    pub const PRECONDITION: &str = "Failed Precondition";
    pub const UNAVAILABLE: &str = "Service Unavailable";
    pub const TIMEOUT: &str = "Gateway Timeout";
    pub const INTERNAL: &str = "Internal Server Error";
    pub const TOO_MANY: &str = "Too Many Requests";
    pub const TIMEOUT_BODY: &str = "Request Timeout";
    pub const UNSUPPORTED: &str = "Unsupported Media Type";
    pub const BAD_PATH: &str = "Bad Request";
    pub const UNAUTHORIZED: &str = "Unauthorized";
    pub const FORBIDDEN: &str = "Forbidden";
}

/// Brigade's fix of TopChef's reducer: equal codes stay, any mix of 4xx is 400,
/// and a 5xx anywhere gives 500.
pub fn reduce_status(codes: impl IntoIterator<Item = u16>) -> u16 {
    codes
        .into_iter()
        .reduce(|a, b| match (a, b) {
            (a, b) if a == b => a,
            (a, b) if (400..500).contains(&a) && (400..500).contains(&b) => 400,
            _ => 500,
        })
        .unwrap_or(500)
}

impl TopChefError {
    pub fn single(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        Self {
            errors: vec![ErrorObject {
                detail: detail.into(),
                status_code: status.as_u16(),
                title: title.to_owned(),
            }],
            allow: None,
        }
    }

    pub fn bad_request(title: &str, detail: impl Into<String>) -> Self {
        Self::single(StatusCode::BAD_REQUEST, title, detail)
    }

    pub fn not_uuid(raw: &str) -> Self {
        Self::single(
            StatusCode::NOT_FOUND,
            titles::NOT_UUID,
            format!("The string {raw} could not be converted to a UUID"),
        )
    }

    /// One `JSONSchema Validation Error` per violation.
    pub fn schema(violations: impl IntoIterator<Item = String>) -> Self {
        let errors = violations.into_iter().map(|detail| ErrorObject {
            detail,
            status_code: 400,
            title: titles::SCHEMA.to_owned(),
        });
        Self {
            errors: errors.collect(),
            allow: None,
        }
    }

    /// One error object per field problem.
    pub fn deserialization(problems: Vec<(String, String)>) -> Self {
        Self {
            errors: problems
                .into_iter()
                .map(|(field, message)| ErrorObject {
                    detail: format!("Validation of key '{field}' threw error '{message}'."),
                    status_code: 400,
                    title: titles::DESERIALIZATION.to_owned(),
                })
                .collect(),
            allow: None,
        }
    }
}

impl From<BodyError> for TopChefError {
    fn from(e: BodyError) -> Self {
        // TopChef answers a body that is not JSON with its 400, whatever the content type.
        let status = match e.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::BAD_REQUEST,
            other => other,
        };
        let title = match status {
            StatusCode::PAYLOAD_TOO_LARGE => titles::TOO_LARGE,
            StatusCode::REQUEST_TIMEOUT => titles::TIMEOUT_BODY,
            _ => titles::NOT_JSON,
        };
        let detail = match e {
            BodyError::TooLarge(limit) => format!("The request body is larger than the limit of {limit} bytes"),
            BodyError::UnsupportedMediaType(ct) => format!("Content-Type {ct:?} is not JSON; send application/json"),
            BodyError::NotJson => "Could not understand input. Either it is not JSON, or the type was not specified \
                                   using the Content-Type header"
                .to_owned(),
            BodyError::Malformed(m) => format!("The request body is not valid JSON: {m}"),
            BodyError::TooDeep(d) => format!("The request body is nested deeper than {d} levels"),
            BodyError::Timeout => "The request body did not arrive in time".to_owned(),
        };
        Self::single(status, title, detail)
    }
}

impl From<tonic::Status> for TopChefError {
    fn from(status: tonic::Status) -> Self {
        let f = describe(&status);
        let title = match (f.status, f.reason) {
            (StatusCode::BAD_REQUEST, Some(ErrorReason::JsonSchemaValidation)) => titles::SCHEMA,
            (StatusCode::BAD_REQUEST, Some(ErrorReason::StaleLease)) => titles::STALE_LEASE,
            (StatusCode::BAD_REQUEST, Some(ErrorReason::InvalidField)) => titles::DESERIALIZATION,
            (StatusCode::BAD_REQUEST, _) if status.code() == Code::FailedPrecondition => titles::PRECONDITION,
            (StatusCode::BAD_REQUEST, _) => titles::DESERIALIZATION,
            (StatusCode::NOT_FOUND, Some(ErrorReason::JobNotFound)) => titles::JOB_NOT_FOUND,
            (StatusCode::NOT_FOUND, Some(ErrorReason::ServiceNotFound)) => titles::SERVICE_NOT_FOUND,
            (StatusCode::NOT_FOUND, _) => titles::NOT_FOUND,
            (StatusCode::CONFLICT, _) => titles::CONFLICT,
            (StatusCode::SERVICE_UNAVAILABLE, _) => titles::UNAVAILABLE,
            (StatusCode::GATEWAY_TIMEOUT, _) => titles::TIMEOUT,
            (StatusCode::TOO_MANY_REQUESTS, _) => titles::TOO_MANY,
            _ => titles::INTERNAL,
        };
        if title == titles::SCHEMA && !f.violations.is_empty() {
            return Self::schema(f.violations.into_iter().map(|(_, detail)| detail));
        }
        if title == titles::DESERIALIZATION && !f.violations.is_empty() {
            return Self::deserialization(f.violations);
        }
        Self::single(f.status, title, f.message)
    }
}

impl TopChefError {
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(reduce_status(self.errors.iter().map(|e| e.status_code)))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for TopChefError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = crate::topchef::model::TopChefErrors { errors: self.errors };
        let mut response = (status, Json(body)).into_response();
        if let Some(allow) = self.allow.and_then(|a| a.parse().ok()) {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
        retry_after(response)
    }
}

// ------------------------------------------------------------------ Scale --

/// Scale's (Django REST framework's) `{"detail": "..."}`.
#[derive(Debug)]
pub struct ScaleError {
    pub status: StatusCode,
    pub detail: String,
}

impl ScaleError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found.")
    }
}

impl From<tonic::Status> for ScaleError {
    fn from(s: tonic::Status) -> Self {
        let f = describe(&s);
        let detail = if f.status == StatusCode::NOT_FOUND {
            "Not found.".to_owned()
        } else {
            f.message
        };
        Self::new(f.status, detail)
    }
}

impl From<BodyError> for ScaleError {
    fn from(e: BodyError) -> Self {
        let status = e.status();
        let detail = match e {
            BodyError::TooLarge(limit) => format!("Request body is larger than the limit of {limit} bytes."),
            BodyError::UnsupportedMediaType(ct) => format!("Unsupported media type \"{ct}\" in request."),
            BodyError::NotJson => "The request body must be a JSON object.".to_owned(),
            BodyError::Malformed(m) => format!("JSON parse error - {m}"),
            BodyError::TooDeep(d) => format!("JSON parse error - nested deeper than {d} levels"),
            BodyError::Timeout => "The request body did not arrive in time.".to_owned(),
        };
        Self::new(status, detail)
    }
}

impl IntoResponse for ScaleError {
    fn into_response(self) -> Response {
        let body = crate::scale::model::ScaleErrorBody { detail: self.detail };
        retry_after((self.status, Json(body)).into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reducer_is_fixed() {
        assert_eq!(reduce_status([400, 400]), 400);
        assert_eq!(reduce_status([404, 404]), 404);
        assert_eq!(reduce_status([400, 404]), 400);
        assert_eq!(reduce_status([404, 405]), 400);
        assert_eq!(reduce_status([400, 500]), 500);
        assert_eq!(reduce_status([]), 500);
    }

    #[test]
    fn conflicts_are_409_in_each_envelope() {
        for status in [
            ErrorReason::Conflict.status(Code::Aborted, "the row changed; retry", &[]),
            ErrorReason::AlreadyExists.status(Code::AlreadyExists, "the name is taken", &[]),
            ErrorReason::IdempotencyConflict.status(Code::AlreadyExists, "key reused", &[]),
        ] {
            let topchef = TopChefError::from(status.clone());
            assert_eq!(topchef.status(), StatusCode::CONFLICT);
            assert_eq!(topchef.errors[0].title, titles::CONFLICT);
            assert_eq!(ScaleError::from(status).status, StatusCode::CONFLICT);
        }
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let response = ScaleError::new(StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
        assert!(response.headers().contains_key(http::header::RETRY_AFTER));
        let response =
            TopChefError::single(StatusCode::SERVICE_UNAVAILABLE, titles::UNAVAILABLE, "down").into_response();
        assert!(response.headers().contains_key(http::header::RETRY_AFTER));
    }

    #[test]
    fn internals_are_not_shown() {
        let f = describe(&tonic::Status::internal("pg: relation jq_jobs does not exist"));
        assert_eq!(f.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!f.message.contains("jq_jobs"));
        let f = describe(&tonic::Status::unavailable("tcp connect error 127.0.0.1:50051"));
        assert!(!f.message.contains("127.0.0.1"));
        let f = describe(&ErrorReason::DatabaseUnavailable.status(Code::Unavailable, "database is down", &[]));
        assert_eq!(f.message, "database is down");
        assert_eq!(f.reason, Some(ErrorReason::DatabaseUnavailable));
    }
}
