//! The job-queue error vocabulary and its one mapping to gRPC status codes.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.reason` values the gateway reads to pick TopChef error titles.
pub mod reason {
    pub const SCHEMA_VIOLATION: &str = "JSON_SCHEMA_VALIDATION";
    pub const INVALID_FIELD: &str = "INVALID_FIELD";
    pub const SERVICE_NOT_FOUND: &str = "SERVICE_NOT_FOUND";
    pub const JOB_NOT_FOUND: &str = "JOB_NOT_FOUND";
    pub const STALE_LEASE: &str = "STALE_LEASE";
    pub const DOMAIN: &str = "brigade.jobqueue.v1";
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request field is wrong; `field` names it.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// A document violates its JSON schema; each violation is reported.
    #[error("{field} violates its schema")]
    SchemaViolations { field: String, violations: Vec<String> },
    #[error("a service with UUID {0} does not exist")]
    ServiceNotFound(String),
    #[error("a job with id {0} was not found")]
    JobNotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// The lease token is not the job's current one.
    #[error("{0}")]
    StaleLease(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable("the database is unavailable, try again".to_owned())
            }
            sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                Self::AlreadyExists("a row with the same key already exists".to_owned())
            }
            // SQLSTATE class 22 is "data exception": a value the database cannot hold
            // (such as a NUL character in text on PostgreSQL) is the client's mistake.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => Self::invalid(
                "request",
                "a value contains characters that cannot be stored (such as NUL)",
            ),
            _ => {
                tracing::error!(error = %e, "database error");
                Self::Internal(e.to_string())
            }
        }
    }
}

/// Error details travel in gRPC trailers, which HTTP/2 peers cap in size: keep
/// the reported violations within this many bytes (and each within a line).
const MAX_DETAIL_BYTES: usize = 8 * 1024;
const MAX_VIOLATION_BYTES: usize = 512;

fn shorten(text: String) -> String {
    if text.len() <= MAX_VIOLATION_BYTES {
        return text;
    }
    let mut end = MAX_VIOLATION_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The violations that fit, then one line saying how many were left out.
fn bounded(violations: Vec<(String, String)>) -> Vec<(String, String)> {
    let total = violations.len();
    let mut kept = Vec::new();
    let mut bytes = 0;
    for (field, description) in violations {
        let description = shorten(description);
        if bytes + field.len() + description.len() > MAX_DETAIL_BYTES {
            break;
        }
        bytes += field.len() + description.len();
        kept.push((field, description));
    }
    if kept.len() < total {
        let field = kept.first().map(|(f, _)| f.clone()).unwrap_or_default();
        kept.push((field, format!("… and {} more violations not shown", total - kept.len())));
    }
    kept
}

fn with_reason(code: Code, message: String, reason: &str, violations: Vec<(String, String)>) -> Status {
    let violations = bounded(violations);
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, reason::DOMAIN, std::collections::HashMap::new());
    if !violations.is_empty() {
        details.set_bad_request(
            violations
                .into_iter()
                .map(|(f, d)| tonic_types::FieldViolation::new(f, d))
                .collect::<Vec<_>>(),
        );
    }
    Status::with_error_details(code, message, details)
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::InvalidField { field, message: m } => {
                with_reason(Code::InvalidArgument, message, reason::INVALID_FIELD, vec![(field, m)])
            }
            Error::SchemaViolations { field, violations } => with_reason(
                Code::InvalidArgument,
                message,
                reason::SCHEMA_VIOLATION,
                violations.into_iter().map(|v| (field.clone(), v)).collect(),
            ),
            Error::ServiceNotFound(_) => with_reason(Code::NotFound, message, reason::SERVICE_NOT_FOUND, vec![]),
            Error::JobNotFound(_) => with_reason(Code::NotFound, message, reason::JOB_NOT_FOUND, vec![]),
            Error::AlreadyExists(m) => Status::already_exists(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::StaleLease(m) => with_reason(Code::FailedPrecondition, m, reason::STALE_LEASE, vec![]),
            Error::Unavailable(m) => Status::unavailable(m),
            Error::Internal(_) => Status::internal("internal error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_bounded_for_trailers() {
        let many: Vec<(String, String)> = (0..5000)
            .map(|i| ("parameters".to_owned(), format!("{i} {}", "x".repeat(100))))
            .collect();
        let kept = bounded(many);
        let bytes: usize = kept.iter().map(|(f, d)| f.len() + d.len()).sum();
        assert!(bytes <= MAX_DETAIL_BYTES + 100, "{bytes}");
        assert!(
            kept.last()
                .is_some_and(|(_, d)| d.contains("more violations not shown"))
        );
        let long = bounded(vec![("f".to_owned(), "é".repeat(2000))]);
        assert!(long[0].1.len() <= MAX_VIOLATION_BYTES + 4);
    }
}
