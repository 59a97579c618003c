//! The worker loop: claim jobs in batches, run a handler on each with bounded
//! concurrency, keep their leases alive, report the outcome, and shut down
//! gracefully.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinError, JoinHandle, JoinSet};
use tonic::Code;

use crate::backoff::Backoff;
use crate::cancel::Cancellation;
use crate::client::{CANCELLED_PREFIX, Client};
use crate::error::{Error, Result};
use crate::types::{Job, JobStatus, LeasedJob, lease_seconds};
use crate::watch::QueueEvent;

/// The most jobs the job-queue hands out per claim.
const MAX_BATCH: usize = 1000;
/// Attempts for reporting an outcome (complete/fail) when the server is briefly unreachable.
const REPORT_ATTEMPTS: u32 = 4;
/// How long releasing a job at shutdown may take before the worker gives up on it.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);
/// The message a job is put back into the queue with when the worker stops.
pub const SHUTDOWN_MESSAGE: &str = "worker shut down before the job finished";

/// Why a handler did not produce results.
///
/// By default the job ends in ERROR with [`message`](Self::message) as its
/// `error_message`; [`HandlerError::retryable`] instead puts it back into the
/// queue while it has attempts left. Any `std::error::Error` converts into a
/// (non-retryable) `HandlerError`, so `?` works inside handlers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError {
    message: String,
    retry: bool,
}

impl HandlerError {
    /// A failure that ends the job in ERROR with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry: false,
        }
    }

    /// A failure worth another attempt: the job goes back to the queue (and
    /// uses up one of its attempts); on its last attempt it ends in ERROR.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry: true,
        }
    }

    /// The message recorded on the job.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the job should be retried.
    pub fn is_retryable(&self) -> bool {
        self.retry
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for HandlerError {
    /// The error and its sources, joined with `": "`.
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::new(message)
    }
}

/// Something the worker did, for logging, metrics or tests
/// (see [`WorkerBuilder::on_event`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum WorkerEvent {
    /// A job was leased and its handler started.
    Claimed {
        /// The job.
        job_id: String,
    },
    /// The handler's results were accepted; the job is COMPLETED.
    Completed {
        /// The job.
        job_id: String,
    },
    /// The job was failed with `message`: the handler returned an error, it
    /// panicked, or its results were rejected. `status` is what the job became
    /// (ERROR, or REGISTERED for a retry).
    Failed {
        /// The job.
        job_id: String,
        /// The error message recorded on the job.
        message: String,
        /// The job's status afterwards.
        status: JobStatus,
    },
    /// The worker stopped before the handler finished; the job was handed back
    /// to the queue for immediate re-delivery (`status` REGISTERED, or ERROR
    /// if that was its last attempt).
    Released {
        /// The job.
        job_id: String,
        /// The job's status afterwards.
        status: JobStatus,
    },
    /// The lease was lost (expired, cancelled, or taken over); the handler was
    /// stopped and its work, if any, discarded.
    LeaseLost {
        /// The job.
        job_id: String,
        /// The server's explanation.
        message: String,
    },
    /// The job was cancelled on the server while its handler ran: the
    /// handler's [`Cancellation`](crate::Cancellation) was set, it was given
    /// one heartbeat interval to return, and nothing was reported.
    Cancelled {
        /// The job.
        job_id: String,
        /// Why, as the canceller said.
        reason: String,
    },
    /// A claim found fewer jobs than there were free slots: the queue is
    /// drained for now, and the worker waits for a wake-up from the queue
    /// watch or for the poll interval.
    Idle,
    /// Shutdown began: the worker claims nothing more and waits for running handlers.
    Stopping,
    /// A call failed; the worker carries on. For a result that violates the
    /// schema this is [`Error::ResultRejected`], followed by `Failed`.
    Error {
        /// The job concerned, if any.
        job_id: Option<String>,
        /// What went wrong.
        error: Error,
    },
}

/// What a worker did before it stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerSummary {
    /// Jobs leased.
    pub claimed: u64,
    /// Jobs completed.
    pub completed: u64,
    /// Jobs failed (handler error, panic, or rejected results).
    pub failed: u64,
    /// Jobs handed back at shutdown.
    pub released: u64,
    /// Jobs whose lease was lost.
    pub lease_lost: u64,
}

type Handler = Arc<dyn Fn(Job) -> BoxFuture<'static, Result<Value, HandlerError>> + Send + Sync>;
type EventSink = Arc<dyn Fn(&WorkerEvent) + Send + Sync>;

/// Configures a [`Worker`]. Made by [`Client::worker`] or [`Worker::builder`].
pub struct WorkerBuilder {
    client: Client,
    service_id: String,
    handler: Handler,
    concurrency: usize,
    batch_size: usize,
    lease: Option<Duration>,
    heartbeat: Option<Duration>,
    poll_interval: Duration,
    watch: bool,
    grace_period: Duration,
    worker_id: String,
    on_event: Option<EventSink>,
}

impl fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("service_id", &self.service_id)
            .field("concurrency", &self.concurrency)
            .field("batch_size", &self.batch_size)
            .field("lease", &self.lease)
            .field("heartbeat", &self.heartbeat)
            .field("poll_interval", &self.poll_interval)
            .field("watch", &self.watch)
            .field("grace_period", &self.grace_period)
            .field("worker_id", &self.worker_id)
            .finish_non_exhaustive()
    }
}

impl WorkerBuilder {
    pub(crate) fn new<F, Fut>(client: Client, service_id: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, HandlerError>> + Send + 'static,
    {
        Self {
            client,
            service_id: service_id.into(),
            handler: Arc::new(move |job| Box::pin(handler(job))),
            concurrency: 4,
            batch_size: 10,
            lease: None,
            heartbeat: None,
            poll_interval: Duration::from_secs(5),
            watch: true,
            grace_period: Duration::from_secs(30),
            worker_id: format!("brigade-client-{}", uuid::Uuid::new_v4().simple()),
            on_event: None,
        }
    }

    /// How many handlers may run at once (default 4, at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The most jobs leased per claim (default 10, 1–1000). A claim never asks
    /// for more jobs than there are free handler slots, so no job waits
    /// leased but idle.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.clamp(1, MAX_BATCH);
        self
    }

    /// The lease length to claim with (whole seconds, rounded up). Default:
    /// the service's own lease length.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// How often each running job's lease is extended. Default: a third of
    /// the lease, so two heartbeats may fail before the lease runs out.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat = Some(interval);
        self
    }

    /// How often to look for jobs when idle (default 5 s). With
    /// [`watch_queue`](Self::watch_queue) on, new jobs wake the worker at once
    /// and this is only a safety net; with it off, this is the polling period.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Whether to follow the job-queue's `WatchQueue` stream to wake up as
    /// soon as a job is queued, instead of only polling (default on).
    pub fn watch_queue(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// How long running handlers may take to finish after shutdown was asked
    /// for (default 30 s). Jobs still running then are stopped and handed back
    /// to the queue.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = grace;
        self
    }

    /// A name for this worker in the server's logs (default: random).
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker_id = id.into();
        self
    }

    /// Calls `sink` for each [`WorkerEvent`]. It runs inline on the worker's
    /// tasks, so it should be quick.
    pub fn on_event<F>(mut self, sink: F) -> Self
    where
        F: Fn(&WorkerEvent) + Send + Sync + 'static,
    {
        self.on_event = Some(Arc::new(sink));
        self
    }

    /// The configured worker; nothing runs until [`Worker::run_until`].
    pub fn build(self) -> Worker {
        Worker { config: self }
    }
}

/// Runs a handler on the jobs of one service, the way River, Oban or Celery
/// workers do.
///
/// The worker claims REGISTERED jobs in batches (never more than it has free
/// handler slots), runs the handler on each with at most `concurrency` at
/// once, extends each lease in the background while its handler runs, and
/// then completes the job with the handler's results or fails it with the
/// handler's error message. See [`run_until`](Self::run_until) for shutdown.
///
/// * Results the server rejects (they violate the result schema) fail the job
///   (ERROR) with a message listing the violations; the rejection is also
///   reported as [`WorkerEvent::Error`] carrying [`Error::ResultRejected`].
/// * A panicking handler fails the job (ERROR) with the panic message.
/// * When a lease is lost (expired, or the job was cancelled) the handler is
///   stopped (its future dropped) and the job is left to whoever holds it now.
pub struct Worker {
    config: WorkerBuilder,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker").field("config", &self.config).finish()
    }
}

/// State every job task shares.
struct Shared {
    client: Client,
    lease: Duration,
    heartbeat: Duration,
    handler: Handler,
    on_event: Option<EventSink>,
    hard_stop: watch::Receiver<bool>,
    /// The cancellation of each job whose handler runs, by job id.
    running: Running,
    claimed: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    released: AtomicU64,
    lease_lost: AtomicU64,
}

impl Shared {
    fn emit(&self, event: WorkerEvent) {
        let counter = match &event {
            WorkerEvent::Claimed { job_id } => {
                tracing::debug!(%job_id, "job claimed");
                Some(&self.claimed)
            }
            WorkerEvent::Completed { job_id } => {
                tracing::debug!(%job_id, "job completed");
                Some(&self.completed)
            }
            WorkerEvent::Failed {
                job_id,
                message,
                status,
            } => {
                tracing::info!(%job_id, %message, ?status, "job failed");
                Some(&self.failed)
            }
            WorkerEvent::Released { job_id, status } => {
                tracing::info!(%job_id, ?status, "job handed back at shutdown");
                Some(&self.released)
            }
            WorkerEvent::LeaseLost { job_id, message } => {
                tracing::warn!(%job_id, %message, "lease lost; handler stopped");
                Some(&self.lease_lost)
            }
            WorkerEvent::Cancelled { job_id, reason } => {
                tracing::info!(%job_id, %reason, "job cancelled; handler stopped");
                Some(&self.lease_lost)
            }
            WorkerEvent::Idle | WorkerEvent::Stopping => None,
            WorkerEvent::Error { job_id, error } => {
                tracing::warn!(job_id = job_id.as_deref().unwrap_or(""), %error, "worker call failed");
                None
            }
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(sink) = &self.on_event {
            sink(&event);
        }
    }

    fn summary(&self) -> WorkerSummary {
        WorkerSummary {
            claimed: self.claimed.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
            lease_lost: self.lease_lost.load(Ordering::Relaxed),
        }
    }
}

/// A task handle that aborts its task when dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Claim errors that retrying cannot fix.
fn is_fatal(error: &Error) -> bool {
    match error {
        Error::NotFound(_) | Error::InvalidArgument { .. } => true,
        Error::Rpc(status) => matches!(
            status.code(),
            Code::PermissionDenied | Code::Unauthenticated | Code::Unimplemented
        ),
        _ => false,
    }
}

impl Worker {
    /// Starts configuring a worker for the service `service_id` (same as
    /// [`Client::worker`]).
    pub fn builder<F, Fut>(client: &Client, service_id: impl Into<String>, handler: F) -> WorkerBuilder
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, HandlerError>> + Send + 'static,
    {
        WorkerBuilder::new(client.clone(), service_id, handler)
    }

    /// Runs until Ctrl-C, then shuts down as [`run_until`](Self::run_until) does.
    pub async fn run(self) -> Result<WorkerSummary> {
        self.run_until(async {
            if tokio::signal::ctrl_c().await.is_err() {
                // No signal handling here: run until the future is dropped.
                std::future::pending::<()>().await;
            }
        })
        .await
    }

    /// Runs until `shutdown` completes, then shuts down gracefully: it stops
    /// claiming, lets running handlers finish for up to the grace period, and
    /// hands back whatever it still holds (failed with `retry`, so the job is
    /// REGISTERED again at once instead of after its lease runs out; this uses
    /// up one of the job's attempts).
    ///
    /// Returns what the worker did. Fails at once with [`Error::NotFound`] if
    /// the service does not exist, and after draining if claiming fails for a
    /// reason retrying cannot fix; unreachable servers are retried with backoff.
    ///
    /// Dropping the returned future (or aborting its task) stops everything at
    /// once without reporting: the jobs it held come back when their leases
    /// expire.
    pub async fn run_until<S>(self, shutdown: S) -> Result<WorkerSummary>
    where
        S: Future<Output = ()>,
    {
        let config = self.config;
        let client = config.client.clone();
        let service = client.get_service(&config.service_id).await?;
        let lease = Duration::from_secs(lease_seconds(config.lease.unwrap_or(service.lease)).unsigned_abs());
        let heartbeat = config.heartbeat.unwrap_or(lease / 3).max(Duration::from_millis(50));
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            client: client.clone(),
            lease,
            heartbeat,
            handler: config.handler.clone(),
            on_event: config.on_event.clone(),
            hard_stop: stop_rx,
            running: Running::default(),
            claimed: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            released: AtomicU64::new(0),
            lease_lost: AtomicU64::new(0),
        });
        tracing::info!(
            service_id = %service.id,
            worker_id = %config.worker_id,
            concurrency = config.concurrency,
            ?lease,
            "worker starting"
        );

        let slots = Arc::new(Semaphore::new(config.concurrency));
        let wake = Arc::new(Notify::new());
        let watcher = config.watch.then(|| {
            AbortOnDrop(tokio::spawn(follow_queue(
                client.clone(),
                service.id.clone(),
                wake.clone(),
                shared.running.clone(),
            )))
        });
        let mut tasks = JoinSet::new();
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut fatal = None;
        tokio::pin!(shutdown);

        loop {
            while let Some(done) = tasks.try_join_next() {
                log_task_end(done);
            }
            let first = tokio::select! {
                biased;
                () = &mut shutdown => break,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let mut permits = vec![first];
            while permits.len() < config.batch_size {
                match slots.clone().try_acquire_owned() {
                    Ok(permit) => permits.push(permit),
                    Err(_) => break,
                }
            }
            let wanted = permits.len();
            // Not raced against shutdown: a claim the server granted must not be lost.
            let claimed = client
                .claim(
                    &service.id,
                    u32::try_from(wanted).unwrap_or(u32::MAX),
                    Some(lease),
                    &config.worker_id,
                )
                .await;
            let delay = match claimed {
                Ok(jobs) => {
                    backoff.reset();
                    let got = jobs.len();
                    let mut permits = permits.into_iter();
                    for leased in jobs {
                        match permits.next() {
                            Some(permit) => {
                                shared.emit(WorkerEvent::Claimed {
                                    job_id: leased.job.id.clone(),
                                });
                                tasks.spawn(run_job(shared.clone(), leased, permit));
                            }
                            // More than asked for: hand the extra back at once.
                            None => release(&shared, &leased).await,
                        }
                    }
                    let idle = got < wanted;
                    if idle {
                        shared.emit(WorkerEvent::Idle);
                    }
                    idle.then_some(config.poll_interval)
                }
                Err(error) if is_fatal(&error) => {
                    fatal = Some(error);
                    break;
                }
                Err(error) => {
                    shared.emit(WorkerEvent::Error { job_id: None, error });
                    Some(backoff.next_delay())
                }
            };
            if let Some(delay) = delay {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = wake.notified() => {}
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }

        drop(watcher);
        shared.emit(WorkerEvent::Stopping);
        tracing::info!(running = tasks.len(), "worker stopping: no more claims");
        let drained = tokio::time::timeout(config.grace_period, async {
            while let Some(done) = tasks.join_next().await {
                log_task_end(done);
            }
        })
        .await;
        if drained.is_err() {
            tracing::info!(running = tasks.len(), "grace period over: handing back running jobs");
            let _ = stop_tx.send(true);
            while let Some(done) = tasks.join_next().await {
                log_task_end(done);
            }
        }
        let summary = shared.summary();
        tracing::info!(?summary, "worker stopped");
        match fatal {
            Some(error) => Err(error),
            None => Ok(summary),
        }
    }
}

fn log_task_end(done: std::result::Result<(), JoinError>) {
    if let Err(error) = done {
        tracing::error!(%error, "a worker task ended abnormally");
    }
}

/// Wakes the claim loop whenever the queue reports a REGISTERED job; reconnects
/// with backoff when the stream ends.
async fn follow_queue(client: Client, service_id: String, wake: Arc<Notify>, running: Running) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        match client.watch_queue_events(&service_id).await {
            Ok(mut stream) => {
                // Anything queued while we were not watching is in the backlog it sends.
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(QueueEvent::Cancelled { job_id, reason }) => running.cancel(&job_id, &reason),
                        Ok(_) => {
                            backoff.reset();
                            wake.notify_one();
                        }
                        Err(error) => {
                            tracing::debug!(%error, "queue watch ended");
                            break;
                        }
                    }
                }
            }
            Err(error) => tracing::debug!(%error, "cannot watch the queue"),
        }
        // Whatever happened while reconnecting, the claim loop should look.
        wake.notify_one();
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// How a job's handler run ended.
enum Outcome {
    Finished(std::result::Result<Result<Value, HandlerError>, JoinError>),
    LeaseLost(Error),
    Cancelled,
    Stop,
}

/// The cancellations of running handlers, shared with the queue watch.
#[derive(Clone, Default)]
struct Running(Arc<std::sync::Mutex<std::collections::HashMap<String, Cancellation>>>);

impl Running {
    fn start(&self, job_id: &str) -> Cancellation {
        let token = Cancellation::default();
        if let Ok(mut map) = self.0.lock() {
            map.insert(job_id.to_owned(), token.clone());
        }
        token
    }

    fn finish(&self, job_id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(job_id);
        }
    }

    fn cancel(&self, job_id: &str, reason: &str) {
        let token = self.0.lock().ok().and_then(|map| map.get(job_id).cloned());
        if let Some(token) = token {
            token.cancel(reason);
        }
    }
}

/// Runs one leased job: the handler, its heartbeats, and the report.
async fn run_job(shared: Arc<Shared>, leased: LeasedJob, permit: OwnedSemaphorePermit) {
    let _permit = permit;
    let job_id = leased.job.id.clone();
    let token = shared.running.start(&job_id);
    let mut handler = AbortOnDrop(tokio::spawn(token.clone().scope((shared.handler)(leased.job.clone()))));
    let start = tokio::time::Instant::now() + shared.heartbeat;
    let mut ticker = tokio::time::interval_at(start, shared.heartbeat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hard_stop = shared.hard_stop.clone();
    let stopping = async move {
        if hard_stop.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(stopping);

    let outcome = loop {
        tokio::select! {
            biased;
            finished = &mut handler.0 => break Outcome::Finished(finished),
            () = token.cancelled() => break Outcome::Cancelled,
            () = &mut stopping => break Outcome::Stop,
            _ = ticker.tick() => {
                match shared.client.extend_lease(&job_id, &leased.lease_token, Some(shared.lease)).await {
                    Ok(_) => {}
                    Err(Error::LeaseLost { message, .. }) if message.starts_with(CANCELLED_PREFIX) => {
                        token.cancel(message.trim_start_matches(CANCELLED_PREFIX));
                        break Outcome::Cancelled;
                    }
                    Err(error @ Error::LeaseLost { .. }) => break Outcome::LeaseLost(error),
                    // Try again at the next tick; the lease has room for it.
                    Err(error) => shared.emit(WorkerEvent::Error { job_id: Some(job_id.clone()), error }),
                }
            }
        }
    };

    shared.running.finish(&job_id);
    match outcome {
        Outcome::Cancelled => {
            // Cooperative: the handler may see its cancellation and return;
            // whatever it returns is not reported (the job is already ERROR).
            let _ = tokio::time::timeout(shared.heartbeat, &mut handler.0).await;
            drop(handler);
            shared.emit(WorkerEvent::Cancelled {
                job_id,
                reason: token.reason().unwrap_or_default(),
            });
        }
        Outcome::Finished(Ok(Ok(results))) => complete(&shared, &leased, &results).await,
        Outcome::Finished(Ok(Err(error))) => fail(&shared, &leased, error.message(), error.is_retryable()).await,
        Outcome::Finished(Err(join_error)) => {
            let message = panic_message(join_error);
            fail(&shared, &leased, &message, false).await;
        }
        Outcome::LeaseLost(error) => {
            drop(handler);
            lease_lost(&shared, &job_id, error);
        }
        Outcome::Stop => {
            drop(handler);
            release(&shared, &leased).await;
        }
    }
}

fn panic_message(error: JoinError) -> String {
    if !error.is_panic() {
        return "the handler was cancelled".to_owned();
    }
    let payload = error.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    format!("handler panicked: {text}")
}

fn lease_lost(shared: &Shared, job_id: &str, error: Error) {
    let message = match error {
        Error::LeaseLost { message, .. } => message,
        other => other.to_string(),
    };
    shared.emit(WorkerEvent::LeaseLost {
        job_id: job_id.to_owned(),
        message,
    });
}

/// Calls `op` until it succeeds, fails for good, or [`REPORT_ATTEMPTS`] are
/// used; transient failures are retried with a short backoff. Returns the
/// result and whether it came from a retry.
async fn with_retries<T, F, Fut>(shared: &Shared, job_id: &str, mut op: F) -> (Result<T>, bool)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    let mut attempt = 1;
    loop {
        match op().await {
            Err(error) if error.is_transient() && attempt < REPORT_ATTEMPTS => {
                shared.emit(WorkerEvent::Error {
                    job_id: Some(job_id.to_owned()),
                    error,
                });
                tokio::time::sleep(backoff.next_delay()).await;
                attempt += 1;
            }
            other => return (other, attempt > 1),
        }
    }
}

async fn complete(shared: &Shared, leased: &LeasedJob, results: &Value) {
    let job_id = &leased.job.id;
    let (result, retried) = with_retries(shared, job_id, || {
        shared.client.complete(job_id, &leased.lease_token, results)
    })
    .await;
    match result {
        Ok(_) => shared.emit(WorkerEvent::Completed { job_id: job_id.clone() }),
        Err(Error::ResultRejected { violations }) => {
            let message = format!("results rejected by the result schema: {}", violations.join("; "));
            shared.emit(WorkerEvent::Error {
                job_id: Some(job_id.clone()),
                error: Error::ResultRejected { violations },
            });
            fail(shared, leased, &message, false).await;
        }
        Err(error @ Error::LeaseLost { .. }) => {
            // A retried completion may have landed the first time, its answer lost.
            if retried
                && let Ok(job) = shared.client.get_job(job_id).await
                && job.status == JobStatus::Completed
            {
                shared.emit(WorkerEvent::Completed { job_id: job_id.clone() });
                return;
            }
            lease_lost(shared, job_id, error);
        }
        Err(error) => shared.emit(WorkerEvent::Error {
            job_id: Some(job_id.clone()),
            error,
        }),
    }
}

async fn fail(shared: &Shared, leased: &LeasedJob, message: &str, retry: bool) {
    let job_id = &leased.job.id;
    let (result, _) = with_retries(shared, job_id, || {
        shared.client.fail(job_id, &leased.lease_token, message, retry)
    })
    .await;
    match result {
        Ok(job) => shared.emit(WorkerEvent::Failed {
            job_id: job_id.clone(),
            message: message.to_owned(),
            status: job.status,
        }),
        Err(error @ Error::LeaseLost { .. }) => lease_lost(shared, job_id, error),
        Err(error) => shared.emit(WorkerEvent::Error {
            job_id: Some(job_id.clone()),
            error,
        }),
    }
}

/// Hands a job back to the queue for immediate re-delivery.
async fn release(shared: &Shared, leased: &LeasedJob) {
    let job_id = &leased.job.id;
    let released = tokio::time::timeout(
        RELEASE_TIMEOUT,
        shared.client.fail(job_id, &leased.lease_token, SHUTDOWN_MESSAGE, true),
    )
    .await;
    match released {
        Ok(Ok(job)) => shared.emit(WorkerEvent::Released {
            job_id: job_id.clone(),
            status: job.status,
        }),
        Ok(Err(error @ Error::LeaseLost { .. })) => lease_lost(shared, job_id, error),
        Ok(Err(error)) => shared.emit(WorkerEvent::Error {
            job_id: Some(job_id.clone()),
            error,
        }),
        Err(_) => shared.emit(WorkerEvent::Error {
            job_id: Some(job_id.clone()),
            error: Error::Rpc(Box::new(tonic::Status::deadline_exceeded(
                "handing the job back took too long; it returns when its lease expires",
            ))),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_errors_convert_with_their_sources() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("reading the instrument")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e: HandlerError = Outer(std::io::Error::other("timed out")).into();
        assert_eq!(e.message(), "reading the instrument: timed out");
        assert!(!e.is_retryable());
        assert!(HandlerError::retryable("x").is_retryable());
    }

    #[test]
    fn fatal_claim_errors() {
        assert!(is_fatal(&Error::NotFound("s".into())));
        assert!(!is_fatal(&Error::Rpc(Box::new(tonic::Status::unavailable("down")))));
        assert!(!is_fatal(&Error::Rpc(Box::new(tonic::Status::internal("db")))));
    }
}
