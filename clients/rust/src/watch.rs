//! The server-streaming calls (WatchJob, WatchQueue) and the waits built on them.

use std::time::Duration;

use brigade_proto::jobqueue::v1 as pb;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::types::Job;

/// A stream of job states from the server. It ends when the server ends it
/// (a watched job reached a terminal state, or the server is shutting down);
/// a failed stream yields one `Err` and ends. Drop it to stop watching.
pub type JobStream = BoxStream<'static, Result<Job>>;

/// What a queue watch reports.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum QueueEvent {
    /// A claimable job.
    Queued(Box<Job>),
    /// A WORKING job was cancelled; whoever holds it should stop.
    Cancelled {
        /// The job.
        job_id: String,
        /// Why, as the canceller said.
        reason: String,
    },
}

fn jobs<M, F>(stream: tonic::Streaming<M>, job_of: F) -> JobStream
where
    M: Send + 'static,
    F: Fn(M) -> Option<pb::Job> + Send + 'static,
{
    jobs_of(stream.boxed(), job_of)
}

fn jobs_of<M, F>(stream: BoxStream<'static, std::result::Result<M, tonic::Status>>, job_of: F) -> JobStream
where
    M: Send + 'static,
    F: Fn(M) -> Option<pb::Job> + Send + 'static,
{
    let mut failed = false;
    stream
        .take_while(move |item| {
            // Stop after the first error instead of polling a broken stream.
            let go = !failed;
            failed |= item.is_err();
            futures::future::ready(go)
        })
        .map(move |item| match item {
            Ok(message) => Job::from_opt(job_of(message)),
            Err(status) => Err(Error::from_status(status)),
        })
        .boxed()
}

impl Client {
    /// Follows one job: its current state first, then each change; the stream
    /// ends after a terminal state (COMPLETED or ERROR).
    /// [`Error::NotFound`] if there is no such job.
    pub async fn watch_job(&self, id: &str) -> Result<JobStream> {
        let stream = self
            .inner
            .clone()
            .watch_job(pb::WatchJobRequest { job_id: id.to_owned() })
            .await
            .map_err(Error::from_status)?
            .into_inner();
        Ok(jobs(stream, |m: pb::WatchJobResponse| m.job))
    }

    /// Follows a service's queue: every REGISTERED job (the backlog first, then
    /// each one queued, retried or returned after its lease ran out).
    pub async fn watch_queue(&self, service_id: &str) -> Result<JobStream> {
        let stream = self
            .inner
            .clone()
            .watch_queue(pb::WatchQueueRequest {
                service_id: service_id.to_owned(),
            })
            .await
            .map_err(Error::from_status)?
            .into_inner();
        // Cancel notices carry no job; they are for workers (see `watch_queue_events`).
        let stream = stream.filter(|item| futures::future::ready(!matches!(item, Ok(m) if m.job.is_none())));
        Ok(jobs_of(stream.boxed(), |m: pb::WatchQueueResponse| m.job))
    }

    /// [`watch_queue`](Self::watch_queue) with the cancel notices of WORKING
    /// jobs, so a worker can stop a cancelled job's handler within a second.
    pub async fn watch_queue_events(&self, service_id: &str) -> Result<BoxStream<'static, Result<QueueEvent>>> {
        let stream = self
            .inner
            .clone()
            .watch_queue(pb::WatchQueueRequest {
                service_id: service_id.to_owned(),
            })
            .await
            .map_err(Error::from_status)?
            .into_inner();
        Ok(stream
            .map(|item| match item {
                Ok(m) => match m.cancelled_job_id {
                    Some(job_id) => Ok(QueueEvent::Cancelled {
                        job_id,
                        reason: m.cancel_reason,
                    }),
                    None => Job::from_opt(m.job).map(|j| QueueEvent::Queued(Box::new(j))),
                },
                Err(status) => Err(Error::from_status(status)),
            })
            .boxed())
    }

    /// Waits until the job is COMPLETED or ERROR and returns it, following the
    /// job's status stream (no polling). [`Error::Timeout`] once `timeout` has
    /// passed. A stream that ends early or fails transiently (the server
    /// restarting) is opened again with backoff until the deadline; other
    /// errors ([`Error::NotFound`], ...) are returned at once.
    pub async fn wait_for_job(&self, id: &str, timeout: Duration) -> Result<Job> {
        let deadline = Instant::now() + timeout;
        let timed_out = || Error::Timeout {
            what: format!("job {id} to finish"),
            after: timeout,
        };
        match tokio::time::timeout_at(deadline, self.follow_until_terminal(id)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(timed_out()),
        }
    }

    async fn follow_until_terminal(&self, id: &str) -> Result<Job> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
        loop {
            let failure = match self.watch_job(id).await {
                Ok(mut stream) => loop {
                    match stream.next().await {
                        Some(Ok(job)) if job.status.is_terminal() => return Ok(job),
                        Some(Ok(_)) => backoff.reset(),
                        Some(Err(error)) => break Some(error),
                        // Ended without a terminal state: the server is stopping.
                        None => break None,
                    }
                },
                Err(error) => Some(error),
            };
            if let Some(error) = failure
                && !error.is_transient()
            {
                return Err(error);
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
}
