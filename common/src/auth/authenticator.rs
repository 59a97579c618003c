//! One check for both surfaces: read the `authorization` header, ask the
//! store, test the scope. gRPC metadata and HTTP headers are the same map.

use std::sync::Arc;

use http::HeaderMap;

use super::error::{AuthError, record_failure};
use super::scope::{Principal, Scope};
use super::store::TokenStore;
use super::token::BearerToken;

/// Authenticates requests against a store, or lets everything through as
/// [`Principal::anonymous`] when authentication is off.
#[derive(Clone)]
pub struct Authenticator {
    store: Option<Arc<dyn TokenStore>>,
    component: &'static str,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("enabled", &self.store.is_some())
            .field("component", &self.component)
            .finish()
    }
}

impl Authenticator {
    /// `component` labels the failure metric and log lines ("gateway", "job-queue").
    pub fn new(store: Arc<dyn TokenStore>, component: &'static str) -> Self {
        Self {
            store: Some(store),
            component,
        }
    }

    /// Authentication switched off: every request is the anonymous admin.
    pub fn off(component: &'static str) -> Self {
        Self { store: None, component }
    }

    /// The store behind this authenticator (`None` when authentication is off).
    pub fn store(&self) -> Option<&Arc<dyn TokenStore>> {
        self.store.as_ref()
    }

    pub fn is_enabled(&self) -> bool {
        self.store.is_some()
    }

    /// Who sent these headers (REST: the gateway calls this from axum).
    /// Failures are counted and logged; `target` in logs is empty here —
    /// use [`Authenticator::require`] to name the route.
    pub async fn authenticate_header(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        self.authenticate(headers, None, "").await
    }

    /// Authenticates `headers`, falling back to a verified client certificate
    /// identity when no `authorization` header is sent.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        certificate_identity: Option<&str>,
        target: &str,
    ) -> Result<Principal, AuthError> {
        let result = self.lookup(headers, certificate_identity).await;
        if let Err(error) = &result {
            record_failure(self.component, target, error, None);
        }
        result
    }

    /// Authenticates and checks `scope` (and the service of a `work` call) in one step.
    pub async fn require(
        &self,
        headers: &HeaderMap,
        scope: Scope,
        service: Option<&str>,
        target: &str,
    ) -> Result<Principal, AuthError> {
        let principal = self.authenticate(headers, None, target).await?;
        self.authorize(&principal, scope, service, target)?;
        Ok(principal)
    }

    /// Checks an authenticated principal; a refusal is counted and logged.
    pub fn authorize(
        &self,
        principal: &Principal,
        scope: Scope,
        service: Option<&str>,
        target: &str,
    ) -> Result<(), AuthError> {
        if principal.allows(scope, service) {
            return Ok(());
        }
        let error = AuthError::Forbidden {
            scope,
            service: service.map(str::to_owned),
        };
        record_failure(self.component, target, &error, Some(principal));
        Err(error)
    }

    pub(crate) fn component(&self) -> &'static str {
        self.component
    }

    async fn lookup(&self, headers: &HeaderMap, certificate_identity: Option<&str>) -> Result<Principal, AuthError> {
        let Some(store) = &self.store else {
            return Ok(Principal::anonymous());
        };
        match bearer_token(headers)? {
            Some(token) => store
                .authenticate(&token)
                .await
                .map_err(|_| AuthError::Unavailable)?
                .ok_or(AuthError::Invalid),
            None => match certificate_identity {
                Some(identity) => store
                    .authenticate_certificate(identity)
                    .await
                    .map_err(|_| AuthError::Unavailable)?
                    .ok_or(AuthError::Invalid),
                None => Err(AuthError::Missing),
            },
        }
    }
}

/// The token of an `authorization: Bearer <token>` header; `None` without the
/// header. The scheme is case-insensitive (RFC 7235); one header only.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<BearerToken>, AuthError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::Malformed);
    }
    let text = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = text.split_once(' ').ok_or(AuthError::Malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthError::Malformed);
    }
    Ok(Some(BearerToken::new(token)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::store::StaticTokenStore;
    use crate::auth::token::TokenRecord;
    use std::collections::BTreeSet;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer_token(&HeaderMap::new()), Ok(None));
        assert_eq!(bearer_token(&headers("Bearer abc")).unwrap().unwrap().expose(), "abc");
        assert_eq!(bearer_token(&headers("bearer  abc ")).unwrap().unwrap().expose(), "abc");
        for bad in ["Basic abc", "Bearer", "Bearer ", "Bearer a b", "abc"] {
            assert_eq!(bearer_token(&headers(bad)), Err(AuthError::Malformed), "{bad}");
        }
        let mut twice = headers("Bearer a");
        twice.append(http::header::AUTHORIZATION, "Bearer b".parse().unwrap());
        assert_eq!(bearer_token(&twice), Err(AuthError::Malformed));
    }

    #[tokio::test]
    async fn header_check_end_to_end() {
        let (token, record) = TokenRecord::create("w", BTreeSet::from([Scope::Work]), vec!["a".into()]).unwrap();
        let auth = Authenticator::new(Arc::new(StaticTokenStore::from_records(vec![record])), "test");
        let good = headers(&format!("Bearer {}", token.expose()));
        assert_eq!(auth.authenticate_header(&good).await.unwrap().name, "w");
        assert_eq!(
            auth.authenticate_header(&HeaderMap::new()).await,
            Err(AuthError::Missing)
        );
        assert_eq!(
            auth.authenticate_header(&headers("Bearer brg_nope")).await,
            Err(AuthError::Invalid)
        );
        assert!(auth.require(&good, Scope::Work, Some("a"), "claim").await.is_ok());
        assert!(matches!(
            auth.require(&good, Scope::Work, Some("b"), "claim").await,
            Err(AuthError::Forbidden { .. })
        ));
        assert!(matches!(
            auth.require(&good, Scope::Admin, None, "cancel").await,
            Err(AuthError::Forbidden { .. })
        ));
        let off = Authenticator::off("test");
        assert_eq!(
            off.authenticate_header(&HeaderMap::new()).await,
            Ok(Principal::anonymous())
        );
    }
}
