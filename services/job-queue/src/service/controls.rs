//! Queue controls on finished and waiting jobs: retry, delete, bulk cancel and
//! retry, and retention.

use std::time::Duration;

use super::JobQueue;
use super::leases::checked_reason;
use crate::domain::{AttemptOutcome, Job, JobId, JobStatus, now_micros};
use crate::error::{Error, Result};
use crate::repository::JobFilter;

/// Finished jobs deleted per retention transaction.
const RETENTION_BATCH: i64 = 500;

impl JobQueue {
    /// ERROR (failed or cancelled) back to REGISTERED with a fresh attempt budget.
    pub async fn retry(&self, id: &JobId) -> Result<Job> {
        let job = self.get_job(id).await?;
        let now = now_micros();
        let mut tx = self.repo.begin().await?;
        let retried = tx.retry_job(&job.id, now).await?.ok_or_else(|| {
            Error::FailedPrecondition(format!(
                "job {} is {}; only ERROR jobs can be retried",
                job.id, job.status
            ))
        })?;
        tx.insert_notices(std::slice::from_ref(&retried), now).await?;
        tx.commit().await?;
        self.publish(std::slice::from_ref(&retried));
        Ok(retried)
    }

    /// Deletes a finished job and its history.
    pub async fn delete(&self, id: &JobId) -> Result<()> {
        let job = self.get_job(id).await?;
        if !job.status.is_terminal() {
            return Err(unfinished(&job));
        }
        let mut tx = self.repo.begin().await?;
        let deleted = tx.delete_job(&job.id).await?;
        tx.commit().await?;
        if deleted { Ok(()) } else { Err(unfinished(&job)) }
    }

    /// Cancels the REGISTERED and WORKING jobs of one service the filter matches.
    pub async fn cancel_many(&self, filter: JobFilter, reason: &str) -> Result<usize> {
        let reason = checked_reason(reason)?;
        let filter = self.bulk_filter(filter).await?;
        let now = now_micros();
        let mut tx = self.repo.begin().await?;
        let jobs = tx.cancel_jobs(&filter, &reason, now).await?;
        for job in &jobs {
            tx.finish_attempt(&job.id, AttemptOutcome::Cancelled, Some(&reason), now)
                .await?;
        }
        tx.insert_notices(&jobs, now).await?;
        tx.commit().await?;
        self.publish(&jobs);
        Ok(jobs.len())
    }

    /// Retries the ERROR jobs of one service the filter matches.
    pub async fn retry_many(&self, filter: JobFilter) -> Result<usize> {
        let filter = self.bulk_filter(filter).await?;
        let now = now_micros();
        let mut tx = self.repo.begin().await?;
        let jobs = tx.retry_jobs(&filter, now).await?;
        tx.insert_notices(&jobs, now).await?;
        tx.commit().await?;
        self.publish(&jobs);
        Ok(jobs.len())
    }

    async fn bulk_filter(&self, mut filter: JobFilter) -> Result<JobFilter> {
        let Some(id) = &filter.service_id else {
            return Err(Error::invalid(
                "filter.service_id",
                "a bulk operation names one service",
            ));
        };
        filter.service_id = Some(self.get_service(id).await?.id);
        Ok(filter)
    }

    /// Deletes finished (COMPLETED, ERROR) jobs last changed more than
    /// `retention` ago, in small batches; returns how many went.
    pub async fn purge_finished(&self, retention: Duration) -> Result<u64> {
        let before = now_micros() - i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
        let mut total = 0;
        loop {
            let mut tx = self.repo.begin().await?;
            let deleted = tx.purge_finished(before, RETENTION_BATCH).await?;
            tx.commit().await?;
            total += deleted;
            if deleted < RETENTION_BATCH as u64 {
                return Ok(total);
            }
            // Let other writers in between batches.
            tokio::task::yield_now().await;
        }
    }
}

fn unfinished(job: &Job) -> Error {
    debug_assert!(job.status != JobStatus::Completed || job.status.is_terminal());
    Error::FailedPrecondition(format!(
        "job {} is {}; only COMPLETED or ERROR jobs can be deleted",
        job.id, job.status
    ))
}
