//! Who may call each route: the scope a route declares is checked before its
//! handler runs, a refusal is answered in the route's own error envelope, the
//! caller's token is forwarded to the services, and every state-changing call
//! is written to the audit log (target `brigade::audit`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use brigade_common::auth::{
    AuthError, Authenticator, Principal, Scope, with_caller_authorization, with_caller_certificate,
};
use brigade_common::tls::TlsPeer;
use http::{Method, StatusCode, header};

use crate::error::{ScaleError, TopChefError, titles};
use crate::middleware::is_scale_path;

/// What a route asks of its caller: nothing, or a token with a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Probes, metrics, the API's own description: no token needed.
    Open,
    Scope(Scope),
}

pub const OPEN: Access = Access::Open;
pub const READ: Access = Access::Scope(Scope::Read);
pub const SUBMIT: Access = Access::Scope(Scope::Submit);
pub const WORK: Access = Access::Scope(Scope::Work);
pub const ADMIN: Access = Access::Scope(Scope::Admin);

impl Access {
    pub fn scope(self) -> Option<Scope> {
        match self {
            Access::Open => None,
            Access::Scope(scope) => Some(scope),
        }
    }
}

/// One route's check: the authenticator, the scope it declares and its template.
#[derive(Clone)]
pub struct RouteGuard {
    pub authenticator: Authenticator,
    pub access: Access,
    pub method: Method,
    /// `POST /services/{id}/jobs`: the action in logs and audit events.
    pub action: Arc<str>,
    pub template: Arc<str>,
}

/// Runs before a route's handler. Requests for a method this route does not
/// serve (axum's 405 fallback, OPTIONS) pass untouched, so their answers do
/// not depend on a token.
pub async fn check(State(route): State<RouteGuard>, request: Request, next: Next) -> Response {
    let serves = request.method() == route.method || (route.method == Method::GET && request.method() == Method::HEAD);
    if !serves {
        return next.run(request).await;
    }
    let changes_state = ![Method::GET, Method::HEAD, Method::OPTIONS].contains(request.method());
    let path = request.uri().path().to_owned();
    let Some(scope) = route.access.scope() else {
        let response = next.run(request).await;
        if changes_state {
            audit(&route, &path, None, response.status());
        }
        return response;
    };
    let identity = (request.extensions().get::<TlsPeer>()).and_then(|peer| peer.identity.clone());
    let principal = match authorize(&route, request.headers(), identity.as_deref(), scope).await {
        Ok(principal) => principal,
        Err(error) => {
            let response = refusal(&path, &error);
            if changes_state {
                audit(&route, &path, None, response.status());
            }
            return response;
        }
    };
    let headers = request.headers().clone();
    let response = match identity.filter(|_| !headers.contains_key(http::header::AUTHORIZATION)) {
        // Known by its client certificate alone: the services resolve it themselves.
        Some(identity) if principal.token_id.starts_with("cert:") => {
            with_caller_certificate(&identity, next.run(request)).await
        }
        _ => with_caller_authorization(&headers, next.run(request)).await,
    };
    if changes_state {
        audit(&route, &path, Some(&principal), response.status());
    }
    response
}

async fn authorize(
    route: &RouteGuard,
    headers: &http::HeaderMap,
    identity: Option<&str>,
    scope: Scope,
) -> Result<Principal, AuthError> {
    let principal = (route.authenticator)
        .authenticate(headers, identity, &route.action)
        .await?;
    // A `work` token limited to services is checked per service by job-queue,
    // which sees the job's service; here the scope alone.
    route.authenticator.authorize(&principal, scope, None, &route.action)?;
    Ok(principal)
}

/// A refusal in the envelope of the surface `path` belongs to: Scale's
/// `{"detail"}` or TopChef's `errors` list (which Brigade's own routes share).
pub fn refusal(path: &str, error: &AuthError) -> Response {
    let status = error.http_status();
    let detail = error.to_string();
    let mut response = if is_scale_path(path) {
        ScaleError::new(status, detail).into_response()
    } else {
        let title = match status {
            StatusCode::UNAUTHORIZED => titles::UNAUTHORIZED,
            StatusCode::FORBIDDEN => titles::FORBIDDEN,
            _ => titles::UNAVAILABLE,
        };
        TopChefError::single(status, title, detail).into_response()
    };
    if let Some(value) = error.www_authenticate() {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// One structured event per state-changing call: who (token id and name, never
/// the token), what (method and route template), on what (the path's ids) and
/// how it ended (the status).
fn audit(route: &RouteGuard, path: &str, principal: Option<&Principal>, status: StatusCode) {
    let (token_id, name) = principal.map_or(("", ""), |p| (p.token_id.as_str(), p.name.as_str()));
    let ids = path_ids(&route.template, path);
    tracing::info!(
        target: "brigade::audit",
        token_id,
        principal = name,
        action = &*route.action,
        target = %ids,
        outcome = status.as_u16(),
        "audit"
    );
}

/// The values of a template's parameters in `path`, as `name=value` pairs:
/// `/jobs/{id}/cancel` and `/jobs/42/cancel` give `id=42`.
pub fn path_ids(template: &str, path: &str) -> String {
    let pairs: Vec<String> = template
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(pattern, value)| {
            let name = pattern.strip_prefix('{')?.strip_suffix('}')?;
            Some(format!("{name}={value}"))
        })
        .collect();
    pairs.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_templates() {
        assert_eq!(path_ids("/jobs/{id}/cancel", "/jobs/42/cancel"), "id=42");
        assert_eq!(
            path_ids(
                "/v6/recipe-types/{name}/revisions/{revision_num}/",
                "/v6/recipe-types/a/revisions/3/"
            ),
            "name=a,revision_num=3"
        );
        assert_eq!(path_ids("/services", "/services"), "");
    }

    #[test]
    fn refusals_in_each_envelope() {
        let response = refusal("/v6/recipe-types/", &AuthError::Missing);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            brigade_common::auth::WWW_AUTHENTICATE
        );
        let response = refusal("/services", &AuthError::Invalid);
        assert!(
            response.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        let forbidden = AuthError::Forbidden {
            scope: Scope::Admin,
            service: None,
        };
        let response = refusal("/services", &forbidden);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(!response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
