//! The recipe-types error vocabulary and its one mapping to gRPC status codes.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Shown to the client as Scale's `{"detail": ...}`.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("recipe type {0} does not exist")]
    NotFound(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable("the recipe-types database is unavailable, try again".to_owned())
            }
            // SQLSTATE class 22 is "data exception": a value the database cannot hold
            // (such as a NUL character in text on PostgreSQL) is the client's mistake.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                Self::InvalidArgument("a parameter contains characters that cannot be stored (such as NUL)".to_owned())
            }
            sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                Self::FailedPrecondition("the recipe type changed during this request; retry".to_owned())
            }
            _ => {
                tracing::error!(error = %e, "database error");
                Self::Internal(e.to_string())
            }
        }
    }
}

fn ours(code: Code, message: String) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "RECIPE_TYPES",
        "brigade.recipetypes.v1",
        std::collections::HashMap::new(),
    );
    Status::with_error_details(code, message, details)
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::InvalidArgument(_) => ours(Code::InvalidArgument, message),
            Error::NotFound(_) => ours(Code::NotFound, message),
            Error::FailedPrecondition(_) => ours(Code::FailedPrecondition, message),
            Error::Unavailable(_) => ours(Code::Unavailable, message),
            Error::Internal(_) => Status::internal("internal error"),
        }
    }
}
