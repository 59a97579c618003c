//! A [`TokenStore`] that asks job-queue (which owns the tokens table) who a
//! token belongs to, with this process's own service token. No cache: a
//! revoked token is refused on its next call.

use std::sync::Arc;

use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use tonic::Code;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::authenticator::Authenticator;
use super::config::AuthConfig;
use super::grpc::bearer_value;
use super::scope::{Principal, Scope};
use super::store::{StoreUnavailable, TokenStore};
use super::token::BearerToken;
use crate::config::ConfigError;

/// Always this process's own token: unlike [`ClientCredentials`](super::ClientCredentials),
/// never the caller's, even inside a REST request.
#[derive(Clone)]
struct OwnToken(Option<AsciiMetadataValue>);

impl tonic::service::Interceptor for OwnToken {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Job-queue's `Authenticate` RPC as a token store.
#[derive(Clone)]
pub struct RemoteStore {
    client: JobQueueClient<InterceptedService<Channel, OwnToken>>,
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore").finish_non_exhaustive()
    }
}

impl RemoteStore {
    /// `service_token` is this process's own (admin) token on job-queue.
    pub fn new(job_queue: Channel, service_token: Option<&BearerToken>) -> Result<Self, ConfigError> {
        let value = service_token.map(bearer_value).transpose().map_err(|_| ConfigError {
            variable: "BRIGADE_SERVICE_TOKEN",
            message: "not a valid header value".into(),
        })?;
        Ok(Self {
            client: JobQueueClient::with_interceptor(job_queue, OwnToken(value)),
        })
    }
}

#[async_trait::async_trait]
impl TokenStore for RemoteStore {
    async fn authenticate(&self, token: &BearerToken) -> Result<Option<Principal>, StoreUnavailable> {
        let request = pb::AuthenticateRequest {
            token: token.expose().to_owned(),
        };
        match self.client.clone().authenticate(request).await {
            Ok(response) => Ok(response.into_inner().principal.map(principal_from_pb)),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) if matches!(status.code(), Code::Unauthenticated | Code::PermissionDenied) => {
                // A deployment mistake, not the caller's: say which setting.
                tracing::error!(
                    code = ?status.code(),
                    "job-queue refused this process's BRIGADE_SERVICE_TOKEN (it needs the admin scope there)"
                );
                Err(StoreUnavailable)
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), "job-queue could not check a token");
                Err(StoreUnavailable)
            }
        }
    }
}

fn principal_from_pb(p: pb::Principal) -> Principal {
    Principal {
        token_id: p.token_id,
        name: p.name,
        // A scope this build does not know grants nothing.
        scopes: p.scopes.iter().filter_map(|s| s.parse::<Scope>().ok()).collect(),
        services: p.services,
    }
}

/// The wire form of a principal (job-queue's `Authenticate` answer).
pub fn principal_to_pb(p: &Principal) -> pb::Principal {
    pb::Principal {
        token_id: p.token_id.clone(),
        name: p.name.clone(),
        scopes: p.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        services: p.services.clone(),
    }
}

/// The authenticator of a process that does not own the tokens (recipe-types,
/// the gateway): the tokens file first, then job-queue's `Authenticate` over
/// `job_queue` with `BRIGADE_SERVICE_TOKEN`. Off when the config says so.
pub fn remote_authenticator(
    auth: &AuthConfig,
    job_queue: Channel,
    component: &'static str,
) -> Result<Authenticator, ConfigError> {
    if !auth.is_enabled() {
        return Ok(Authenticator::off(component));
    }
    let remote = RemoteStore::new(job_queue, auth.service_token().as_ref())?;
    auth.authenticator_then(component, Some(Arc::new(remote)))
}
