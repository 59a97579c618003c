//! The job-queue error vocabulary and its one mapping to gRPC status codes.

use brigade_proto::ErrorReason;
use sqlx::error::ErrorKind;
use tonic::{Code, Status};

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
    #[error("a token with id {0} was not found")]
    TokenNotFound(String),
    /// The caller's token does not cover this service (`work` limited to others).
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// An idempotency key already names a job with a different body.
    #[error("{0}")]
    IdempotencyConflict(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// The lease token is not the job's current one.
    #[error("{0}")]
    StaleLease(String),
    /// The row changed underneath this request more often than the service retries.
    #[error("{0}")]
    Conflict(String),
    #[error("the job-queue database is unavailable, try again")]
    DatabaseUnavailable,
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
            _ if brigade_common::db::is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::DatabaseUnavailable
            }
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => Self::AlreadyExists("a row with the same key already exists".to_owned()),
                ErrorKind::ForeignKeyViolation => {
                    Self::FailedPrecondition("a row this change refers to does not exist".to_owned())
                }
                // SQLSTATE class 22 is "data exception": a value the database cannot hold
                // (such as a NUL character in text on PostgreSQL) is the client's mistake.
                ErrorKind::Other if db.code().is_some_and(|c| c.starts_with("22")) => Self::invalid(
                    "request",
                    "a value contains characters that cannot be stored (such as NUL)",
                ),
                // Serialization failure or deadlock: the transaction lost a race.
                ErrorKind::Other if db.code().is_some_and(|c| c == "40001" || c == "40P01") => {
                    Self::Conflict("a concurrent change got in the way; retry".to_owned())
                }
                _ => internal(&e),
            },
            _ => internal(&e),
        }
    }
}

fn internal(e: &sqlx::Error) -> Error {
    tracing::error!(error = %e, "database error");
    Error::Internal(e.to_string())
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

fn with_reason(reason: ErrorReason, code: Code, message: String, violations: Vec<(String, String)>) -> Status {
    reason.status(code, message, &bounded(violations))
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::InvalidField { field, message: m } => with_reason(
                ErrorReason::InvalidField,
                Code::InvalidArgument,
                message,
                vec![(field, m)],
            ),
            Error::SchemaViolations { field, violations } => with_reason(
                ErrorReason::JsonSchemaValidation,
                Code::InvalidArgument,
                message,
                violations.into_iter().map(|v| (field.clone(), v)).collect(),
            ),
            Error::ServiceNotFound(_) => with_reason(ErrorReason::ServiceNotFound, Code::NotFound, message, vec![]),
            Error::JobNotFound(_) => with_reason(ErrorReason::JobNotFound, Code::NotFound, message, vec![]),
            Error::TokenNotFound(_) => with_reason(ErrorReason::TokenNotFound, Code::NotFound, message, vec![]),
            Error::PermissionDenied(_) => {
                with_reason(ErrorReason::PermissionDenied, Code::PermissionDenied, message, vec![])
            }
            Error::AlreadyExists(_) => with_reason(ErrorReason::AlreadyExists, Code::AlreadyExists, message, vec![]),
            Error::IdempotencyConflict(_) => {
                with_reason(ErrorReason::IdempotencyConflict, Code::AlreadyExists, message, vec![])
            }
            Error::FailedPrecondition(_) => with_reason(
                ErrorReason::FailedPrecondition,
                Code::FailedPrecondition,
                message,
                vec![],
            ),
            Error::StaleLease(_) => with_reason(ErrorReason::StaleLease, Code::FailedPrecondition, message, vec![]),
            Error::Conflict(_) => with_reason(ErrorReason::Conflict, Code::Aborted, message, vec![]),
            Error::DatabaseUnavailable => {
                with_reason(ErrorReason::DatabaseUnavailable, Code::Unavailable, message, vec![])
            }
            // The cause was logged where it was converted; clients learn nothing of it.
            Error::Internal(_) => Status::internal("internal error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_carry_their_reason() {
        let status = Status::from(Error::Conflict("changed".into()));
        assert_eq!(status.code(), Code::Aborted);
        assert_eq!(ErrorReason::of(&status), Some(ErrorReason::Conflict));
        let status = Status::from(Error::DatabaseUnavailable);
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(ErrorReason::of(&status), Some(ErrorReason::DatabaseUnavailable));
        assert!(status.message().contains("database is unavailable"));
        let status = Status::from(Error::Internal("secret cause".into()));
        assert_eq!(status.message(), "internal error");
    }

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
