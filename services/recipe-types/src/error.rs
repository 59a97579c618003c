//! The recipe-types error vocabulary and its one mapping to gRPC statuses and
//! [`ErrorReason`]s. Internal causes are logged where they are converted and
//! never sent.

use brigade_proto::ErrorReason;
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Shown to the client as Scale's `{"detail": ...}`.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("recipe type {0} does not exist")]
    NotFound(String),
    #[error("recipe {0} does not exist")]
    RecipeNotFound(i64),
    /// Recipe data that does not fit the interface: every problem, in Scale's names.
    #[error("{}", .0.iter().map(|m| m.description.as_str()).collect::<Vec<_>>().join("; "))]
    InvalidData(Vec<crate::definition::Message>),
    #[error("{0}")]
    FailedPrecondition(String),
    /// The row kept changing underneath this request (optimistic concurrency).
    #[error("{0}")]
    Conflict(String),
    #[error("the recipe-types database is unavailable, try again")]
    DatabaseUnavailable,
    /// job-queue cannot be reached.
    #[error("{0}")]
    PeerUnavailable(String),
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            _ if brigade_common::db::is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::DatabaseUnavailable
            }
            // SQLSTATE class 22 is "data exception": a value the database cannot hold
            // (such as a NUL character in text on PostgreSQL) is the client's mistake.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                Self::InvalidArgument("a parameter contains characters that cannot be stored (such as NUL)".to_owned())
            }
            sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                Self::Conflict("the recipe type changed during this request; retry".to_owned())
            }
            _ => {
                tracing::error!(error = %e, "database error");
                Self::Internal(e.to_string())
            }
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        let (code, reason) = match e {
            Error::InvalidArgument(_) => (Code::InvalidArgument, ErrorReason::InvalidArgument),
            Error::NotFound(_) => (Code::NotFound, ErrorReason::RecipeTypeNotFound),
            Error::RecipeNotFound(_) => (Code::NotFound, ErrorReason::RecipeNotFound),
            Error::InvalidData(messages) => {
                let violations: Vec<(String, String)> = messages.into_iter().map(|m| (m.name, m.description)).collect();
                return ErrorReason::InvalidArgument.status(Code::InvalidArgument, message, &violations);
            }
            Error::FailedPrecondition(_) => (Code::FailedPrecondition, ErrorReason::FailedPrecondition),
            Error::Conflict(_) => (Code::Aborted, ErrorReason::Conflict),
            Error::DatabaseUnavailable => (Code::Unavailable, ErrorReason::DatabaseUnavailable),
            Error::PeerUnavailable(_) => (Code::Unavailable, ErrorReason::PeerUnavailable),
            Error::Internal(_) => return Status::internal("internal error"),
        };
        reason.status(code, message, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_carries_its_reason_and_internals_stay_inside() {
        let cases = [
            (
                Error::NotFound("x".into()),
                Code::NotFound,
                Some(ErrorReason::RecipeTypeNotFound),
            ),
            (Error::Conflict("c".into()), Code::Aborted, Some(ErrorReason::Conflict)),
            (
                Error::DatabaseUnavailable,
                Code::Unavailable,
                Some(ErrorReason::DatabaseUnavailable),
            ),
            (
                Error::PeerUnavailable("p".into()),
                Code::Unavailable,
                Some(ErrorReason::PeerUnavailable),
            ),
            (Error::Internal("secret sql".into()), Code::Internal, None),
        ];
        for (error, code, reason) in cases {
            let status = Status::from(error);
            assert_eq!(status.code(), code);
            assert_eq!(ErrorReason::of(&status), reason);
            assert!(!status.message().contains("secret"));
        }
    }
}
