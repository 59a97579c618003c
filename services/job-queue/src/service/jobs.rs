//! Jobs: submission, TopChef's free updates, leases and their ends.

use super::{JobQueue, Page, parse_token};
use crate::domain::schema::{self, SchemaKind};
use crate::domain::{Job, JobId, JobStatus, ServiceId, now_micros};
use crate::error::{Error, Result};
use crate::repository::{Completion, FailMode};

impl JobQueue {
    /// Validates every parameter document first; stores all or none.
    pub async fn submit_jobs(&self, service_id: &ServiceId, parameters: &[String]) -> Result<Vec<Job>> {
        if parameters.is_empty() {
            return Err(Error::invalid("parameters", "at least one job is required"));
        }
        if parameters.len() > self.limits.max_batch {
            return Err(Error::invalid(
                "parameters",
                format!("at most {} jobs per batch", self.limits.max_batch),
            ));
        }
        let service = self.get_service(service_id).await?;
        let validator = self
            .schemas
            .get_or_compile(
                service.id.as_str(),
                service.revision,
                SchemaKind::Registration,
                &service.job_registration_schema,
            )
            .map_err(Error::Internal)?;
        let mut violations = Vec::new();
        let mut documents = Vec::with_capacity(parameters.len());
        for (index, text) in parameters.iter().enumerate() {
            let field = if parameters.len() == 1 {
                "parameters".to_owned()
            } else {
                format!("parameters[{index}]")
            };
            let value = self.parse_document(&field, text)?;
            violations.extend(schema::violations(&validator, &value));
            documents.push(value.to_string());
        }
        if !violations.is_empty() {
            return Err(Error::SchemaViolations {
                field: "parameters".to_owned(),
                violations,
            });
        }
        let now = now_micros();
        let jobs: Vec<Job> = documents
            .into_iter()
            .map(|parameters| Job {
                seq: 0,
                id: JobId::generate(),
                service_id: service.id.clone(),
                status: JobStatus::Registered,
                parameters,
                results: None,
                date_submitted: now,
                attempts: 0,
                max_attempts: service.max_attempts,
                lease_token: None,
                lease_expires_at: None,
                error_message: None,
                service_revision: service.revision,
                cancelled: false,
                updated: now,
            })
            .collect();
        let mut tx = self.repo.begin().await?;
        tx.insert_jobs(&jobs).await?;
        tx.commit().await?;
        self.publish(&jobs);
        Ok(jobs)
    }

    pub async fn list_jobs(&self, service_id: Option<&ServiceId>, page_size: i64, token: &str) -> Result<Page<Job>> {
        let service = match service_id {
            Some(id) => Some(self.get_service(id).await?.id),
            None => None,
        };
        let limit = self.page_size(page_size);
        let jobs = self
            .repo
            .list_jobs(service.as_ref(), parse_token(token)?, limit)
            .await?;
        let next = (jobs.len() as i64 == limit)
            .then(|| jobs.last().map(|j| j.seq))
            .flatten();
        Ok(Page { items: jobs, next })
    }

    pub async fn get_job(&self, id: &JobId) -> Result<Job> {
        self.repo
            .get_job(id)
            .await?
            .ok_or_else(|| Error::JobNotFound(id.to_string()))
    }

    /// TopChef's free PATCH: results (validated when given) and any status.
    pub async fn update_job(&self, id: &JobId, status: Option<JobStatus>, results: Option<&str>) -> Result<Job> {
        let job = self.get_job(id).await?;
        let results = match results {
            Some(text) => Some(self.validated_results(&job, text).await?),
            None => None,
        };
        let mut tx = self.repo.begin().await?;
        let updated = tx.update_job(&job.id, status, results.as_deref(), now_micros()).await?;
        tx.commit().await?;
        let updated = updated.ok_or_else(|| Error::JobNotFound(job.id.to_string()))?;
        self.publish(std::slice::from_ref(&updated));
        Ok(updated)
    }

    /// Results checked against the result schema of the revision the job was submitted under.
    async fn validated_results(&self, job: &Job, text: &str) -> Result<String> {
        let value = self.parse_document("results", text)?;
        let validator = match self
            .schemas
            .cached(job.service_id.as_str(), job.service_revision, SchemaKind::Result)
        {
            Some(v) => v,
            None => {
                let (revision, schema_text) =
                    match self.repo.get_revision(&job.service_id, job.service_revision).await? {
                        Some(r) => (r.revision, r.job_result_schema),
                        None => {
                            let s = self.get_service(&job.service_id).await?;
                            (s.revision, s.job_result_schema)
                        }
                    };
                self.schemas
                    .get_or_compile(job.service_id.as_str(), revision, SchemaKind::Result, &schema_text)
                    .map_err(Error::Internal)?
            }
        };
        let violations = schema::violations(&validator, &value);
        if violations.is_empty() {
            Ok(value.to_string())
        } else {
            Err(Error::SchemaViolations {
                field: "results".to_owned(),
                violations,
            })
        }
    }

    /// The oldest REGISTERED jobs (TopChef's queue shows ten).
    pub async fn queue(&self, service_id: &ServiceId, limit: i64) -> Result<Vec<Job>> {
        let service = self.get_service(service_id).await?;
        self.repo
            .registered_jobs(&service.id, limit.clamp(1, self.limits.max_page_size))
            .await
    }

    pub async fn claim(&self, service_id: &ServiceId, max: i64, lease_seconds: i64) -> Result<Vec<Job>> {
        let service = self.get_service(service_id).await?;
        if max < 1 || max > self.limits.max_claim {
            return Err(Error::invalid(
                "max_jobs",
                format!("must be between 1 and {}", self.limits.max_claim),
            ));
        }
        let lease = if lease_seconds == 0 {
            service.lease_seconds
        } else {
            self.check_lease(lease_seconds)?
        };
        let now = now_micros();
        let mut tx = self.repo.begin().await?;
        let jobs = tx.claim_jobs(&service.id, max, now + lease * 1_000_000, now).await?;
        tx.commit().await?;
        self.publish(&jobs);
        Ok(jobs)
    }

    pub async fn extend_lease(&self, job_id: &JobId, token: &str, lease_seconds: i64) -> Result<Job> {
        let job = self.get_job(job_id).await?;
        let lease = if lease_seconds == 0 {
            self.get_service(&job.service_id).await?.lease_seconds
        } else {
            self.check_lease(lease_seconds)?
        };
        let now = now_micros();
        let mut tx = self.repo.begin().await?;
        let extended = tx.extend_lease(&job.id, token, now + lease * 1_000_000, now).await?;
        tx.commit().await?;
        extended.ok_or_else(|| stale(&job))
    }

    pub async fn complete(&self, job_id: &JobId, token: &str, results: &str) -> Result<Job> {
        let job = self.get_job(job_id).await?;
        if job.lease_token.as_deref() != Some(token) || job.status != JobStatus::Working {
            return Err(stale(&job));
        }
        let results = self.validated_results(&job, results).await?;
        let mut tx = self.repo.begin().await?;
        let done = tx.complete_job(&job.id, token, &results, now_micros()).await?;
        tx.commit().await?;
        let done = done.ok_or_else(|| stale(&job))?;
        self.publish(std::slice::from_ref(&done));
        Ok(done)
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
        let ids: Vec<JobId> = items.iter().map(|c| c.id.clone()).collect();
        let jobs: std::collections::HashMap<JobId, Job> = self
            .repo
            .get_jobs(&ids)
            .await?
            .into_iter()
            .map(|j| (j.id.clone(), j))
            .collect();
        let mut outcomes: Vec<Option<Result<Job>>> = Vec::with_capacity(items.len());
        let mut writes = Vec::new();
        let mut write_slots = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let Some(job) = jobs.get(&item.id) else {
                outcomes.push(Some(Err(Error::JobNotFound(item.id.to_string()))));
                continue;
            };
            if job.lease_token.as_deref() != Some(item.lease_token.as_str()) || job.status != JobStatus::Working {
                outcomes.push(Some(Err(stale(job))));
                continue;
            }
            match self.validated_results(job, &item.results).await {
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
            let mut tx = self.repo.begin().await?;
            let written = tx.complete_jobs(&writes, now_micros()).await?;
            tx.commit().await?;
            written
        };
        for ((slot, write), done) in write_slots.into_iter().zip(&writes).zip(written) {
            outcomes[slot] = Some(match done {
                Some(job) => {
                    self.events.publish(&job);
                    Ok(job)
                }
                None => Err(jobs
                    .get(&write.id)
                    .map_or_else(|| Error::JobNotFound(write.id.to_string()), stale)),
            });
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::Internal("lost outcome".into()))))
            .collect())
    }

    pub async fn fail(&self, job_id: &JobId, token: &str, message: &str, mode: FailMode) -> Result<Job> {
        let job = self.get_job(job_id).await?;
        let message = if message.trim().is_empty() {
            "failed without a message"
        } else {
            message
        };
        let mut tx = self.repo.begin().await?;
        let failed = tx.fail_job(&job.id, token, message, mode, now_micros()).await?;
        tx.commit().await?;
        let failed = failed.ok_or_else(|| stale(&job))?;
        self.publish(std::slice::from_ref(&failed));
        Ok(failed)
    }

    pub async fn cancel(&self, job_id: &JobId) -> Result<Job> {
        let job = self.get_job(job_id).await?;
        let mut tx = self.repo.begin().await?;
        let cancelled = tx.cancel_job(&job.id, now_micros()).await?;
        tx.commit().await?;
        let cancelled = cancelled.ok_or_else(|| {
            Error::FailedPrecondition(format!("job {} is {} and cannot be cancelled", job.id, job.status))
        })?;
        self.publish(std::slice::from_ref(&cancelled));
        Ok(cancelled)
    }

    /// Returns expired leases to the queue; run periodically by the reaper.
    pub async fn expire_leases(&self) -> Result<usize> {
        let mut tx = self.repo.begin().await?;
        let jobs = tx.expire_leases(now_micros()).await?;
        tx.commit().await?;
        crate::metrics::LEASE_EXPIRIES
            .with_label_values(&[] as &[&str])
            .inc_by(jobs.len() as u64);
        for job in &jobs {
            tracing::info!(job_id = %job.id, status = %job.status, attempts = job.attempts, "lease expired");
        }
        self.publish(&jobs);
        Ok(jobs.len())
    }
}

fn stale(job: &Job) -> Error {
    Error::StaleLease(format!(
        "the lease token is not the current lease of job {} (status {})",
        job.id, job.status
    ))
}
