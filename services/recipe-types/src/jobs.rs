//! Jobs live in job-queue: the engine submits a recipe node's job under an
//! idempotency key (a retried submit returns the job already made) and
//! cancels the jobs of a cancelled recipe.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use brigade_common::auth::{ClientCredentials, CredentialedChannel, TracedCredentials};
use brigade_proto::jobqueue::v1 as jq;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use futures::StreamExt as _;
use tonic::transport::Endpoint;

use crate::error::{Error, Result};

/// Jobs per `SubmitJobs` call (job-queue takes up to 1,000).
const SUBMIT_BATCH: usize = 200;
/// Batch calls in flight at once.
const SUBMIT_CONCURRENCY: usize = 4;

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
    /// Each job's id or why not, in order. One call per service where the
    /// peer can take a batch; by default one submit after another.
    async fn submit_many(&self, jobs: &[JobSubmission]) -> Vec<Result<String>> {
        let mut ids = Vec::with_capacity(jobs.len());
        for job in jobs {
            ids.push(self.submit(job).await);
        }
        ids
    }
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
    cannot_take_jobs()
}

fn cannot_take_jobs() -> Error {
    Error::PeerUnavailable("the job-queue service cannot take recipe jobs right now; try again shortly".to_owned())
}

impl GrpcJobs {
    /// One `SubmitJobs` of jobs of one service; their ids in order.
    async fn submit_batch(&self, jobs: &[&JobSubmission]) -> Result<Vec<String>, tonic::Status> {
        let Some(first) = jobs.first() else {
            return Ok(Vec::new());
        };
        let request = jq::SubmitJobsRequest {
            service_id: first.service_id.clone(),
            jobs: jobs
                .iter()
                .map(|job| jq::JobSubmission {
                    parameters_json: job.parameters_json.clone(),
                    idempotency_key: Some(job.idempotency_key.clone()),
                    recipe_id: Some(job.recipe_id.clone()),
                    recipe_node: Some(job.recipe_node.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let response = self.client.clone().submit_jobs(request).await?.into_inner();
        if response.jobs.len() != jobs.len() {
            return Err(tonic::Status::internal(
                "job-queue answered a batch with a different number of jobs",
            ));
        }
        Ok(response.jobs.into_iter().map(|j| j.id).collect())
    }
}

/// The peer or the path to it failed, not the request.
fn peer_down(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown
    )
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

    /// One `SubmitJobs` per service (job-queue keeps each batch to one
    /// transaction), the services side by side. A batch job-queue refuses
    /// (one job's parameters no longer fit its schema, say) is sent again one
    /// job at a time, so one bad job holds up only itself.
    async fn submit_many(&self, jobs: &[JobSubmission]) -> Vec<Result<String>> {
        let mut by_service: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, job) in jobs.iter().enumerate() {
            by_service.entry(job.service_id.as_str()).or_default().push(i);
        }
        let batches: Vec<Vec<usize>> = by_service
            .into_values()
            .flat_map(|indexes| indexes.chunks(SUBMIT_BATCH).map(<[usize]>::to_vec).collect::<Vec<_>>())
            .collect();
        let answered: Vec<(Vec<usize>, Vec<Result<String>>)> = futures::stream::iter(batches)
            .map(|indexes| async move {
                let chunk: Vec<&JobSubmission> = indexes.iter().map(|&i| &jobs[i]).collect();
                let outcomes = match self.submit_batch(&chunk).await {
                    Ok(ids) => ids.into_iter().map(Ok).collect(),
                    Err(status) if peer_down(&status) => {
                        let _logged = unavailable(&status);
                        chunk.iter().map(|_| Err(cannot_take_jobs())).collect()
                    }
                    Err(_) => {
                        let mut one_by_one = Vec::with_capacity(chunk.len());
                        for job in &chunk {
                            one_by_one.push(self.submit(job).await);
                        }
                        one_by_one
                    }
                };
                (indexes, outcomes)
            })
            .buffer_unordered(SUBMIT_CONCURRENCY)
            .collect()
            .await;
        let mut ids: Vec<Result<String>> = (0..jobs.len())
            .map(|_| Err(Error::Internal("no answer for a batched job".to_owned())))
            .collect();
        for (indexes, outcomes) in answered {
            for (i, outcome) in indexes.into_iter().zip(outcomes) {
                ids[i] = outcome;
            }
        }
        ids
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
