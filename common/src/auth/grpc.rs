//! gRPC: a tower layer that authenticates every call and checks the scope its
//! method declares, and the client side that sends a process's own token.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use prost::Message;
use tonic::body::Body;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tower::{Layer, Service};

use super::authenticator::Authenticator;
use super::error::{AuthError, record_failure};
use super::scope::Scope;
use super::token::BearerToken;

/// The scope each gRPC method needs, by full path (`/brigade.jobqueue.v1.JobQueue/ClaimJobs`).
#[derive(Clone, Debug, Default)]
pub struct MethodScopes(HashMap<String, Scope>);

impl MethodScopes {
    pub fn new(entries: &[(&str, Scope)]) -> Self {
        Self(
            entries
                .iter()
                .map(|(path, scope)| ((*path).to_owned(), *scope))
                .collect(),
        )
    }

    pub fn scope(&self, path: &str) -> Option<Scope> {
        self.0.get(path).copied()
    }

    /// Every method of `service` (e.g. `brigade.jobqueue.v1.JobQueue`) in an
    /// encoded file descriptor set that has no scope here, so a test can
    /// assert that a new RPC cannot ship undeclared.
    pub fn undeclared(&self, descriptor_set: &[u8], service: &str) -> Vec<String> {
        method_paths(descriptor_set, service)
            .into_iter()
            .filter(|path| !self.0.contains_key(path))
            .collect()
    }

    /// Declared paths that are not methods of `service` (stale entries).
    pub fn unknown(&self, descriptor_set: &[u8], service: &str) -> Vec<String> {
        let methods = method_paths(descriptor_set, service);
        let prefix = format!("/{service}/");
        let mut stale: Vec<String> = self
            .0
            .keys()
            .filter(|path| path.starts_with(&prefix) && !methods.contains(path))
            .cloned()
            .collect();
        stale.sort();
        stale
    }
}

/// The full paths of a service's methods, from an encoded descriptor set.
pub fn method_paths(descriptor_set: &[u8], service: &str) -> Vec<String> {
    let Ok(set) = prost_types::FileDescriptorSet::decode(descriptor_set) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for file in &set.file {
        for svc in &file.service {
            let full = format!("{}.{}", file.package(), svc.name());
            if full == service {
                paths.extend(svc.method.iter().map(|m| format!("/{full}/{}", m.name())));
            }
        }
    }
    paths
}

/// Health and reflection answer without a token (probes and tools need them);
/// `/metrics` holds no secret and is protected by the network policy instead.
fn always_open(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.") || path == "/metrics"
}

/// Refuses calls without a valid token (`Unauthenticated`) or without the
/// method's scope (`PermissionDenied`); methods missing from the table are
/// refused. The [`Principal`](super::Principal) goes into the request's
/// extensions for the per-service checks in handlers.
#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Authenticator,
    methods: Arc<MethodScopes>,
}

impl AuthLayer {
    pub fn new(authenticator: Authenticator, methods: MethodScopes) -> Self {
        Self {
            authenticator,
            methods: Arc::new(methods),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            authenticator: self.authenticator.clone(),
            methods: self.methods.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    authenticator: Authenticator,
    methods: Arc<MethodScopes>,
}

impl<S, B> Service<http::Request<B>> for Auth<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if always_open(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        // The ready service handles this call; its clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        let methods = self.methods.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            let identity = crate::tls::grpc_peer_identity(&request);
            let declared = methods.scope(&path);
            let delegated = request
                .headers_mut()
                .remove(DELEGATED_CERTIFICATE)
                .and_then(|v| v.to_str().ok().map(str::to_owned));
            let headers = request.headers();
            let authenticated = async {
                let principal = authenticator.authenticate(headers, identity.as_deref(), &path).await?;
                match delegated {
                    // The gateway acting for a caller it verified by client
                    // certificate: that certificate's principal, as this
                    // process's store knows it.
                    Some(delegated) if authenticator.is_enabled() && principal.allows(Scope::Admin, None) => {
                        authenticator
                            .authenticate(&http::HeaderMap::new(), Some(&delegated), &path)
                            .await
                    }
                    _ => Ok(principal),
                }
            };
            let principal = match authenticated.await {
                Ok(principal) => principal,
                Err(error) => {
                    let status = error.grpc_status();
                    audit(declared, None, &path, status.code());
                    return Ok(status.into_http());
                }
            };
            // With authentication off every method is open, declared or not.
            let scope = match declared {
                Some(scope) => scope,
                None if !authenticator.is_enabled() => Scope::Read,
                None => {
                    let error = AuthError::Undeclared;
                    record_failure(authenticator.component(), &path, &error, Some(&principal));
                    let status = error.grpc_status();
                    audit(Some(Scope::Admin), Some(&principal), &path, status.code());
                    return Ok(status.into_http());
                }
            };
            if let Err(error) = authenticator.authorize(&principal, scope, None, &path) {
                let status = error.grpc_status();
                audit(Some(scope), Some(&principal), &path, status.code());
                return Ok(status.into_http());
            }
            request.extensions_mut().insert(principal.clone());
            let response = inner.call(request).await?;
            audit(Some(scope), Some(&principal), &path, response_code(&response));
            Ok(response)
        })
    }
}

/// The log target of audit events, so they can be routed on their own.
pub const AUDIT_TARGET: &str = "brigade::audit";

/// One `info` event per call that can change state (any scope but `read`):
/// who, which method, and the gRPC outcome. Never a token, a hash or a body.
fn audit(scope: Option<Scope>, principal: Option<&super::Principal>, path: &str, code: tonic::Code) {
    if matches!(scope, None | Some(Scope::Read)) {
        return;
    }
    let action = path.rsplit('/').next().unwrap_or(path);
    tracing::info!(
        target: AUDIT_TARGET,
        principal = principal.map_or("-", |p| p.name.as_str()),
        token_id = principal.map_or("-", |p| p.token_id.as_str()),
        action,
        outcome = ?code,
        "audit"
    );
}

/// A unary error answers trailers-only, with `grpc-status` in the headers;
/// without one the call succeeded (a stream's final status is not waited for).
fn response_code(response: &http::Response<Body>) -> tonic::Code {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from_i32)
}

/// A process's own credentials on its outgoing calls: use with a generated
/// client's `with_interceptor`. A request that already carries an
/// `authorization` value (the gateway forwarding its caller's token) keeps it.
#[derive(Clone, Default)]
pub struct ClientCredentials {
    value: Option<AsciiMetadataValue>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token", &self.value.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ClientCredentials {
    /// `None` sends nothing (authentication off).
    pub fn new(token: Option<&BearerToken>) -> Result<Self, AuthError> {
        Ok(Self {
            value: token.map(bearer_value).transpose()?,
        })
    }
}

impl tonic::service::Interceptor for ClientCredentials {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if request.metadata().contains_key("authorization") {
            return Ok(request);
        }
        // Inside a REST request (see `with_caller_authorization`) only the
        // caller's own token is sent: the gateway never lends its token to a
        // caller. A caller known by its client certificate alone is named in
        // `x-brigade-client-certificate` beside the process's own token, and
        // the service resolves that identity itself (see `Auth`).
        let value = match CALLER.try_with(Clone::clone) {
            Ok(Caller::Token(value)) => Some(value),
            Ok(Caller::Nobody) => None,
            Ok(Caller::Certificate(identity)) => {
                request.metadata_mut().insert(DELEGATED_CERTIFICATE, identity);
                self.value.clone()
            }
            Err(_) => self.value.clone(),
        };
        if let Some(value) = value {
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

/// Trace context and a process's own credentials on a service-to-service
/// client: `JobQueueClient::with_interceptor(channel, TracedCredentials(creds))`.
#[derive(Clone, Debug, Default)]
pub struct TracedCredentials(pub ClientCredentials);

impl tonic::service::Interceptor for TracedCredentials {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let request = crate::trace::Propagate.call(request)?;
        self.0.call(request)
    }
}

/// A channel whose calls carry trace context and the process's own token.
pub type CredentialedChannel =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, TracedCredentials>;

/// Who the REST caller behind a gateway's gRPC call is.
#[derive(Clone)]
enum Caller {
    Token(AsciiMetadataValue),
    Certificate(AsciiMetadataValue),
    Nobody,
}

tokio::task_local! {
    static CALLER: Caller;
}

/// Metadata naming the verified client certificate of a REST caller that sent
/// no token. Honoured only from a caller holding `admin` (a service credential):
/// the service then acts as that certificate's own principal, from its own store.
pub const DELEGATED_CERTIFICATE: &str = "x-brigade-client-certificate";

/// Runs `future` (a REST handler) so that every gRPC call it makes through a
/// [`ClientCredentials`] interceptor carries the REST caller's `authorization`
/// header instead of the gateway's own token: the services check the caller
/// again. A caller without a header sends none (never the process's own).
pub async fn with_caller_authorization<F: Future>(headers: &http::HeaderMap, future: F) -> F::Output {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| text.parse::<AsciiMetadataValue>().ok())
        .map(|mut value| {
            value.set_sensitive(true);
            value
        });
    CALLER.scope(value.map_or(Caller::Nobody, Caller::Token), future).await
}

/// Like [`with_caller_authorization`] for a REST caller known only by its
/// verified client certificate (`identity`, no `authorization` header): the
/// gRPC calls of `future` carry the process's own token and name the identity
/// in [`DELEGATED_CERTIFICATE`], so the service checks that principal's scopes.
pub async fn with_caller_certificate<F: Future>(identity: &str, future: F) -> F::Output {
    let caller = identity
        .parse::<AsciiMetadataValue>()
        .map_or(Caller::Nobody, Caller::Certificate);
    CALLER.scope(caller, future).await
}

/// `Bearer <token>` as a metadata value marked sensitive (kept out of debug output and HPACK tables).
pub fn bearer_value(token: &BearerToken) -> Result<AsciiMetadataValue, AuthError> {
    let mut value: AsciiMetadataValue = format!("Bearer {}", token.expose())
        .parse()
        .map_err(|_| AuthError::Malformed)?;
    value.set_sensitive(true);
    Ok(value)
}

/// Copies the caller's `authorization` header onto an outgoing gRPC call (the
/// gateway forwards the REST caller's token so the service checks it again).
pub fn forward_authorization(headers: &http::HeaderMap, metadata: &mut MetadataMap) {
    if let Some(value) = headers.get(http::header::AUTHORIZATION)
        && let Ok(text) = value.to_str()
        && let Ok(mut value) = text.parse::<AsciiMetadataValue>()
    {
        value.set_sensitive(true);
        metadata.insert("authorization", value);
    }
}

#[cfg(test)]
mod tests;
