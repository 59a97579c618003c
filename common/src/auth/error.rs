//! Why a request was refused, mapped once to HTTP and once to gRPC; failures
//! are counted and logged here, without the token.

use std::sync::LazyLock;

use brigade_proto::ErrorReason;
use http::{HeaderValue, StatusCode};
use prometheus::IntCounterVec;
use tonic::Code;

use super::scope::{Principal, Scope};

/// The `WWW-Authenticate` value sent with every 401 (RFC 6750).
pub const WWW_AUTHENTICATE: &str = "Bearer realm=\"brigade\"";
const WWW_AUTHENTICATE_INVALID: &str = "Bearer realm=\"brigade\", error=\"invalid_token\"";

/// A refused request. Messages name what is missing, never the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send an \"authorization: Bearer <token>\" header")]
    Missing,
    #[error("the authorization header is not a Bearer token")]
    Malformed,
    /// Unknown or revoked: the two are not told apart.
    #[error("the token is not valid")]
    Invalid,
    #[error("this token does not allow {scope}{}", service.as_ref().map(|s| format!(" on service {s:?}")).unwrap_or_default())]
    Forbidden { scope: Scope, service: Option<String> },
    /// The method has no declared scope: refused by default.
    #[error("this method is not open to any token")]
    Undeclared,
    /// The token store (a database) could not answer.
    #[error("authentication is unavailable, try again")]
    Unavailable,
}

impl AuthError {
    /// 401 for missing or bad credentials, 403 for insufficient ones.
    pub fn http_status(&self) -> StatusCode {
        match self {
            AuthError::Missing | AuthError::Malformed | AuthError::Invalid => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden { .. } | AuthError::Undeclared => StatusCode::FORBIDDEN,
            AuthError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `WWW-Authenticate` header a 401 carries; `None` for other statuses.
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        match self {
            AuthError::Missing => Some(HeaderValue::from_static(WWW_AUTHENTICATE)),
            AuthError::Malformed | AuthError::Invalid => Some(HeaderValue::from_static(WWW_AUTHENTICATE_INVALID)),
            _ => None,
        }
    }

    pub fn grpc_status(&self) -> tonic::Status {
        let (code, reason) = match self {
            AuthError::Missing | AuthError::Malformed | AuthError::Invalid => {
                (Code::Unauthenticated, ErrorReason::Unauthenticated)
            }
            AuthError::Forbidden { .. } | AuthError::Undeclared => {
                (Code::PermissionDenied, ErrorReason::PermissionDenied)
            }
            AuthError::Unavailable => (Code::Unavailable, ErrorReason::DatabaseUnavailable),
        };
        reason.status(code, self.to_string(), &[])
    }

    /// The metric label and log field.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Malformed => "malformed",
            AuthError::Invalid => "invalid",
            AuthError::Forbidden { .. } => "forbidden",
            AuthError::Undeclared => "undeclared",
            AuthError::Unavailable => "unavailable",
        }
    }
}

pub static AUTH_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    crate::metrics::counter(
        "brigade_auth_failures_total",
        "Requests refused by authentication or authorization, by component and reason",
        &["component", "reason"],
    )
});

/// Counts and logs one refusal. Only the principal's public id and name, the
/// target and the reason are logged — never a token or a hash.
pub(crate) fn record_failure(component: &str, target: &str, error: &AuthError, principal: Option<&Principal>) {
    AUTH_FAILURES.with_label_values(&[component, error.kind()]).inc();
    let (token_id, name) = principal.map_or(("", ""), |p| (p.token_id.as_str(), p.name.as_str()));
    match error {
        AuthError::Undeclared => {
            tracing::error!(component, path = target, "method has no declared scope: refused");
        }
        AuthError::Unavailable => tracing::warn!(component, path = target, "token store unavailable"),
        _ => tracing::warn!(
            component,
            path = target,
            reason = error.kind(),
            token_id,
            principal = name,
            "request refused"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_reasons() {
        for e in [AuthError::Missing, AuthError::Malformed, AuthError::Invalid] {
            assert_eq!(e.http_status(), StatusCode::UNAUTHORIZED);
            assert!(e.www_authenticate().is_some());
            let status = e.grpc_status();
            assert_eq!(status.code(), Code::Unauthenticated);
            assert_eq!(ErrorReason::of(&status), Some(ErrorReason::Unauthenticated));
        }
        let forbidden = AuthError::Forbidden {
            scope: Scope::Work,
            service: Some("b".into()),
        };
        assert_eq!(forbidden.http_status(), StatusCode::FORBIDDEN);
        assert_eq!(forbidden.www_authenticate(), None);
        assert_eq!(forbidden.to_string(), "this token does not allow work on service \"b\"");
        let status = forbidden.grpc_status();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert_eq!(ErrorReason::of(&status), Some(ErrorReason::PermissionDenied));
        assert_eq!(AuthError::Undeclared.grpc_status().code(), Code::PermissionDenied);
        assert_eq!(AuthError::Missing.www_authenticate().unwrap(), WWW_AUTHENTICATE);
    }
}
