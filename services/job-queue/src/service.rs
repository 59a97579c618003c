//! Job-queue rules: what each operation checks and changes. No SQL and no wire
//! types here.

use std::sync::Arc;

use serde_json::Value;

use crate::domain::schema::{self, SchemaCache, SchemaKind};
use crate::domain::{
    self, Job, JobId, JobStatus, RowVersion, Service, ServiceId, ServicePatch, ServiceRevision, now_micros,
};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::repository::{Completion, FailMode, JobTypeKey, OutboxEntry, Repository, ResolvedJobType};

/// TopChef's queue shows at most this many jobs.
pub const QUEUE_PAGE: i64 = 10;
pub const OUTBOX_TOPIC_REVISION: &str = "job_type_revision";
/// How often an update that lost a race with another write is re-applied
/// before the caller is told to retry.
const UPDATE_ATTEMPTS: usize = 5;

/// Bounds on what one request may ask for.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_document_bytes: usize,
    pub max_batch: usize,
    pub max_claim: i64,
    pub max_lease_seconds: i64,
    pub max_page_size: i64,
    pub default_page_size: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: 1 << 20,
            max_batch: 1000,
            max_claim: 1000,
            max_lease_seconds: 24 * 3600,
            max_page_size: 10_000,
            default_page_size: 1000,
        }
    }
}

/// A request for a new service.
#[derive(Clone, Debug, Default)]
pub struct NewService {
    pub name: String,
    pub description: String,
    pub version: Option<String>,
    pub job_registration_schema: String,
    pub job_result_schema: String,
    pub timeout_seconds: Option<i64>,
    pub max_attempts: Option<i32>,
    pub lease_seconds: Option<i64>,
}

/// A page of results and where the next one starts.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

/// The payload of a job-type revision notice in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RevisionNotice {
    pub name: String,
    pub version: String,
    pub revision: i64,
}

pub struct JobQueue {
    repo: Arc<dyn Repository>,
    schemas: SchemaCache,
    events: Events,
    limits: Limits,
}

impl JobQueue {
    pub fn new(repo: Arc<dyn Repository>, events: Events, limits: Limits) -> Self {
        Self {
            repo,
            schemas: SchemaCache::default(),
            events,
            limits,
        }
    }

    pub fn repository(&self) -> &Arc<dyn Repository> {
        &self.repo
    }

    pub fn events(&self) -> &Events {
        &self.events
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn parse_document(&self, field: &str, text: &str) -> Result<Value> {
        if text.len() > self.limits.max_document_bytes {
            return Err(Error::invalid(
                field,
                format!("document is larger than {} bytes", self.limits.max_document_bytes),
            ));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::invalid(field, format!("not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(Error::invalid(field, "must be a JSON object"));
        }
        Ok(value)
    }

    /// Parses and meta-validates a schema; returns its canonical text.
    fn checked_schema(&self, field: &str, text: &str) -> Result<String> {
        let value = self.parse_document(field, text)?;
        schema::compile(&value).map_err(|m| Error::invalid(field, m))?;
        Ok(value.to_string())
    }

    pub async fn create_service(&self, new: NewService) -> Result<Service> {
        let name = checked_name(&new.name)?;
        no_nul("description", &new.description)?;
        let version = new.version.unwrap_or_else(|| domain::DEFAULT_VERSION.to_owned());
        check_version(&version)?;
        let registration = self.checked_schema("job_registration_schema", &new.job_registration_schema)?;
        let result = self.checked_schema("job_result_schema", &new.job_result_schema)?;
        let timeout = check_timeout(new.timeout_seconds.unwrap_or(domain::DEFAULT_TIMEOUT_SECONDS))?;
        let max_attempts = check_max_attempts(new.max_attempts.unwrap_or(domain::DEFAULT_MAX_ATTEMPTS))?;
        let lease = self.check_lease(new.lease_seconds.unwrap_or(domain::DEFAULT_LEASE_SECONDS))?;
        if self.repo.find_service(&name, &version).await?.is_some() {
            return Err(duplicate(&name, &version));
        }
        let now = now_micros();
        let service = Service {
            id: ServiceId::generate(),
            name,
            version,
            description: new.description,
            revision: 1,
            job_registration_schema: registration,
            job_result_schema: result,
            timeout_seconds: timeout,
            is_available: false,
            last_checked_in: now,
            created: now,
            max_attempts,
            lease_seconds: lease,
            row_version: RowVersion::FIRST,
        };
        let first = ServiceRevision {
            service_id: service.id.clone(),
            revision: service.revision,
            job_registration_schema: service.job_registration_schema.clone(),
            job_result_schema: service.job_result_schema.clone(),
            created: now,
        };
        let mut tx = self.repo.begin().await?;
        tx.insert_service(&service)
            .await
            .map_err(|e| duplicate_if_taken(e, &service))?;
        tx.insert_revision(&first).await?;
        tx.commit().await?;
        tracing::info!(service_id = %service.id, name = %service.name, "service created");
        Ok(service)
    }

    pub async fn get_service(&self, id: &ServiceId) -> Result<Service> {
        self.repo
            .get_service(id)
            .await?
            .ok_or_else(|| Error::ServiceNotFound(id.to_string()))
    }

    /// The service named (name, version), if there is one.
    pub async fn find_service(&self, name: &str, version: &str) -> Result<Option<Service>> {
        self.repo.find_service(name, version).await
    }

    pub async fn list_services(&self, page_size: i64, token: &str) -> Result<Page<Service>> {
        let limit = self.page_size(page_size);
        let rows = self.repo.list_services(parse_token(token)?, limit).await?;
        let next = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|(seq, _)| *seq))
            .flatten();
        Ok(Page {
            items: rows.into_iter().map(|(_, s)| s).collect(),
            next,
        })
    }

    /// TopChef's PATCH: every field is checked first, and a bad one changes nothing.
    /// A good request applies its fields and checks the service in.
    ///
    /// The write names the row version it read: when another write got in
    /// between, the service is re-read and the request applied again (and
    /// checked again), so concurrent updates of different fields both land.
    pub async fn update_service(&self, id: &ServiceId, patch: ServicePatch) -> Result<Service> {
        let patch = self.checked_patch(patch)?;
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get_service(id).await?;
            let now = now_micros();
            let next = patch.apply(&current, now);
            if (next.name != current.name || next.version != current.version)
                && self.repo.find_service(&next.name, &next.version).await?.is_some()
            {
                return Err(duplicate(&next.name, &next.version));
            }
            let revised = next.revision != current.revision;
            let mut tx = self.repo.begin().await?;
            let Some(stored) = tx
                .update_service(&next)
                .await
                .map_err(|e| duplicate_if_taken(e, &next))?
            else {
                tracing::debug!(service_id = %id, "service changed during an update; applying again");
                continue;
            };
            if revised {
                tx.insert_revision(&ServiceRevision {
                    service_id: stored.id.clone(),
                    revision: stored.revision,
                    job_registration_schema: stored.job_registration_schema.clone(),
                    job_result_schema: stored.job_result_schema.clone(),
                    created: now,
                })
                .await?;
                tx.insert_outbox(&revision_notice(&stored, now)?).await?;
            }
            tx.commit().await?;
            if revised {
                tracing::info!(service_id = %stored.id, revision = stored.revision, "service revised");
            }
            return Ok(stored);
        }
        Err(Error::Conflict(format!(
            "service {id} kept changing during this update; retry"
        )))
    }

    /// Every field of a patch checked, schemas in canonical text.
    fn checked_patch(&self, patch: ServicePatch) -> Result<ServicePatch> {
        if let Some(description) = &patch.description {
            no_nul("description", description)?;
        }
        if let Some(version) = &patch.version {
            check_version(version)?;
        }
        Ok(ServicePatch {
            is_available: patch.is_available,
            name: patch.name.as_deref().map(checked_name).transpose()?,
            timeout_seconds: patch.timeout_seconds.map(check_timeout).transpose()?,
            max_attempts: patch.max_attempts.map(check_max_attempts).transpose()?,
            lease_seconds: patch.lease_seconds.map(|l| self.check_lease(l)).transpose()?,
            job_registration_schema: patch
                .job_registration_schema
                .map(|t| self.checked_schema("job_registration_schema", &t))
                .transpose()?,
            job_result_schema: patch
                .job_result_schema
                .map(|t| self.checked_schema("job_result_schema", &t))
                .transpose()?,
            description: patch.description,
            version: patch.version,
        })
    }

    pub async fn heartbeat(&self, id: &ServiceId) -> Result<i64> {
        let now = now_micros();
        let mut tx = self.repo.begin().await?;
        let found = tx.check_in(id, now).await?;
        tx.commit().await?;
        if found {
            Ok(now)
        } else {
            Err(Error::ServiceNotFound(id.to_string()))
        }
    }

    pub async fn get_revision(&self, id: &ServiceId, revision: i64) -> Result<ServiceRevision> {
        let service = self.get_service(id).await?;
        self.repo
            .get_revision(&service.id, revision)
            .await?
            .ok_or_else(|| Error::invalid("revision", format!("service {} has no revision {revision}", service.id)))
    }

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

    /// Forgets an outbox entry recipe-types acknowledged.
    pub async fn outbox_delivered(&self, id: &str) -> Result<()> {
        let mut tx = self.repo.begin().await?;
        tx.delete_outbox(id).await?;
        tx.commit().await
    }

    /// Counts a failed delivery and schedules the next try.
    pub async fn outbox_retry_at(&self, id: &str, next_attempt_at: i64) -> Result<()> {
        let mut tx = self.repo.begin().await?;
        tx.reschedule_outbox(id, next_attempt_at).await?;
        tx.commit().await
    }

    /// Validates an arbitrary instance against an arbitrary schema (TopChef's /validator).
    pub fn validate_json(&self, schema_text: &str, instance_text: &str) -> Result<Vec<String>> {
        let schema_value = self.parse_document("schema", schema_text)?;
        if instance_text.len() > self.limits.max_document_bytes {
            return Err(Error::invalid("object", "document is too large"));
        }
        let instance: Value = serde_json::from_str(instance_text)
            .map_err(|e| Error::invalid("object", format!("not valid JSON: {e}")))?;
        let validator = schema::compile(&schema_value).map_err(|m| Error::invalid("schema", m))?;
        Ok(schema::violations(&validator, &instance))
    }

    fn publish(&self, jobs: &[Job]) {
        for job in jobs {
            self.events.publish(job);
        }
    }

    fn page_size(&self, requested: i64) -> i64 {
        if requested <= 0 {
            self.limits.default_page_size
        } else {
            requested.min(self.limits.max_page_size)
        }
    }

    fn check_lease(&self, seconds: i64) -> Result<i64> {
        if (1..=self.limits.max_lease_seconds).contains(&seconds) {
            Ok(seconds)
        } else {
            Err(Error::invalid(
                "lease_seconds",
                format!("must be between 1 and {}", self.limits.max_lease_seconds),
            ))
        }
    }
}

fn stale(job: &Job) -> Error {
    Error::StaleLease(format!(
        "the lease token is not the current lease of job {} (status {})",
        job.id, job.status
    ))
}

fn duplicate(name: &str, version: &str) -> Error {
    Error::AlreadyExists(format!(
        "a service named {name:?} with version {version:?} already exists"
    ))
}

/// An insert that hit the unique (name, version) key means the pair is taken.
fn duplicate_if_taken(e: Error, service: &Service) -> Error {
    match e {
        Error::AlreadyExists(_) => duplicate(&service.name, &service.version),
        other => other,
    }
}

fn revision_notice(service: &Service, now: i64) -> Result<OutboxEntry> {
    let payload = serde_json::to_string(&RevisionNotice {
        name: service.name.clone(),
        version: service.version.clone(),
        revision: service.revision,
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(OutboxEntry {
        id: uuid::Uuid::new_v4().to_string(),
        topic: OUTBOX_TOPIC_REVISION.to_owned(),
        payload,
        attempts: 0,
        next_attempt_at: now,
        created: now,
    })
}

fn parse_token(token: &str) -> Result<i64> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| Error::invalid("page_token", "not a page token this service issued"))
}

/// Text the databases store alike: PostgreSQL cannot hold NUL characters.
fn no_nul(field: &str, text: &str) -> Result<()> {
    if text.contains('\0') {
        Err(Error::invalid(field, "must not contain NUL characters"))
    } else {
        Ok(())
    }
}

fn checked_name(name: &str) -> Result<String> {
    no_nul("name", name)?;
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if trimmed.chars().count() > domain::MAX_NAME_LEN {
        return Err(Error::invalid(
            "name",
            format!("must be at most {} characters", domain::MAX_NAME_LEN),
        ));
    }
    Ok(name.to_owned())
}

fn check_version(version: &str) -> Result<()> {
    if domain::is_valid_version(version) {
        Ok(())
    } else {
        Err(Error::invalid(
            "version",
            "must match ^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$",
        ))
    }
}

fn check_timeout(seconds: i64) -> Result<i64> {
    if seconds >= 1 {
        Ok(seconds)
    } else {
        Err(Error::invalid(
            "timeout",
            "must be an integer number of seconds, at least 1",
        ))
    }
}

fn check_max_attempts(attempts: i32) -> Result<i32> {
    if (1..=100).contains(&attempts) {
        Ok(attempts)
    } else {
        Err(Error::invalid("max_attempts", "must be between 1 and 100"))
    }
}

impl JobQueue {
    /// For each key, its service's revision if both exist; one query for the batch.
    pub async fn resolve_job_types(&self, keys: &[JobTypeKey]) -> Result<Vec<Option<ResolvedJobType>>> {
        let found: std::collections::HashMap<JobTypeKey, ResolvedJobType> = self
            .repo
            .resolve_job_types(keys)
            .await?
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect();
        // A key asked twice is answered twice.
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }
}
