//! The gRPC adapter: wire messages in, domain calls, wire messages out.

use std::pin::Pin;
use std::sync::Arc;

use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_server::JobQueue as JobQueueApi;
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use tonic::{Request, Response, Status};

use brigade_common::auth::{BearerToken, Principal, Scope, TokenRecord, TokenStore, principal_to_pb};
use brigade_common::shutdown::ShutdownWaiter;

use crate::domain::JobStatus;
use crate::error::Error;
use crate::repository::{Completion, FailMode, JobTypeKey};
use crate::service::{
    DatabaseTokenStore, JobQueue, LeaseExtension, NewService, NewToken, Progress, QUEUE_PAGE, Submission,
};

mod convert;

use convert::{ServiceUpdate, filter_from_pb, job_id, leased_to_pb, list_filter_from_pb, service_id, status_from_pb};
pub use convert::{job_detail_to_pb, job_to_pb, service_to_pb, timestamp};

pub struct JobQueueGrpc {
    queue: Arc<JobQueue>,
    stopping: ShutdownWaiter,
    /// What `Authenticate` answers from: the tokens file, then the tokens table.
    store: Arc<dyn TokenStore>,
}

impl JobQueueGrpc {
    /// Watch streams end when `stopping` fires, so a graceful shutdown is not
    /// held open by long-lived streams.
    pub fn new(queue: Arc<JobQueue>, stopping: ShutdownWaiter) -> Self {
        let store = Arc::new(DatabaseTokenStore(queue.clone()));
        Self { queue, stopping, store }
    }

    /// `Authenticate` answers from `store` (the same chain the server checks calls with).
    pub fn with_token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = store;
        self
    }
}

type Stream2<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl JobQueueApi for JobQueueGrpc {
    async fn list_services(
        &self,
        request: Request<pb::ListServicesRequest>,
    ) -> Result<Response<pb::ListServicesResponse>, Status> {
        let r = request.into_inner();
        if !r.name.is_empty() && !r.version.is_empty() {
            let found = self.queue.find_service(&r.name, &r.version).await?;
            return Ok(Response::new(pb::ListServicesResponse {
                services: found.into_iter().map(service_to_pb).collect(),
                next_page_token: String::new(),
            }));
        }
        let page = self.queue.list_services(i64::from(r.page_size), &r.page_token).await?;
        Ok(Response::new(pb::ListServicesResponse {
            services: page.items.into_iter().map(service_to_pb).collect(),
            next_page_token: page.next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_service(
        &self,
        request: Request<pb::GetServiceRequest>,
    ) -> Result<Response<pb::GetServiceResponse>, Status> {
        let service = self.queue.get_service(&service_id(&request.into_inner().id)?).await?;
        Ok(Response::new(pb::GetServiceResponse {
            service: Some(service_to_pb(service)),
        }))
    }

    async fn create_service(
        &self,
        request: Request<pb::CreateServiceRequest>,
    ) -> Result<Response<pb::CreateServiceResponse>, Status> {
        let service = self
            .queue
            .create_service(NewService::try_from(request.into_inner())?)
            .await?;
        Ok(Response::new(pb::CreateServiceResponse {
            service: Some(service_to_pb(service)),
        }))
    }

    async fn update_service(
        &self,
        request: Request<pb::UpdateServiceRequest>,
    ) -> Result<Response<pb::UpdateServiceResponse>, Status> {
        let update = ServiceUpdate::try_from(request.into_inner())?;
        let service = self.queue.update_service(&update.id, update.patch).await?;
        Ok(Response::new(pb::UpdateServiceResponse {
            service: Some(service_to_pb(service)),
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let caller = caller(&request);
        let id = service_id(&request.into_inner().id)?;
        self.queue.authorize_service_work(&caller, &id).await?;
        let at = self.queue.heartbeat(&id).await?;
        Ok(Response::new(pb::HeartbeatResponse {
            checked_in_at: Some(timestamp(at)),
        }))
    }

    async fn get_service_revision(
        &self,
        request: Request<pb::GetServiceRevisionRequest>,
    ) -> Result<Response<pb::GetServiceRevisionResponse>, Status> {
        let r = request.into_inner();
        let rev = self.queue.get_revision(&service_id(&r.id)?, r.revision).await?;
        Ok(Response::new(pb::GetServiceRevisionResponse {
            revision: Some(pb::ServiceRevision {
                service_id: rev.service_id.into_string(),
                revision: rev.revision,
                job_registration_schema_json: rev.job_registration_schema,
                job_result_schema_json: rev.job_result_schema,
                created: Some(timestamp(rev.created)),
            }),
        }))
    }

    async fn get_service_stats(
        &self,
        request: Request<pb::GetServiceStatsRequest>,
    ) -> Result<Response<pb::GetServiceStatsResponse>, Status> {
        let id = service_id(&request.into_inner().service_id)?;
        let stats = self.queue.service_stats(&id).await?;
        let (service, counts) = (stats.service, stats.counts);
        Ok(Response::new(pb::GetServiceStatsResponse {
            service_id: service.id.into_string(),
            registered: counts.registered,
            working: counts.working,
            completed: counts.completed,
            error: counts.error,
            due_later: counts.due_later,
            completed_last_minute: counts.completed_last_minute,
            completed_last_hour: counts.completed_last_hour,
            last_checked_in: Some(timestamp(service.last_checked_in)),
            paused: service.paused,
            max_concurrency: service.max_concurrency,
            as_of: Some(timestamp(stats.as_of)),
        }))
    }

    async fn submit_job(
        &self,
        request: Request<pb::SubmitJobRequest>,
    ) -> Result<Response<pb::SubmitJobResponse>, Status> {
        let r = request.into_inner();
        let service = service_id(&r.service_id)?;
        let mut jobs = self.queue.submit_jobs(&service, vec![Submission::try_from(r)?]).await?;
        let (job, created) = jobs
            .pop()
            .ok_or_else(|| Status::from(Error::Internal("submit returned no job".into())))?;
        Ok(Response::new(pb::SubmitJobResponse {
            job: Some(job_to_pb(job)),
            created,
        }))
    }

    async fn submit_jobs(
        &self,
        request: Request<pb::SubmitJobsRequest>,
    ) -> Result<Response<pb::SubmitJobsResponse>, Status> {
        let r = request.into_inner();
        let service = service_id(&r.service_id)?;
        let submissions: Vec<Submission> = match (r.parameters_json.is_empty(), r.jobs.is_empty()) {
            (false, false) => {
                return Err(Error::invalid("jobs", "send parameters_json or jobs, not both").into());
            }
            (false, true) => r.parameters_json.into_iter().map(Submission::plain).collect(),
            (true, _) => r
                .jobs
                .into_iter()
                .map(Submission::try_from)
                .collect::<Result<_, Error>>()?,
        };
        let jobs = self.queue.submit_jobs(&service, submissions).await?;
        let (jobs, created): (Vec<_>, Vec<_>) = jobs.into_iter().map(|(j, c)| (job_to_pb(j), c)).unzip();
        Ok(Response::new(pb::SubmitJobsResponse { jobs, created }))
    }

    async fn list_jobs(&self, request: Request<pb::ListJobsRequest>) -> Result<Response<pb::ListJobsResponse>, Status> {
        let r = request.into_inner();
        let filter = list_filter_from_pb(&r)?;
        let page = self
            .queue
            .list_jobs(filter, i64::from(r.page_size), &r.page_token)
            .await?;
        Ok(Response::new(pb::ListJobsResponse {
            jobs: page.items.into_iter().map(job_to_pb).collect(),
            next_page_token: page.next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_job(&self, request: Request<pb::GetJobRequest>) -> Result<Response<pb::GetJobResponse>, Status> {
        let (job, attempts) = self.queue.get_job_detail(&job_id(&request.into_inner().id)?).await?;
        Ok(Response::new(pb::GetJobResponse {
            job: Some(job_detail_to_pb(job, attempts)),
        }))
    }

    async fn update_job(
        &self,
        request: Request<pb::UpdateJobRequest>,
    ) -> Result<Response<pb::UpdateJobResponse>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let status = status_from_pb(r.status)?;
        let id = job_id(&r.id)?;
        self.queue
            .authorize_job_work(&caller, std::slice::from_ref(&id))
            .await?;
        let job = self.queue.update_job(&id, status, r.results_json.as_deref()).await?;
        Ok(Response::new(pb::UpdateJobResponse {
            job: Some(job_to_pb(job)),
        }))
    }

    async fn get_queue(&self, request: Request<pb::GetQueueRequest>) -> Result<Response<pb::GetQueueResponse>, Status> {
        let jobs = self
            .queue
            .queue(&service_id(&request.into_inner().service_id)?, QUEUE_PAGE)
            .await?;
        Ok(Response::new(pb::GetQueueResponse {
            jobs: jobs.into_iter().map(job_to_pb).collect(),
        }))
    }

    async fn next_job(&self, request: Request<pb::NextJobRequest>) -> Result<Response<pb::NextJobResponse>, Status> {
        let mut jobs = self
            .queue
            .queue(&service_id(&request.into_inner().service_id)?, 1)
            .await?;
        Ok(Response::new(pb::NextJobResponse {
            job: jobs.pop().map(job_to_pb),
        }))
    }

    async fn claim_jobs(
        &self,
        request: Request<pb::ClaimJobsRequest>,
    ) -> Result<Response<pb::ClaimJobsResponse>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let service = service_id(&r.service_id)?;
        self.queue.authorize_service_work(&caller, &service).await?;
        let jobs = self
            .queue
            .claim(&service, i64::from(r.max_jobs), r.lease_seconds, &r.worker_id)
            .await?;
        if !jobs.is_empty() {
            tracing::debug!(service_id = %r.service_id, worker = %r.worker_id, count = jobs.len(), "jobs claimed");
        }
        Ok(Response::new(pb::ClaimJobsResponse {
            jobs: jobs.into_iter().map(leased_to_pb).collect(),
        }))
    }

    async fn extend_lease(
        &self,
        request: Request<pb::ExtendLeaseRequest>,
    ) -> Result<Response<pb::ExtendLeaseResponse>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = job_id(&r.job_id)?;
        self.queue
            .authorize_job_work(&caller, std::slice::from_ref(&id))
            .await?;
        let progress = Progress {
            percent: r.progress,
            message: r.progress_message,
        };
        let answer = self
            .queue
            .extend_lease(&id, &r.lease_token, r.lease_seconds, progress)
            .await?;
        Ok(Response::new(match answer {
            LeaseExtension::Extended(job) => pb::ExtendLeaseResponse {
                lease_expires_at: job.lease_expires_at.map(timestamp),
                ..Default::default()
            },
            LeaseExtension::Cancelled { reason } => pb::ExtendLeaseResponse {
                lease_expires_at: None,
                cancelled: true,
                cancel_reason: reason,
            },
        }))
    }

    async fn complete_job(
        &self,
        request: Request<pb::CompleteJobRequest>,
    ) -> Result<Response<pb::CompleteJobResponse>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = job_id(&r.job_id)?;
        self.queue
            .authorize_job_work(&caller, std::slice::from_ref(&id))
            .await?;
        let job = self.queue.complete(&id, &r.lease_token, &r.results_json).await?;
        Ok(Response::new(pb::CompleteJobResponse {
            job: Some(job_to_pb(job)),
        }))
    }

    async fn complete_jobs(
        &self,
        request: Request<pb::CompleteJobsRequest>,
    ) -> Result<Response<pb::CompleteJobsResponse>, Status> {
        let caller = caller(&request);
        let completions = request.into_inner().completions;
        let job_ids: Vec<String> = completions.iter().map(|c| c.job_id.clone()).collect();
        let items = completions
            .into_iter()
            .map(Completion::try_from)
            .collect::<Result<Vec<_>, Error>>()?;
        let ids: Vec<_> = items.iter().map(|c| c.id.clone()).collect();
        self.queue.authorize_job_work(&caller, &ids).await?;
        let outcomes = self.queue.complete_many(items).await?;
        Ok(Response::new(pb::CompleteJobsResponse {
            outcomes: job_ids
                .into_iter()
                .zip(outcomes)
                .map(|(job_id, outcome)| match outcome {
                    Ok(job) => pb::CompleteJobOutcome {
                        job_id,
                        job: Some(job_to_pb(job)),
                        code: 0,
                        message: String::new(),
                    },
                    Err(e) => {
                        let status = Status::from(e);
                        pb::CompleteJobOutcome {
                            job_id,
                            job: None,
                            code: status.code() as i32,
                            message: status.message().to_owned(),
                        }
                    }
                })
                .collect(),
        }))
    }

    async fn fail_job(&self, request: Request<pb::FailJobRequest>) -> Result<Response<pb::FailJobResponse>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = job_id(&r.job_id)?;
        self.queue
            .authorize_job_work(&caller, std::slice::from_ref(&id))
            .await?;
        let mode = match (r.release, r.retry) {
            (true, _) => FailMode::Release,
            (false, true) => FailMode::Retry,
            (false, false) => FailMode::Final,
        };
        let job = self.queue.fail(&id, &r.lease_token, &r.error_message, mode).await?;
        Ok(Response::new(pb::FailJobResponse {
            job: Some(job_to_pb(job)),
        }))
    }

    async fn cancel_job(
        &self,
        request: Request<pb::CancelJobRequest>,
    ) -> Result<Response<pb::CancelJobResponse>, Status> {
        let r = request.into_inner();
        let job = self.queue.cancel(&job_id(&r.job_id)?, &r.reason).await?;
        Ok(Response::new(pb::CancelJobResponse {
            job: Some(job_to_pb(job)),
        }))
    }

    type WatchQueueStream = Stream2<pb::WatchQueueResponse>;

    async fn watch_queue(
        &self,
        request: Request<pb::WatchQueueRequest>,
    ) -> Result<Response<Self::WatchQueueStream>, Status> {
        let caller = caller(&request);
        let service = self
            .queue
            .get_service(&service_id(&request.into_inner().service_id)?)
            .await?;
        // A worker's token reads only through its work scope: its own queues.
        if !caller.scopes.contains(&Scope::Read) && !caller.scopes.contains(&Scope::Submit) {
            self.queue.authorize_service_work(&caller, &service.id).await?;
        }
        // Subscribe before reading the backlog so nothing submitted in between is missed.
        let mut events = self.queue.events().subscribe();
        let backlog = self.queue.queue(&service.id, self.queue.limits().max_page_size).await?;
        let queue = self.queue.clone();
        let stream = async_stream(self.stopping.clone(), move |tx| async move {
            // What is waiting goes out first; after that each new REGISTERED job,
            // or, when this watcher fell behind, the queue re-read rather than lose jobs.
            let mut pending = backlog;
            loop {
                for job in pending.drain(..) {
                    let response = pb::WatchQueueResponse {
                        job: Some(job_to_pb(job)),
                        ..Default::default()
                    };
                    if tx.send(Ok(response)).await.is_err() {
                        return;
                    }
                }
                match events.recv().await {
                    Ok(job) if job.service_id == service.id && job.status == JobStatus::Registered => {
                        pending.push(job);
                    }
                    // A job cancelled while a worker held it: tell the workers.
                    Ok(job) if job.service_id == service.id && job.cancelled && job.applied_token.is_some() => {
                        let notice = pb::WatchQueueResponse {
                            job: None,
                            cancelled_job_id: Some(job.id.to_string()),
                            cancel_reason: job.cancel_reason.unwrap_or_default(),
                        };
                        if tx.send(Ok(notice)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => match queue.queue(&service.id, queue.limits().max_page_size).await {
                        Ok(jobs) => pending = jobs,
                        Err(_) => return,
                    },
                    Err(RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(stream))
    }

    type WatchJobStream = Stream2<pb::WatchJobResponse>;

    async fn watch_job(&self, request: Request<pb::WatchJobRequest>) -> Result<Response<Self::WatchJobStream>, Status> {
        let id = job_id(&request.into_inner().job_id)?;
        let mut events = self.queue.events().subscribe();
        let job = self.queue.get_job(&id).await?;
        let queue = self.queue.clone();
        let stream = async_stream(self.stopping.clone(), move |tx| async move {
            let id = job.id.clone();
            let mut last = job.clone();
            let terminal = job.status.is_terminal();
            let history = queue.repository().attempts(&id).await.unwrap_or_default();
            if tx
                .send(Ok(pb::WatchJobResponse {
                    job: Some(job_detail_to_pb(job, history)),
                }))
                .await
                .is_err()
                || terminal
            {
                return;
            }
            loop {
                let next = match events.recv().await {
                    Ok(job) if job.id == id => job,
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => match queue.get_job(&id).await {
                        Ok(job) if job != last => job,
                        Ok(_) => continue,
                        Err(_) => return,
                    },
                    Err(RecvError::Closed) => return,
                };
                last = next.clone();
                let terminal = next.status.is_terminal();
                let history = queue.repository().attempts(&id).await.unwrap_or_default();
                if tx
                    .send(Ok(pb::WatchJobResponse {
                        job: Some(job_detail_to_pb(next, history)),
                    }))
                    .await
                    .is_err()
                    || terminal
                {
                    return;
                }
            }
        });
        Ok(Response::new(stream))
    }

    async fn validate_json(
        &self,
        request: Request<pb::ValidateJsonRequest>,
    ) -> Result<Response<pb::ValidateJsonResponse>, Status> {
        let r = request.into_inner();
        let errors = self.queue.validate_json(&r.schema_json, &r.instance_json)?;
        Ok(Response::new(pb::ValidateJsonResponse { errors }))
    }

    async fn resolve_job_types(
        &self,
        request: Request<pb::ResolveJobTypesRequest>,
    ) -> Result<Response<pb::ResolveJobTypesResponse>, Status> {
        let keys = request.into_inner().keys;
        if keys.len() > 1000 {
            return Err(Error::invalid("keys", "at most 1000 job types per call").into());
        }
        let wanted: Vec<JobTypeKey> = keys.iter().cloned().map(JobTypeKey::from).collect();
        let resolved = self.queue.resolve_job_types(&wanted).await?;
        let job_types = keys
            .into_iter()
            .zip(resolved)
            .map(|(key, found)| match found {
                // recipe-types derives the interface from the schemas.
                Some(r) => pb::JobTypeInterface {
                    key: Some(key),
                    found: true,
                    service_id: r.service_id.into_string(),
                    description: r.description,
                    latest_revision: r.latest_revision,
                    job_registration_schema_json: r.job_registration_schema,
                    job_result_schema_json: r.job_result_schema,
                },
                None => pb::JobTypeInterface {
                    key: Some(key),
                    ..Default::default()
                },
            })
            .collect();
        Ok(Response::new(pb::ResolveJobTypesResponse { job_types }))
    }

    async fn retry_job(&self, request: Request<pb::RetryJobRequest>) -> Result<Response<pb::RetryJobResponse>, Status> {
        let job = self.queue.retry(&job_id(&request.into_inner().job_id)?).await?;
        Ok(Response::new(pb::RetryJobResponse {
            job: Some(job_to_pb(job)),
        }))
    }

    async fn delete_job(
        &self,
        request: Request<pb::DeleteJobRequest>,
    ) -> Result<Response<pb::DeleteJobResponse>, Status> {
        self.queue.delete(&job_id(&request.into_inner().job_id)?).await?;
        Ok(Response::new(pb::DeleteJobResponse {}))
    }

    async fn cancel_jobs(
        &self,
        request: Request<pb::CancelJobsRequest>,
    ) -> Result<Response<pb::CancelJobsResponse>, Status> {
        let r = request.into_inner();
        let count = self.queue.cancel_many(filter_from_pb(r.filter)?, &r.reason).await?;
        Ok(Response::new(pb::CancelJobsResponse { count: count as i64 }))
    }

    async fn retry_jobs(
        &self,
        request: Request<pb::RetryJobsRequest>,
    ) -> Result<Response<pb::RetryJobsResponse>, Status> {
        let count = self
            .queue
            .retry_many(filter_from_pb(request.into_inner().filter)?)
            .await?;
        Ok(Response::new(pb::RetryJobsResponse { count: count as i64 }))
    }

    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        let r = request.into_inner();
        let (secret, record) = self
            .queue
            .create_token(NewToken {
                name: r.name,
                scopes: r.scopes,
                services: r.services,
            })
            .await?;
        Ok(Response::new(pb::CreateTokenResponse {
            token: Some(token_to_pb(&record)),
            secret: secret.expose().to_owned(),
        }))
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        let tokens = self.queue.list_tokens(request.into_inner().include_revoked).await?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: tokens.iter().map(token_to_pb).collect(),
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::RevokeTokenResponse>, Status> {
        let record = self.queue.revoke_token(&request.into_inner().id).await?;
        Ok(Response::new(pb::RevokeTokenResponse {
            token: Some(token_to_pb(&record)),
        }))
    }

    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Result<Response<pb::AuthenticateResponse>, Status> {
        let token = BearerToken::new(request.into_inner().token);
        let principal = self
            .store
            .authenticate(&token)
            .await
            .map_err(|_| Status::from(Error::DatabaseUnavailable))?
            .ok_or_else(|| Status::not_found("the token is not valid"))?;
        Ok(Response::new(pb::AuthenticateResponse {
            principal: Some(principal_to_pb(&principal)),
        }))
    }
}

/// Who is calling: the [`AuthLayer`](brigade_common::auth::AuthLayer) of
/// [`GrpcServer`](brigade_common::grpc::GrpcServer) always sets it; without the
/// layer nothing is authenticated, so the caller is the anonymous admin.
fn caller<T>(request: &Request<T>) -> Principal {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(Principal::anonymous)
}

/// A stored token for the wire: never its hash.
fn token_to_pb(record: &TokenRecord) -> pb::Token {
    let micros = |t: chrono::DateTime<chrono::Utc>| timestamp(t.timestamp_micros());
    pb::Token {
        id: record.id.clone(),
        name: record.name.clone(),
        scopes: record.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        services: record.services.clone(),
        created: Some(micros(record.created_at)),
        last_used: record.last_used_at.map(micros),
        revoked: record.revoked_at.map(micros),
    }
}

/// Runs `body` with a channel sender and exposes the receiver as a stream; the
/// task ends when the client goes away (the send fails) or the server stops.
fn async_stream<T, F, Fut>(stopping: ShutdownWaiter, body: F) -> Stream2<T>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<Result<T, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let work = body(tx);
    tokio::spawn(async move {
        tokio::select! {
            () = work => {},
            () = stopping.wait() => {},
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
