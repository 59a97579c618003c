//! Jobs: submission (with idempotency keys), lists, TopChef's free updates.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{JobQueue, Page, Submission, parse_token};
use crate::domain::schema::{self, SchemaKind};
use crate::domain::{AttemptOutcome, Job, JobAttempt, JobId, JobStatus, Service, ServiceId, now_micros};
use crate::error::{Error, Result};
use crate::repository::{CHUNK, JobFilter};

impl JobQueue {
    /// Validates every parameter document first; stores all or none. Each job
    /// comes back with whether it was created (false when its idempotency key
    /// named a job already stored).
    pub async fn submit_jobs(&self, service_id: &ServiceId, submissions: Vec<Submission>) -> Result<Vec<(Job, bool)>> {
        if submissions.is_empty() {
            return Err(Error::invalid("parameters", "at least one job is required"));
        }
        if submissions.len() > self.limits.max_batch {
            return Err(Error::invalid(
                "parameters",
                format!("at most {} jobs per batch", self.limits.max_batch),
            ));
        }
        let service = self.cached_service(service_id).await?;
        let validator = self
            .schemas
            .get_or_compile(
                service.id.as_str(),
                service.revision,
                SchemaKind::Registration,
                &service.job_registration_schema,
            )
            .map_err(Error::Internal)?;
        let single = submissions.len() == 1;
        let mut violations = Vec::new();
        let mut checked = Vec::with_capacity(submissions.len());
        for (index, submission) in submissions.into_iter().enumerate() {
            let field = |name: &str| {
                if single {
                    name.to_owned()
                } else {
                    format!("jobs[{index}].{name}")
                }
            };
            let value = self.parse_document(&field("parameters"), &submission.parameters)?;
            submission.check(&field)?;
            violations.extend(schema::violations(&validator, &value));
            checked.push((value, submission));
        }
        if !violations.is_empty() {
            return Err(Error::SchemaViolations {
                field: "parameters".to_owned(),
                violations,
            });
        }
        if let Some(created) = self.insert_fresh_keys(&service, &checked).await? {
            return Ok(created);
        }
        // A concurrent submit under the same key may win the unique index on
        // PostgreSQL: the second pass then finds its job.
        let mut last = None;
        for _ in 0..2 {
            match self.store_submissions(&service, &checked).await {
                Err(Error::AlreadyExists(m)) => last = Some(Error::AlreadyExists(m)),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| Error::Internal("submit lost its outcome".into())))
    }

    /// Keys are nearly always new (a recipe's next job, a client's first
    /// try), so jobs whose keys are all distinct go straight in, with whatever
    /// else is being submitted (one statement, no read first). `None` when a
    /// key is taken already (a retry, a race) or repeated within the call:
    /// then the keys are looked up first, and nothing of this try was stored.
    async fn insert_fresh_keys(
        &self,
        service: &Service,
        checked: &[(Value, Submission)],
    ) -> Result<Option<Vec<(Job, bool)>>> {
        let keys: HashSet<&str> = checked
            .iter()
            .filter_map(|(_, s)| s.idempotency_key.as_deref())
            .collect();
        let keyed = checked.iter().filter(|(_, s)| s.idempotency_key.is_some()).count();
        if keys.is_empty() || keys.len() != keyed {
            return Ok(None);
        }
        let now = now_micros();
        let jobs = checked
            .iter()
            .map(|(value, submission)| new_job(service, value, submission, now))
            .collect();
        match self.insert_new(jobs).await {
            Ok(jobs) => {
                self.publish(&jobs);
                Ok(Some(jobs.into_iter().map(|job| (job, true)).collect()))
            }
            Err(Error::AlreadyExists(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn store_submissions(&self, service: &Service, checked: &[(Value, Submission)]) -> Result<Vec<(Job, bool)>> {
        let now = now_micros();
        let mut out: Vec<(Job, bool)> = Vec::with_capacity(checked.len());
        let mut new_jobs = Vec::new();
        let mut by_key: HashMap<&str, usize> = HashMap::new();
        // Every key's stored job in one read, not a round trip per job.
        let keys: Vec<&str> = checked
            .iter()
            .filter_map(|(_, s)| s.idempotency_key.as_deref())
            .collect();
        // Without keys there is nothing to read first: the jobs go in on their
        // own (one statement, no transaction round trips).
        let mut tx = if keys.is_empty() {
            None
        } else {
            Some(self.repo.begin().await?)
        };
        let mut stored: HashMap<String, Job> = match tx.as_mut() {
            None => HashMap::new(),
            Some(tx) => tx
                .jobs_by_keys(&service.id, &keys)
                .await?
                .into_iter()
                .filter_map(|job| job.idempotency_key.clone().map(|key| (key, job)))
                .collect(),
        };
        for (value, submission) in checked {
            if let Some(key) = submission.idempotency_key.as_deref() {
                let earlier = match by_key.get(key) {
                    Some(&slot) => Some(out[slot].0.clone()),
                    None => stored.remove(key),
                };
                if let Some(first) = earlier {
                    if !submission.matches(value, &first) {
                        return Err(Error::IdempotencyConflict(format!(
                            "idempotency key {key:?} was used for job {} with a different body",
                            first.id
                        )));
                    }
                    out.push((first, false));
                    continue;
                }
                by_key.insert(key, out.len());
            }
            let job = new_job(service, value, submission, now);
            new_jobs.push(job.clone());
            out.push((job, true));
        }
        // No notice for a new job: its submitter (recipe-types) has it in the
        // answer, and a lost answer is retried under the same key. Every
        // change after this one is announced.
        let new_jobs = match tx {
            Some(mut tx) => {
                tx.insert_jobs(&new_jobs).await?;
                tx.commit().await?;
                new_jobs
            }
            None => self.insert_new(new_jobs).await?,
        };
        self.publish(&new_jobs);
        Ok(out)
    }

    /// Stores new jobs outside a transaction of the caller's: a large batch
    /// alone, a small one with whatever else is being submitted.
    async fn insert_new(&self, jobs: Vec<Job>) -> Result<Vec<Job>> {
        if jobs.len() > CHUNK {
            self.repo.insert_jobs(&jobs).await?;
            return Ok(jobs);
        }
        self.inserts.insert(jobs).await
    }

    pub async fn list_jobs(&self, mut filter: JobFilter, page_size: i64, token: &str) -> Result<Page<Job>> {
        if let Some(id) = &filter.service_id {
            filter.service_id = Some(self.get_service(id).await?.id);
        }
        let limit = self.page_size(page_size);
        let jobs = self.repo.list_jobs(&filter, parse_token(token)?, limit).await?;
        let next = (jobs.len() as i64 == limit)
            .then(|| jobs.last().map(|j| j.seq))
            .flatten();
        Ok(Page { items: jobs, next })
    }

    /// A job with its attempt history.
    pub async fn get_job_detail(&self, id: &JobId) -> Result<(Job, Vec<JobAttempt>)> {
        let job = self.get_job(id).await?;
        let attempts = self.repo.attempts(&job.id).await?;
        Ok((job, attempts))
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
            Some(text) => Some(
                self.validated_results(&job.service_id, job.service_revision, text)
                    .await?,
            ),
            None => None,
        };
        let now = now_micros();
        let mut tx = self.repo.begin().await?;
        let updated = tx.update_job(&job.id, status, results.as_deref(), now).await?;
        let updated = updated.ok_or_else(|| Error::JobNotFound(job.id.to_string()))?;
        if updated.status != JobStatus::Working {
            let outcome = match updated.status {
                JobStatus::Completed => AttemptOutcome::Completed,
                JobStatus::Error => AttemptOutcome::Failed,
                _ => AttemptOutcome::Released,
            };
            tx.finish_attempt(&updated.id, outcome, updated.error_message.as_deref(), now)
                .await?;
        }
        if updated.status != job.status || status.is_some() {
            tx.insert_notices(std::slice::from_ref(&updated), now).await?;
        }
        tx.commit().await?;
        self.publish(std::slice::from_ref(&updated));
        Ok(updated)
    }

    /// Results checked against the result schema of `revision` of the service
    /// (the revision a job was submitted under).
    pub(super) async fn validated_results(&self, service_id: &ServiceId, revision: i64, text: &str) -> Result<String> {
        let value = self.parse_document("results", text)?;
        let validator = match self.schemas.cached(service_id.as_str(), revision, SchemaKind::Result) {
            Some(v) => v,
            None => {
                let (revision, schema_text) = match self.repo.get_revision(service_id, revision).await? {
                    Some(r) => (r.revision, r.job_result_schema),
                    None => {
                        let s = self.get_service(service_id).await?;
                        (s.revision, s.job_result_schema)
                    }
                };
                self.schemas
                    .get_or_compile(service_id.as_str(), revision, SchemaKind::Result, &schema_text)
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
}

/// A new REGISTERED job of the service from a checked submission.
fn new_job(service: &Service, value: &Value, submission: &Submission, now: i64) -> Job {
    Job {
        seq: 0,
        id: JobId::generate(),
        service_id: service.id.clone(),
        status: JobStatus::Registered,
        parameters: value.to_string(),
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
        priority: submission.priority,
        due_at: submission.run_at.filter(|at| *at > now),
        idempotency_key: submission.idempotency_key.clone(),
        recipe_id: submission.recipe_id.clone(),
        recipe_node: submission.recipe_node.clone(),
        progress: None,
        progress_message: None,
        cancel_reason: None,
        row_version: 1,
        applied_token: None,
    }
}
