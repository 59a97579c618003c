//! Leases: claims (under pause and concurrency limits), heartbeats with
//! progress, completion, failure with backoff, cancellation, expiry.

use super::JobQueue;
use crate::domain::{self, AttemptOutcome, Job, JobId, JobStatus, ServiceId, now_micros};
use crate::error::{Error, Result};
use crate::repository::{Completion, FailMode};

impl JobQueue {
    /// Leases up to `max` due jobs to `worker_id`. A paused service hands out
    /// nothing; a service with a concurrency limit never has more than that
    /// many jobs WORKING (claims of such a service take turns on its row).
    /// A claim counts as the service's check-in.
    pub async fn claim(
        &self,
        service_id: &ServiceId,
        max: i64,
        lease_seconds: i64,
        worker_id: &str,
    ) -> Result<Vec<Job>> {
        let service = self.cached_service(service_id).await?;
        if max < 1 || max > self.limits.max_claim {
            return Err(Error::invalid(
                "max_jobs",
                format!("must be between 1 and {}", self.limits.max_claim),
            ));
        }
        if worker_id.len() > MAX_WORKER_ID || worker_id.contains('\0') {
            return Err(Error::invalid(
                "worker_id",
                format!("at most {MAX_WORKER_ID} bytes, no NUL"),
            ));
        }
        let lease = if lease_seconds == 0 {
            service.lease_seconds
        } else {
            self.check_lease(lease_seconds)?
        };
        let now = now_micros();
        self.check_in_quietly(&service.id, service.last_checked_in, now).await;
        if service.paused {
            return Ok(Vec::new());
        }
        // The cached service may be a moment old: the claim statement checks
        // the stored pause and limit itself.
        let expires = now + lease * 1_000_000;
        let jobs = if service.max_concurrency.is_none() {
            self.repo
                .claim_started(&service.id, max, expires, now, worker_id)
                .await?
        } else {
            let mut tx = self.repo.begin().await?;
            let Some(current) = tx.lock_service(&service.id).await? else {
                return Err(Error::ServiceNotFound(service.id.to_string()));
            };
            if current.paused {
                return Ok(Vec::new());
            }
            let working = tx.working_count(&service.id).await?;
            let allowed = current
                .max_concurrency
                .map_or(max, |limit| max.min(i64::from(limit) - working));
            if allowed <= 0 {
                return Ok(Vec::new());
            }
            let jobs = tx
                .claim_jobs(&service.id, allowed, true, expires, now, worker_id)
                .await?;
            if !jobs.is_empty() {
                tx.insert_notices(&jobs, now).await?;
            }
            tx.commit().await?;
            jobs
        };
        self.handed.remember(&jobs);
        self.publish(&jobs);
        Ok(jobs)
    }

    /// Records a check-in by a worker's claim or heartbeat, at most once a
    /// second per service; a failure here must not fail the worker's call.
    async fn check_in_quietly(&self, id: &ServiceId, last: i64, now: i64) {
        if now - last < 1_000_000 {
            return;
        }
        let result = async {
            let mut tx = self.repo.begin().await?;
            tx.touch_service(id, now).await?;
            tx.commit().await
        }
        .await;
        // The cached copy holds the old check-in time: read it again next time.
        self.events.services().invalidate(id);
        if let Err(e) = result {
            tracing::warn!(service_id = %id, error = %e, "check-in not recorded");
        }
    }

    /// Moves a lease's expiry and records progress. A job cancelled under this
    /// lease answers [`LeaseExtension::Cancelled`] so the worker stops it.
    pub async fn extend_lease(
        &self,
        job_id: &JobId,
        token: &str,
        lease_seconds: i64,
        progress: Progress,
    ) -> Result<LeaseExtension> {
        let job = self.get_job(job_id).await?;
        progress.check()?;
        let service = self.cached_service(&job.service_id).await?;
        let lease = if lease_seconds == 0 {
            service.lease_seconds
        } else {
            self.check_lease(lease_seconds)?
        };
        let now = now_micros();
        self.check_in_quietly(&service.id, service.last_checked_in, now).await;
        if job.cancelled && job.applied_token.as_deref() == Some(token) {
            return Ok(LeaseExtension::Cancelled {
                reason: job.cancel_reason.unwrap_or_default(),
            });
        }
        let mut tx = self.repo.begin().await?;
        let extended = tx
            .extend_lease(
                &job.id,
                token,
                now + lease * 1_000_000,
                now,
                progress.percent,
                progress.message.as_deref(),
            )
            .await?;
        tx.commit().await?;
        match extended {
            Some(job) => {
                if progress.percent.is_some() || progress.message.is_some() {
                    self.publish(std::slice::from_ref(&job));
                }
                Ok(LeaseExtension::Extended(Box::new(job)))
            }
            None => {
                // Cancelled between our read and the write?
                let now_job = self.get_job(&job.id).await?;
                if now_job.cancelled && now_job.applied_token.as_deref() == Some(token) {
                    Ok(LeaseExtension::Cancelled {
                        reason: now_job.cancel_reason.unwrap_or_default(),
                    })
                } else {
                    Err(stale(&now_job))
                }
            }
        }
    }

    /// Completes a leased job. Retried with the token that already completed
    /// it, the call answers the completed job again. The same path as a batch
    /// of one: a lease handed out here needs no read first, and on PostgreSQL
    /// the write, the attempt's end and the notice are one statement.
    pub async fn complete(&self, job_id: &JobId, token: &str, results: &str) -> Result<Job> {
        let item = Completion {
            id: job_id.clone(),
            lease_token: token.to_owned(),
            results: results.to_owned(),
        };
        self.complete_many(vec![item])
            .await?
            .pop()
            .unwrap_or_else(|| Err(Error::Internal("lost outcome".into())))
    }

    /// Completes several leased jobs in one transaction. Each completion stands
    /// alone: a bad result or a stale lease fails that one only.
    pub async fn complete_many(&self, items: Vec<Completion>) -> Result<Vec<Result<Job>>> {
        if items.len() > self.limits.max_batch {
            return Err(Error::invalid(
                "completions",
                format!("at most {} completions per call", self.limits.max_batch),
            ));
        }
        // A lease this process handed out needs no read: the claim saw the
        // job's revision, and the write checks the lease itself.
        let handed: Vec<_> = items
            .iter()
            .map(|c| self.handed.lookup(&c.id, &c.lease_token))
            .collect();
        let unknown: Vec<JobId> = items
            .iter()
            .zip(&handed)
            .filter(|(_, lease)| lease.is_none())
            .map(|(c, _)| c.id.clone())
            .collect();
        let mut jobs = self.jobs_by_id(&unknown).await?;
        let mut outcomes: Vec<Option<Result<Job>>> = Vec::with_capacity(items.len());
        let mut writes = Vec::new();
        let mut write_slots = Vec::new();
        for (index, (item, lease)) in items.into_iter().zip(handed).enumerate() {
            let (service_id, revision) = match lease {
                Some(lease) => (lease.service_id, lease.revision),
                None => {
                    let Some(job) = jobs.get(&item.id) else {
                        outcomes.push(Some(Err(Error::JobNotFound(item.id.to_string()))));
                        continue;
                    };
                    if already_completed(job, &item.lease_token) {
                        outcomes.push(Some(Ok(job.clone())));
                        continue;
                    }
                    if job.lease_token.as_deref() != Some(item.lease_token.as_str()) || job.status != JobStatus::Working
                    {
                        outcomes.push(Some(Err(stale(job))));
                        continue;
                    }
                    (job.service_id.clone(), job.service_revision)
                }
            };
            match self.validated_results(&service_id, revision, &item.results).await {
                Ok(results) => {
                    writes.push(Completion { results, ..item });
                    write_slots.push(index);
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Err(e))),
            }
        }
        let written = if writes.is_empty() {
            Vec::new()
        } else {
            let now = now_micros();
            let (written, claimed) = self.repo.complete_finished(&writes, now).await?;
            for job in written.iter().flatten() {
                record_completion(job, claimed.get(job.id.as_str()).copied(), now);
            }
            self.handed.forget(written.iter().flatten().map(|job| &job.id));
            written
        };
        // A write that did not apply answers from the job as it is now: a
        // lease ended meanwhile, or this very completion applied by a retry.
        let missed: Vec<JobId> = writes
            .iter()
            .zip(&written)
            .filter(|(write, done)| done.is_none() && !jobs.contains_key(&write.id))
            .map(|(write, _)| write.id.clone())
            .collect();
        jobs.extend(self.jobs_by_id(&missed).await?);
        for ((slot, write), done) in write_slots.into_iter().zip(&writes).zip(written) {
            outcomes[slot] = Some(match done {
                Some(job) => {
                    self.events.publish(&job);
                    Ok(job)
                }
                None => match jobs.get(&write.id) {
                    Some(job) if already_completed(job, &write.lease_token) => Ok(job.clone()),
                    Some(job) => Err(stale(job)),
                    None => Err(Error::JobNotFound(write.id.to_string())),
                },
            });
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::Internal("lost outcome".into()))))
            .collect())
    }

    async fn jobs_by_id(&self, ids: &[JobId]) -> Result<std::collections::HashMap<JobId, Job>> {
        if ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        Ok(self
            .repo
            .get_jobs(ids)
            .await?
            .into_iter()
            .map(|j| (j.id.clone(), j))
            .collect())
    }

    /// Ends a leased job as failed: ERROR, or with `Retry` back to REGISTERED
    /// after the service's backoff while attempts remain, or with `Release`
    /// back at once without counting the attempt. Retried with the token that
    /// already applied it, the call answers the job again.
    pub async fn fail(&self, job_id: &JobId, token: &str, message: &str, mode: FailMode) -> Result<Job> {
        let job = self.get_job(job_id).await?;
        // A retried failure: the job is where that failure put it.
        if !job.cancelled
            && matches!(job.status, JobStatus::Registered | JobStatus::Error)
            && job.applied_token.as_deref() == Some(token)
        {
            return Ok(job);
        }
        let message = if message.trim().is_empty() {
            "failed without a message"
        } else {
            message
        };
        let service = self.cached_service(&job.service_id).await?;
        let now = now_micros();
        let due_at = (mode == FailMode::Retry).then(|| {
            now + 1000
                * domain::retry_delay_ms(
                    service.retry_backoff_base_ms,
                    service.retry_backoff_cap_ms,
                    job.attempts,
                    domain::random_unit(),
                )
        });
        let mut tx = self.repo.begin().await?;
        let failed = tx.fail_job(&job.id, token, message, mode, due_at, now).await?;
        let failed = failed.ok_or_else(|| stale(&job))?;
        let outcome = match (mode, failed.status) {
            (FailMode::Release, _) => AttemptOutcome::Released,
            (_, JobStatus::Registered) => AttemptOutcome::Retried,
            _ => AttemptOutcome::Failed,
        };
        let error = (mode != FailMode::Release).then_some(message);
        tx.finish_attempt(&failed.id, outcome, error, now).await?;
        tx.insert_notices(std::slice::from_ref(&failed), now).await?;
        tx.commit().await?;
        if failed.status == JobStatus::Error {
            crate::metrics::JOBS_FAILED
                .with_label_values(&[failed.service_id.as_str()])
                .inc();
        }
        self.publish(std::slice::from_ref(&failed));
        Ok(failed)
    }

    /// Cancels a REGISTERED or WORKING job; its worker hears of it through
    /// WatchQueue and its next heartbeat.
    pub async fn cancel(&self, job_id: &JobId, reason: &str) -> Result<Job> {
        let reason = checked_reason(reason)?;
        let job = self.get_job(job_id).await?;
        let now = now_micros();
        let mut tx = self.repo.begin().await?;
        let cancelled = tx.cancel_job(&job.id, &reason, now).await?;
        let cancelled = cancelled.ok_or_else(|| {
            Error::FailedPrecondition(format!("job {} is {} and cannot be cancelled", job.id, job.status))
        })?;
        tx.finish_attempt(&cancelled.id, AttemptOutcome::Cancelled, Some(&reason), now)
            .await?;
        tx.insert_notices(std::slice::from_ref(&cancelled), now).await?;
        tx.commit().await?;
        self.publish(std::slice::from_ref(&cancelled));
        Ok(cancelled)
    }

    /// Returns expired leases to the queue after their backoff (or to ERROR on
    /// the last attempt); run periodically by the reaper.
    pub async fn expire_leases(&self) -> Result<usize> {
        let now = now_micros();
        let mut tx = self.repo.begin().await?;
        let mut jobs = Vec::new();
        for expired in tx.expired_leases(now, EXPIRY_BATCH).await? {
            let Some(token) = expired.job.lease_token.as_deref() else {
                continue;
            };
            let delay = domain::retry_delay_ms(
                expired.retry_backoff_base_ms,
                expired.retry_backoff_cap_ms,
                expired.job.attempts,
                domain::random_unit(),
            );
            if let Some(job) = tx.expire_lease(&expired.job.id, token, now + delay * 1000, now).await? {
                tx.finish_attempt(&job.id, AttemptOutcome::Expired, Some("lease expired"), now)
                    .await?;
                jobs.push(job);
            }
        }
        tx.insert_notices(&jobs, now).await?;
        tx.commit().await?;
        crate::metrics::LEASE_EXPIRIES
            .with_label_values(&[] as &[&str])
            .inc_by(jobs.len() as u64);
        for job in &jobs {
            tracing::info!(job_id = %job.id, status = %job.status, attempts = job.attempts, "lease expired");
            if job.status == JobStatus::Error {
                crate::metrics::JOBS_FAILED
                    .with_label_values(&[job.service_id.as_str()])
                    .inc();
            }
        }
        self.publish(&jobs);
        Ok(jobs.len())
    }
}

/// Leases ended per reaper pass.
const EXPIRY_BATCH: i64 = 500;
const MAX_WORKER_ID: usize = 200;
const MAX_REASON: usize = 1000;
const MAX_PROGRESS_MESSAGE: usize = 1000;

/// What a worker reports with a heartbeat.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// 0–100.
    pub percent: Option<i32>,
    pub message: Option<String>,
}

impl Progress {
    fn check(&self) -> Result<()> {
        if self.percent.is_some_and(|p| !(0..=100).contains(&p)) {
            return Err(Error::invalid("progress", "must be between 0 and 100"));
        }
        if let Some(m) = &self.message
            && (m.len() > MAX_PROGRESS_MESSAGE || m.contains('\0'))
        {
            return Err(Error::invalid(
                "progress_message",
                format!("at most {MAX_PROGRESS_MESSAGE} bytes, no NUL"),
            ));
        }
        Ok(())
    }
}

/// The answer to a heartbeat.
#[derive(Clone, Debug, PartialEq)]
pub enum LeaseExtension {
    Extended(Box<Job>),
    /// The job was cancelled under this lease; the worker should stop.
    Cancelled {
        reason: String,
    },
}

pub(super) fn checked_reason(reason: &str) -> Result<String> {
    if reason.len() > MAX_REASON || reason.contains('\0') {
        return Err(Error::invalid("reason", format!("at most {MAX_REASON} bytes, no NUL")));
    }
    Ok(if reason.trim().is_empty() {
        "cancelled".to_owned()
    } else {
        reason.to_owned()
    })
}

fn already_completed(job: &Job, token: &str) -> bool {
    job.status == JobStatus::Completed && job.applied_token.as_deref() == Some(token)
}

fn record_completion(job: &Job, claimed: Option<i64>, now: i64) {
    crate::metrics::JOBS_COMPLETED
        .with_label_values(&[job.service_id.as_str()])
        .inc();
    if let Some(claimed) = claimed {
        crate::metrics::CLAIM_TO_COMPLETE
            .with_label_values(&[job.service_id.as_str()])
            .observe((now - claimed) as f64 / 1e6);
    }
}

fn stale(job: &Job) -> Error {
    Error::StaleLease(format!(
        "the lease token is not the current lease of job {} (status {})",
        job.id, job.status
    ))
}
