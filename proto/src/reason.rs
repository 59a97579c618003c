//! [`ErrorReason`] on the wire: the `reason` of a `google.rpc.ErrorInfo`,
//! spelled without the enum's `ERROR_REASON_` prefix, in the `brigade` domain.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::ErrorReason;

const PREFIX: &str = "ERROR_REASON_";

/// The `ErrorInfo.domain` of every Brigade error.
pub const ERROR_DOMAIN: &str = "brigade";

impl ErrorReason {
    /// The reason as sent in `ErrorInfo.reason`, e.g. `"STALE_LEASE"`.
    pub fn wire_name(self) -> &'static str {
        let name = self.as_str_name();
        name.strip_prefix(PREFIX).unwrap_or(name)
    }

    /// Parses a wire name; unknown names (from a newer server) are `None`.
    pub fn from_wire_name(name: &str) -> Option<Self> {
        Self::from_str_name(&format!("{PREFIX}{name}")).filter(|r| *r != Self::Unspecified)
    }

    /// The reason a status carries, if it came from a Brigade service.
    pub fn of(status: &Status) -> Option<Self> {
        status
            .get_error_details()
            .error_info()
            .and_then(|info| Self::from_wire_name(&info.reason))
    }

    /// A status with this reason and, when given, `BadRequest` field violations
    /// (`(field, description)` pairs).
    pub fn status(self, code: Code, message: impl Into<String>, violations: &[(String, String)]) -> Status {
        let mut details = ErrorDetails::new();
        details.set_error_info(self.wire_name(), ERROR_DOMAIN, std::collections::HashMap::new());
        for (field, description) in violations {
            details.add_bad_request_violation(field.clone(), description.clone());
        }
        Status::with_error_details(code, message, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_a_status() {
        for reason in [
            ErrorReason::StaleLease,
            ErrorReason::JsonSchemaValidation,
            ErrorReason::Conflict,
        ] {
            let status = reason.status(Code::FailedPrecondition, "m", &[("f".into(), "d".into())]);
            assert_eq!(ErrorReason::of(&status), Some(reason));
            assert_eq!(
                status.get_error_details().bad_request().unwrap().field_violations.len(),
                1
            );
        }
        assert_eq!(ErrorReason::StaleLease.wire_name(), "STALE_LEASE");
        assert_eq!(ErrorReason::from_wire_name("UNSPECIFIED"), None);
        assert_eq!(ErrorReason::of(&Status::internal("x")), None);
    }
}
