//! The errors this crate returns, and how gRPC statuses map onto them.

use std::time::Duration;

use brigade_proto::ErrorReason;
use tonic::Code;
use tonic_types::StatusExt;

/// Everything that can go wrong talking to Brigade.
///
/// Statuses the job-queue answers with are mapped onto the variants that a
/// caller can act on (`NotFound`, `AlreadyExists`, `InvalidArgument`,
/// `ResultRejected`, `LeaseLost`); anything else is kept as [`Error::Rpc`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The job-queue could not be reached at `url`, even after retrying.
    #[error("cannot connect to {url} after {attempts} attempt(s): {source}")]
    Connect {
        /// The URL that was dialled.
        url: String,
        /// How many times it was tried.
        attempts: u32,
        /// The last transport error.
        #[source]
        source: tonic::transport::Error,
    },
    /// The service or job does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A service with the same name and version exists already.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The request was refused as invalid, e.g. job parameters that violate the
    /// service's registration schema. `violations` lists each problem found.
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// The server's summary.
        message: String,
        /// One entry per violated rule, as `field: description`.
        violations: Vec<String>,
    },
    /// Results handed to `CompleteJob` violate the service's result schema (or
    /// are not a JSON object). The job was not changed and is still WORKING
    /// under the same lease.
    #[error("results rejected: {}", violations.join("; "))]
    ResultRejected {
        /// One entry per violated rule.
        violations: Vec<String>,
    },
    /// The lease token is no longer the job's current lease: the lease expired
    /// (the job may have been handed to another worker), the job was cancelled,
    /// or it was already completed or failed. Nothing was changed.
    #[error("lease lost on job {job_id}: {message}")]
    LeaseLost {
        /// The job the lease was for.
        job_id: String,
        /// The server's explanation.
        message: String,
    },
    /// The server sent a document that is not valid JSON, or a message that
    /// lacks a required part.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// A wait ([`Client::wait_for_job`](crate::Client::wait_for_job)) did not
    /// see what it waited for within its timeout.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// Any other gRPC failure (unavailable, deadline exceeded, internal, ...).
    #[error("rpc failed: {}: {}", .0.code(), .0.message())]
    Rpc(Box<tonic::Status>),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether retrying the same call later could succeed: the server was
    /// unreachable, overloaded or too slow.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. } => true,
            Error::Rpc(status) => matches!(
                status.code(),
                Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Aborted
            ),
            _ => false,
        }
    }

    /// The server's [`ErrorReason`], for an [`Error::Rpc`] that carried one.
    /// (The other variants already say what the reason was.)
    pub fn reason(&self) -> Option<ErrorReason> {
        self.status().and_then(ErrorReason::of)
    }

    /// The gRPC status behind an [`Error::Rpc`].
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            Error::Rpc(status) => Some(status),
            _ => None,
        }
    }

    /// Maps a status from any call that is not about a lease or results.
    pub(crate) fn from_status(status: tonic::Status) -> Self {
        match status.code() {
            Code::NotFound => Error::NotFound(status.message().to_owned()),
            Code::AlreadyExists => Error::AlreadyExists(status.message().to_owned()),
            Code::InvalidArgument => Error::InvalidArgument {
                violations: violations(&status, true),
                message: status.message().to_owned(),
            },
            _ => Error::Rpc(Box::new(status)),
        }
    }

    /// Maps a status from a call that presents a lease token.
    pub(crate) fn from_lease_status(status: tonic::Status, job_id: &str) -> Self {
        // A FAILED_PRECONDITION without any ErrorInfo is taken as a lost lease
        // too (the safe reading: the caller stops working on the job).
        let stale = status.code() == Code::FailedPrecondition
            && (status.get_details_error_info().is_none() || ErrorReason::of(&status) == Some(ErrorReason::StaleLease));
        if stale {
            Error::LeaseLost {
                job_id: job_id.to_owned(),
                message: status.message().to_owned(),
            }
        } else {
            Error::from_status(status)
        }
    }

    /// Maps a status from `CompleteJob`: invalid results become `ResultRejected`.
    pub(crate) fn from_complete_status(status: tonic::Status, job_id: &str) -> Self {
        if status.code() == Code::InvalidArgument {
            Error::ResultRejected {
                violations: violations(&status, false),
            }
        } else {
            Error::from_lease_status(status, job_id)
        }
    }
}

/// The field violations of a `google.rpc.BadRequest` detail, or the status
/// message when there are none.
fn violations(status: &tonic::Status, with_field: bool) -> Vec<String> {
    let found: Vec<String> = status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|v| {
                    if with_field && !v.field.is_empty() {
                        format!("{}: {}", v.field, v.description)
                    } else {
                        v.description
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if found.is_empty() {
        vec![status.message().to_owned()]
    } else {
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, FieldViolation};

    fn bad_request(code: Code, reason: &str, violations: &[(&str, &str)]) -> tonic::Status {
        let mut details = ErrorDetails::new();
        details.set_error_info(reason, "brigade.jobqueue.v1", std::collections::HashMap::new());
        if !violations.is_empty() {
            details.set_bad_request(
                violations
                    .iter()
                    .map(|(f, d)| FieldViolation::new(*f, *d))
                    .collect::<Vec<_>>(),
            );
        }
        tonic::Status::with_error_details(code, "summary", details)
    }

    #[test]
    fn complete_maps_schema_violations_to_result_rejected() {
        let status = bad_request(
            Code::InvalidArgument,
            "JSON_SCHEMA_VALIDATION",
            &[
                ("results", "\"x\" is a required property"),
                ("results", "1 is not a string"),
            ],
        );
        match Error::from_complete_status(status, "j") {
            Error::ResultRejected { violations } => {
                assert_eq!(violations, ["\"x\" is a required property", "1 is not a string"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn stale_lease_maps_to_lease_lost_other_preconditions_do_not() {
        let stale = bad_request(Code::FailedPrecondition, ErrorReason::StaleLease.wire_name(), &[]);
        assert!(matches!(
            Error::from_lease_status(stale, "j1"),
            Error::LeaseLost { job_id, .. } if job_id == "j1"
        ));
        let other = bad_request(Code::FailedPrecondition, "SOMETHING_ELSE", &[]);
        assert!(matches!(Error::from_lease_status(other, "j1"), Error::Rpc(_)));
        let plain = tonic::Status::failed_precondition("no details");
        assert!(matches!(Error::from_lease_status(plain, "j1"), Error::LeaseLost { .. }));
    }

    #[test]
    fn reason_reads_the_error_info_of_other_failures() {
        let status = ErrorReason::Conflict.status(Code::Aborted, "retry", &[]);
        let error = Error::from_status(status);
        assert!(error.is_transient());
        assert_eq!(error.reason(), Some(ErrorReason::Conflict));
        assert_eq!(Error::from_status(tonic::Status::internal("x")).reason(), None);
    }

    #[test]
    fn common_codes_map_to_variants() {
        assert!(matches!(
            Error::from_status(tonic::Status::not_found("x")),
            Error::NotFound(m) if m == "x"
        ));
        assert!(matches!(
            Error::from_status(tonic::Status::already_exists("x")),
            Error::AlreadyExists(_)
        ));
        let invalid = bad_request(Code::InvalidArgument, "INVALID_FIELD", &[("parameters", "bad")]);
        assert!(matches!(
            Error::from_status(invalid),
            Error::InvalidArgument { violations, .. } if violations == ["parameters: bad"]
        ));
        let unavailable = Error::from_status(tonic::Status::unavailable("down"));
        assert!(unavailable.is_transient());
        assert_eq!(unavailable.status().map(tonic::Status::code), Some(Code::Unavailable));
    }
}
