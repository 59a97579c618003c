//! The connection to the job-queue and one method per operation.

use std::future::Future;
use std::time::{Duration, SystemTime};

use brigade_proto::jobqueue::v1 as pb;
use brigade_proto::jobqueue::v1::job_queue_client::JobQueueClient;
use serde_json::Value;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::types::{
    Job, JobFilter, LeasedJob, Service, ServiceDefinition, ServiceUpdate, SubmitOptions, lease_seconds, time,
};
use crate::worker::{HandlerError, WorkerBuilder};

/// Page size of the list calls, which fetch every page.
const PAGE_SIZE: i32 = 1000;

/// How [`Client::connect_with`] dials the job-queue.
///
/// The first connection is retried with exponential backoff (with jitter),
/// at most [`max_attempts`](Self::max_attempts) times. Once connected, the
/// channel re-establishes dropped connections by itself.
#[derive(Clone)]
pub struct ConnectOptions {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    connect_timeout: Duration,
    request_timeout: Option<Duration>,
    token: Option<String>,
    tls: Option<ClientTlsConfig>,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Default for ConnectOptions {
    /// 10 attempts, backoff from 100 ms doubling up to 5 s, 5 s to connect,
    /// 30 s per unary request.
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Some(Duration::from_secs(30)),
            token: None,
            tls: None,
        }
    }
}

impl ConnectOptions {
    /// How many times to try the first connection (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait after the first failed attempt; it doubles after each one.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest wait between two attempts.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// How long one connection attempt may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a unary call may wait for its answer (`None`: no limit).
    /// Watch streams are not cut by it.
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The API token sent as `authorization: Bearer <token>` on every call
    /// (`brigade token create --scope work --service NAME` makes one).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Verifies the server's certificate against this PEM CA bundle (for
    /// `https://` URLs).
    pub fn ca_certificate(mut self, pem: impl AsRef<[u8]>) -> Self {
        let tls = self.tls.take().unwrap_or_default();
        self.tls = Some(tls.ca_certificate(Certificate::from_pem(pem)));
        self
    }

    /// Presents this PEM certificate and key to servers that ask for one
    /// (mTLS); its subject CN can be the principal instead of a token.
    pub fn client_certificate(mut self, cert_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Self {
        let tls = self.tls.take().unwrap_or_default();
        self.tls = Some(tls.identity(Identity::from_pem(cert_pem, key_pem)));
        self
    }
}

/// Sends the token, when there is one, on every call.
#[derive(Clone, Default)]
pub struct Credentials(Option<AsciiMetadataValue>);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Credentials(<redacted>)"
        } else {
            "Credentials(none)"
        })
    }
}

impl Credentials {
    /// `Bearer <token>`, marked sensitive; [`Error::InvalidArgument`] for a token that is not printable ASCII.
    pub fn bearer(token: Option<&str>) -> Result<Self> {
        let Some(token) = token else {
            return Ok(Self(None));
        };
        let mut value: AsciiMetadataValue =
            format!("Bearer {}", token.trim())
                .parse()
                .map_err(|_| Error::InvalidArgument {
                    message: "the token must be printable ASCII".into(),
                    violations: Vec::new(),
                })?;
        value.set_sensitive(true);
        Ok(Self(Some(value)))
    }
}

impl tonic::service::Interceptor for Credentials {
    fn call(&mut self, mut request: tonic::Request<()>) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A channel whose calls carry [`Credentials`].
pub type AuthorizedChannel = InterceptedService<Channel, Credentials>;

/// The endpoint for `url` with `options`' timeouts and TLS.
pub(crate) fn endpoint(url: &str, options: &ConnectOptions) -> Result<Endpoint> {
    let fail = |source| Error::Connect {
        url: url.to_owned(),
        attempts: 0,
        source,
    };
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(fail)?
        .connect_timeout(options.connect_timeout)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if let Some(timeout) = options.request_timeout {
        endpoint = endpoint.timeout(timeout);
    }
    if let Some(tls) = &options.tls {
        endpoint = endpoint.tls_config(tls.clone()).map_err(fail)?;
    }
    Ok(endpoint)
}

impl ConnectOptions {
    pub(crate) fn credentials(&self) -> Result<Credentials> {
        Credentials::bearer(self.token.as_deref())
    }
}

/// A connection to Brigade's job-queue. Cheap to clone; clones share the connection.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) inner: JobQueueClient<AuthorizedChannel>,
}

impl Client {
    /// Connects to the job-queue's gRPC endpoint (e.g. `http://127.0.0.1:50051`)
    /// with the default [`ConnectOptions`]: retried with backoff for a while,
    /// then [`Error::Connect`].
    pub async fn connect(url: impl Into<String>) -> Result<Self> {
        Self::connect_with(url, ConnectOptions::default()).await
    }

    /// Connects with explicit options.
    pub async fn connect_with(url: impl Into<String>, options: ConnectOptions) -> Result<Self> {
        let url = url.into();
        let endpoint = endpoint(&url, &options)?;
        let credentials = options.credentials()?;
        let mut backoff = Backoff::new(options.initial_backoff, options.max_backoff);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match endpoint.connect().await {
                Ok(channel) => {
                    tracing::debug!(%url, attempt, "connected to the job-queue");
                    return Ok(Self::with_credentials(channel, credentials));
                }
                Err(source) if attempt >= options.max_attempts => {
                    return Err(Error::Connect {
                        url,
                        attempts: attempt,
                        source,
                    });
                }
                Err(error) => {
                    let wait = backoff.next_delay();
                    tracing::info!(%url, attempt, %error, ?wait, "job-queue not reachable yet, retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Wraps a channel you built yourself (TLS, interceptors, ...).
    pub fn from_channel(channel: Channel) -> Self {
        Self::with_credentials(channel, Credentials::default())
    }

    /// Wraps a channel you built yourself, sending `credentials` on every call.
    pub fn with_credentials(channel: Channel, credentials: Credentials) -> Self {
        Self {
            inner: JobQueueClient::with_interceptor(channel, credentials),
        }
    }

    /// The generated gRPC client, for the operations this crate does not wrap.
    pub fn raw(&self) -> JobQueueClient<AuthorizedChannel> {
        self.inner.clone()
    }

    /// Creates the service, or returns the existing one with the same name and
    /// version (so every worker process can call this at start-up).
    ///
    /// An existing service is returned as it is: if its schemas differ from
    /// `definition`, a warning is logged and nothing is changed.
    pub async fn register_service(&self, definition: &ServiceDefinition) -> Result<Service> {
        let created = self.inner.clone().create_service(definition.to_request()).await;
        match created {
            Ok(response) => Service::from_opt(response.into_inner().service),
            Err(status) if status.code() == tonic::Code::AlreadyExists => {
                let existing = self.find_service(&definition.name, &definition.version).await?;
                let Some(service) = existing else {
                    // Renamed or removed in between: report what the server said.
                    return Err(Error::from_status(status));
                };
                if service.registration_schema != definition.registration_schema
                    || service.result_schema != definition.result_schema
                {
                    tracing::warn!(
                        service_id = %service.id,
                        name = %service.name,
                        version = %service.version,
                        "the registered service has other schemas than this definition; using it unchanged"
                    );
                }
                Ok(service)
            }
            Err(status) => Err(Error::from_status(status)),
        }
    }

    /// Creates the service; [`Error::AlreadyExists`] if one with the same name
    /// and version exists (see [`register_service`](Self::register_service)).
    pub async fn create_service(&self, definition: &ServiceDefinition) -> Result<Service> {
        let response = self
            .inner
            .clone()
            .create_service(definition.to_request())
            .await
            .map_err(Error::from_status)?;
        Service::from_opt(response.into_inner().service)
    }

    /// Changes the fields `update` sets and returns the service as it is now.
    pub async fn update_service(&self, id: &str, update: &ServiceUpdate) -> Result<Service> {
        let response = self
            .inner
            .clone()
            .update_service(update.to_request(id))
            .await
            .map_err(Error::from_status)?;
        Service::from_opt(response.into_inner().service)
    }

    /// Pauses the service: no claims until [`resume`](Self::resume); submits are still accepted.
    pub async fn pause(&self, id: &str) -> Result<Service> {
        self.update_service(id, &ServiceUpdate::new().paused(true)).await
    }

    /// Resumes a paused service: its jobs can be claimed again.
    pub async fn resume(&self, id: &str) -> Result<Service> {
        self.update_service(id, &ServiceUpdate::new().paused(false)).await
    }

    /// Every service, oldest first (all pages).
    pub async fn list_services(&self) -> Result<Vec<Service>> {
        let mut services = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .inner
                .clone()
                .list_services(pb::ListServicesRequest {
                    page_size: PAGE_SIZE,
                    page_token,
                    ..Default::default()
                })
                .await
                .map_err(Error::from_status)?
                .into_inner();
            for service in page.services {
                services.push(Service::from_pb(service)?);
            }
            if page.next_page_token.is_empty() {
                return Ok(services);
            }
            page_token = page.next_page_token;
        }
    }

    /// Checks the service in (TopChef's notion of a service being alive) and
    /// returns the time the server recorded.
    pub async fn heartbeat(&self, service_id: &str) -> Result<SystemTime> {
        let response = self
            .inner
            .clone()
            .heartbeat(pb::HeartbeatRequest {
                id: service_id.to_owned(),
            })
            .await
            .map_err(Error::from_status)?;
        let at = response.into_inner().checked_in_at;
        at.and_then(|t| time(t.seconds, t.nanos))
            .ok_or_else(|| Error::Malformed("the heartbeat has no check-in time".to_owned()))
    }

    /// The service with this UUID; [`Error::NotFound`] if there is none.
    pub async fn get_service(&self, id: &str) -> Result<Service> {
        let response = self
            .inner
            .clone()
            .get_service(pb::GetServiceRequest { id: id.to_owned() })
            .await
            .map_err(Error::from_status)?;
        Service::from_opt(response.into_inner().service)
    }

    /// The service with this exact name and version, if any.
    pub async fn find_service(&self, name: &str, version: &str) -> Result<Option<Service>> {
        let found = self
            .inner
            .clone()
            .list_services(pb::ListServicesRequest {
                name: name.to_owned(),
                version: version.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(Error::from_status)?
            .into_inner()
            .services
            .into_iter()
            .find(|s| s.name == name && s.version == version);
        found.map(Service::from_pb).transpose()
    }

    /// Submits one job. `parameters` must be a JSON object satisfying the
    /// service's registration schema, else [`Error::InvalidArgument`].
    pub async fn submit(&self, service_id: &str, parameters: &Value) -> Result<Job> {
        let response = self
            .inner
            .clone()
            .submit_job(pb::SubmitJobRequest {
                service_id: service_id.to_owned(),
                parameters_json: parameters.to_string(),
                ..Default::default()
            })
            .await
            .map_err(Error::from_status)?;
        Job::from_opt(response.into_inner().job)
    }

    /// Submits one job with its controls (priority, run-at, idempotency key).
    /// Returns the job and whether this call created it: `false` when the key
    /// returned the job an earlier submit made, so a submit retried after a lost
    /// reply never runs twice.
    pub async fn submit_with(
        &self,
        service_id: &str,
        parameters: &Value,
        options: &SubmitOptions,
    ) -> Result<(Job, bool)> {
        let response = self
            .inner
            .clone()
            .submit_job(pb::SubmitJobRequest {
                service_id: service_id.to_owned(),
                parameters_json: parameters.to_string(),
                priority: options.priority,
                run_at: options.run_at_pb(),
                idempotency_key: options.idempotency_key.clone(),
                ..Default::default()
            })
            .await
            .map_err(Error::from_status)?
            .into_inner();
        Ok((Job::from_opt(response.job)?, response.created))
    }

    /// Submits several jobs of one service, all or none: if any parameters
    /// violate the registration schema, nothing is queued
    /// ([`Error::InvalidArgument`]).
    pub async fn submit_many(&self, service_id: &str, parameters: &[Value]) -> Result<Vec<Job>> {
        let response = self
            .inner
            .clone()
            .submit_jobs(pb::SubmitJobsRequest {
                service_id: service_id.to_owned(),
                parameters_json: parameters.iter().map(Value::to_string).collect(),
                ..Default::default()
            })
            .await
            .map_err(Error::from_status)?;
        response.into_inner().jobs.into_iter().map(Job::from_pb).collect()
    }

    /// Submits several jobs of one service with their controls, all or none,
    /// in order. Returns each job and whether this call created it (`false`
    /// when its idempotency key returned the job an earlier submit made).
    pub async fn submit_many_with(
        &self,
        service_id: &str,
        jobs: &[(Value, SubmitOptions)],
    ) -> Result<Vec<(Job, bool)>> {
        let response = self
            .inner
            .clone()
            .submit_jobs(pb::SubmitJobsRequest {
                service_id: service_id.to_owned(),
                jobs: jobs
                    .iter()
                    .map(|(parameters, options)| pb::JobSubmission {
                        parameters_json: parameters.to_string(),
                        priority: options.priority,
                        run_at: options.run_at_pb(),
                        idempotency_key: options.idempotency_key.clone(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .await
            .map_err(Error::from_status)?
            .into_inner();
        let mut created = response.created.into_iter();
        response
            .jobs
            .into_iter()
            .map(|job| Ok((Job::from_pb(job)?, created.next().unwrap_or(true))))
            .collect()
    }

    /// Every job of one service (`Some(id)`) or of all services (`None`),
    /// oldest first (all pages).
    pub async fn list_jobs(&self, service_id: Option<&str>) -> Result<Vec<Job>> {
        let mut jobs = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .inner
                .clone()
                .list_jobs(pb::ListJobsRequest {
                    service_id: service_id.unwrap_or_default().to_owned(),
                    page_size: PAGE_SIZE,
                    page_token,
                    ..Default::default()
                })
                .await
                .map_err(Error::from_status)?
                .into_inner();
            for job in page.jobs {
                jobs.push(Job::from_pb(job)?);
            }
            if page.next_page_token.is_empty() {
                return Ok(jobs);
            }
            page_token = page.next_page_token;
        }
    }

    /// The job with this UUID; [`Error::NotFound`] if there is none.
    pub async fn get_job(&self, id: &str) -> Result<Job> {
        let response = self
            .inner
            .clone()
            .get_job(pb::GetJobRequest { id: id.to_owned() })
            .await
            .map_err(Error::from_status)?;
        Job::from_opt(response.into_inner().job)
    }

    /// Cancels a REGISTERED or WORKING job (it ends in ERROR, `cancelled`).
    /// A worker holding it loses its lease.
    pub async fn cancel_job(&self, id: &str) -> Result<Job> {
        self.cancel_job_because(id, "").await
    }

    /// [`cancel_job`](Self::cancel_job) with a reason the worker hears.
    pub async fn cancel_job_because(&self, id: &str, reason: &str) -> Result<Job> {
        let response = self
            .inner
            .clone()
            .cancel_job(pb::CancelJobRequest {
                job_id: id.to_owned(),
                reason: reason.to_owned(),
            })
            .await
            .map_err(Error::from_status)?;
        Job::from_opt(response.into_inner().job)
    }

    /// Puts a failed or cancelled job back to REGISTERED, claimable again.
    pub async fn retry_job(&self, id: &str) -> Result<Job> {
        let response = self
            .inner
            .clone()
            .retry_job(pb::RetryJobRequest { job_id: id.to_owned() })
            .await
            .map_err(Error::from_status)?;
        Job::from_opt(response.into_inner().job)
    }

    /// Deletes a finished job (COMPLETED, ERROR or cancelled).
    pub async fn delete_job(&self, id: &str) -> Result<()> {
        self.inner
            .clone()
            .delete_job(pb::DeleteJobRequest { job_id: id.to_owned() })
            .await
            .map_err(Error::from_status)?;
        Ok(())
    }

    /// Cancels every job `filter` matches, with a reason workers hear; returns how many.
    pub async fn cancel_jobs(&self, filter: &JobFilter, reason: &str) -> Result<u64> {
        let response = self
            .inner
            .clone()
            .cancel_jobs(pb::CancelJobsRequest {
                filter: Some(filter.to_pb()),
                reason: reason.to_owned(),
            })
            .await
            .map_err(Error::from_status)?;
        Ok(u64::try_from(response.into_inner().count).unwrap_or(0))
    }

    /// Retries every finished job `filter` matches; returns how many.
    pub async fn retry_jobs(&self, filter: &JobFilter) -> Result<u64> {
        let response = self
            .inner
            .clone()
            .retry_jobs(pb::RetryJobsRequest {
                filter: Some(filter.to_pb()),
            })
            .await
            .map_err(Error::from_status)?;
        Ok(u64::try_from(response.into_inner().count).unwrap_or(0))
    }

    /// Leases up to `max_jobs` REGISTERED jobs of the service, oldest first.
    /// `lease` `None` uses the service's lease length. `worker_id` is free text
    /// the server logs.
    pub async fn claim(
        &self,
        service_id: &str,
        max_jobs: u32,
        lease: Option<Duration>,
        worker_id: &str,
    ) -> Result<Vec<LeasedJob>> {
        let response = self
            .inner
            .clone()
            .claim_jobs(pb::ClaimJobsRequest {
                service_id: service_id.to_owned(),
                max_jobs: i32::try_from(max_jobs).unwrap_or(i32::MAX),
                lease_seconds: lease.map_or(0, lease_seconds),
                worker_id: worker_id.to_owned(),
            })
            .await
            .map_err(Error::from_status)?;
        response.into_inner().jobs.into_iter().map(LeasedJob::from_pb).collect()
    }

    /// Extends a lease to `lease` from now (`None`: the service's lease length)
    /// and returns the new expiry. [`Error::LeaseLost`] if the token is stale.
    pub async fn extend_lease(&self, job_id: &str, lease_token: &str, lease: Option<Duration>) -> Result<SystemTime> {
        let response = self
            .inner
            .clone()
            .extend_lease(pb::ExtendLeaseRequest {
                job_id: job_id.to_owned(),
                lease_token: lease_token.to_owned(),
                lease_seconds: lease.map_or(0, lease_seconds),
                ..Default::default()
            })
            .await
            .map_err(|s| Error::from_lease_status(s, job_id))?;
        lease_answer(job_id, response.into_inner())
    }

    /// [`extend_lease`](Self::extend_lease) with a progress report: `progress`
    /// 0–100 and an optional short message, shown on the job.
    pub async fn report_progress(
        &self,
        job_id: &str,
        lease_token: &str,
        progress: i32,
        message: Option<&str>,
    ) -> Result<SystemTime> {
        let response = self
            .inner
            .clone()
            .extend_lease(pb::ExtendLeaseRequest {
                job_id: job_id.to_owned(),
                lease_token: lease_token.to_owned(),
                progress: Some(progress),
                progress_message: message.map(str::to_owned),
                ..Default::default()
            })
            .await
            .map_err(|s| Error::from_lease_status(s, job_id))?;
        lease_answer(job_id, response.into_inner())
    }

    /// Completes a leased job with `results`, which must satisfy the service's
    /// result schema: otherwise [`Error::ResultRejected`] and the job stays
    /// WORKING. [`Error::LeaseLost`] if the token is stale.
    pub async fn complete(&self, job_id: &str, lease_token: &str, results: &Value) -> Result<Job> {
        let response = self
            .inner
            .clone()
            .complete_job(pb::CompleteJobRequest {
                job_id: job_id.to_owned(),
                lease_token: lease_token.to_owned(),
                results_json: results.to_string(),
            })
            .await
            .map_err(|s| Error::from_complete_status(s, job_id))?;
        Job::from_opt(response.into_inner().job)
    }

    /// Fails a leased job with `message`. `retry: false` ends it in ERROR;
    /// `retry: true` puts it back in the queue at once while attempts remain
    /// (it uses up one attempt). [`Error::LeaseLost`] if the token is stale.
    pub async fn fail(&self, job_id: &str, lease_token: &str, message: &str, retry: bool) -> Result<Job> {
        let response = self
            .inner
            .clone()
            .fail_job(pb::FailJobRequest {
                job_id: job_id.to_owned(),
                lease_token: lease_token.to_owned(),
                error_message: message.to_owned(),
                retry,
                release: false,
            })
            .await
            .map_err(|s| Error::from_lease_status(s, job_id))?;
        Job::from_opt(response.into_inner().job)
    }

    /// Hands a leased job back untouched: REGISTERED again at once, without
    /// counting an attempt (a worker shutting down). [`Error::LeaseLost`] if the token is stale.
    pub async fn release(&self, job_id: &str, lease_token: &str) -> Result<Job> {
        let response = self
            .inner
            .clone()
            .fail_job(pb::FailJobRequest {
                job_id: job_id.to_owned(),
                lease_token: lease_token.to_owned(),
                release: true,
                ..Default::default()
            })
            .await
            .map_err(|s| Error::from_lease_status(s, job_id))?;
        Job::from_opt(response.into_inner().job)
    }

    /// Starts configuring a [`Worker`](crate::Worker) that runs `handler` on the
    /// jobs of the service `service_id`.
    pub fn worker<F, Fut>(&self, service_id: impl Into<String>, handler: F) -> WorkerBuilder
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<Value, HandlerError>> + Send + 'static,
    {
        WorkerBuilder::new(self.clone(), service_id, handler)
    }
}

/// The new expiry, or [`Error::LeaseLost`] for a job cancelled under the lease
/// (its message starts with [`CANCELLED_PREFIX`] and carries the reason).
fn lease_answer(job_id: &str, answer: pb::ExtendLeaseResponse) -> Result<SystemTime> {
    if answer.cancelled {
        return Err(Error::LeaseLost {
            job_id: job_id.to_owned(),
            message: format!("{CANCELLED_PREFIX}{}", answer.cancel_reason),
        });
    }
    answer
        .lease_expires_at
        .and_then(|t| time(t.seconds, t.nanos))
        .ok_or_else(|| Error::Malformed("the extended lease has no expiry".to_owned()))
}

/// How a heartbeat's [`Error::LeaseLost`] says the job was cancelled.
pub const CANCELLED_PREFIX: &str = "job cancelled: ";
