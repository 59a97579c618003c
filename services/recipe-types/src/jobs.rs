//! Jobs live in job-queue: the engine submits a recipe node's job under an
//! idempotency key (a retried submit returns the job already made) and
//! cancels the jobs of a cancelled recipe.

use std::time::Duration;

use async_trait::async_trait;
use brigade_common::auth::{ClientCredentials, CredentialedChannel, TracedCredentials};
use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use tonic::transport::Endpoint;

use crate::error::{Error, Result};

/// One node's job, as the engine asks job-queue for it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSubmission {
    pub service_id: String,
    pub parameters_json: String,
    /// `recipe:{recipe id}:{node}:{generation}`.
    pub idempotency_key: String,
    pub recipe_id: String,
    pub recipe_node: String,
}

#[async_trait]
pub trait Jobs: Send + Sync + 'static {
    /// The job's id: the new job's, or the one a previous submit with the
    /// same key created.
    async fn submit(&self, job: &JobSubmission) -> Result<String>;
    /// Cancels a REGISTERED or WORKING job; a job already finished is not an error.
    async fn cancel(&self, job_id: &str, reason: &str) -> Result<()>;
}

/// [`Jobs`] over job-queue's gRPC API.
pub struct GrpcJobs {
    client: JobQueueClient<CredentialedChannel>,
}

impl GrpcJobs {
    /// Connects lazily: job-queue may start after us.
    pub fn new(url: &str) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        Ok(Self::with_channel(channel, ClientCredentials::default()))
    }

    /// On a channel of the caller's (TLS), sending `credentials` on every call.
    pub fn with_channel(channel: tonic::transport::Channel, credentials: ClientCredentials) -> Self {
        Self {
            client: JobQueueClient::with_interceptor(channel, TracedCredentials(credentials)),
        }
    }
}

fn unavailable(status: &tonic::Status) -> Error {
    tracing::warn!(code = ?status.code(), message = %status.message(), "job-queue call failed");
    Error::PeerUnavailable("the job-queue service cannot take recipe jobs right now; try again shortly".to_owned())
}

#[async_trait]
impl Jobs for GrpcJobs {
    async fn submit(&self, job: &JobSubmission) -> Result<String> {
        let request = jq::SubmitJobRequest {
            service_id: job.service_id.clone(),
            parameters_json: job.parameters_json.clone(),
            idempotency_key: Some(job.idempotency_key.clone()),
            recipe_id: Some(job.recipe_id.clone()),
            recipe_node: Some(job.recipe_node.clone()),
            ..Default::default()
        };
        let response = self
            .client
            .clone()
            .submit_job(request)
            .await
            .map_err(|s| unavailable(&s))?
            .into_inner();
        response
            .job
            .map(|j| j.id)
            .ok_or_else(|| Error::Internal("job-queue answered a submit without the job".to_owned()))
    }

    async fn cancel(&self, job_id: &str, reason: &str) -> Result<()> {
        let request = jq::CancelJobRequest {
            job_id: job_id.to_owned(),
            reason: reason.to_owned(),
        };
        match self.client.clone().cancel_job(request).await {
            Ok(_) => Ok(()),
            // Already finished, or gone: nothing left to stop.
            Err(s) if matches!(s.code(), tonic::Code::FailedPrecondition | tonic::Code::NotFound) => Ok(()),
            Err(s) => Err(unavailable(&s)),
        }
    }
}
