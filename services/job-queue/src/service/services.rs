//! Services (job types): create, read, update under a row version, check in,
//! revisions and the notices they send to recipe-types.

use std::sync::Arc;

use super::{JobQueue, NewService, OUTBOX_TOPIC_REVISION, Page, RevisionNotice, UPDATE_ATTEMPTS, parse_token};
use crate::domain::{self, RowVersion, Service, ServiceId, ServicePatch, ServiceRevision, now_micros};
use crate::error::{Error, Result};
use crate::repository::{JobTypeKey, OutboxEntry, ResolvedJobType};

impl JobQueue {
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
        let max_concurrency = new.max_concurrency.map(check_concurrency).transpose()?;
        let base = check_backoff(
            "retry_backoff_base_ms",
            new.retry_backoff_base_ms
                .unwrap_or(domain::DEFAULT_RETRY_BACKOFF_BASE_MS),
        )?;
        let cap = check_backoff(
            "retry_backoff_cap_ms",
            new.retry_backoff_cap_ms.unwrap_or(domain::DEFAULT_RETRY_BACKOFF_CAP_MS),
        )?;
        check_backoff_order(base, cap)?;
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
            max_concurrency,
            paused: new.paused,
            retry_backoff_base_ms: base,
            retry_backoff_cap_ms: cap,
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

    /// The service for a worker's or submitter's call: from this process's
    /// cache when it is there (see `cache.rs` for how it stays fresh).
    pub async fn cached_service(&self, id: &ServiceId) -> Result<Arc<Service>> {
        let cache = self.events.services();
        if let Some(service) = cache.get(id) {
            return Ok(service);
        }
        let generation = cache.generation();
        let service = Arc::new(self.get_service(id).await?);
        cache.store(generation, service.clone());
        Ok(service)
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
            check_backoff_order(next.retry_backoff_base_ms, next.retry_backoff_cap_ms)?;
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
            tx.announce_service_change(&stored.id).await?;
            tx.commit().await?;
            self.events.services().invalidate(&stored.id);
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
            max_concurrency: patch
                .max_concurrency
                .map(|limit| limit.map(check_concurrency).transpose())
                .transpose()?,
            paused: patch.paused,
            retry_backoff_base_ms: patch
                .retry_backoff_base_ms
                .map(|ms| check_backoff("retry_backoff_base_ms", ms))
                .transpose()?,
            retry_backoff_cap_ms: patch
                .retry_backoff_cap_ms
                .map(|ms| check_backoff("retry_backoff_cap_ms", ms))
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
        self.events.services().invalidate(id);
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

    /// Forgets an outbox entry recipe-types acknowledged.
    pub async fn outbox_delivered(&self, id: &str) -> Result<()> {
        let mut tx = self.repo.begin().await?;
        tx.delete_outbox(id).await?;
        tx.commit().await
    }

    /// Forgets outbox entries recipe-types acknowledged, in one transaction.
    pub async fn outbox_delivered_all(&self, ids: &[&str]) -> Result<()> {
        let mut tx = self.repo.begin().await?;
        tx.delete_outbox_all(ids).await?;
        tx.commit().await
    }

    /// Counts a failed delivery and schedules the next try.
    pub async fn outbox_retry_at(&self, id: &str, next_attempt_at: i64) -> Result<()> {
        let mut tx = self.repo.begin().await?;
        tx.reschedule_outbox(id, next_attempt_at).await?;
        tx.commit().await
    }

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

fn check_concurrency(limit: i32) -> Result<i32> {
    if (1..=1_000_000).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::invalid("max_concurrency", "must be between 1 and 1000000"))
    }
}

/// Backoff times are milliseconds up to a day.
fn check_backoff(field: &str, ms: i64) -> Result<i64> {
    if (0..=86_400_000).contains(&ms) {
        Ok(ms)
    } else {
        Err(Error::invalid(field, "must be between 0 and 86400000 milliseconds"))
    }
}

fn check_backoff_order(base: i64, cap: i64) -> Result<()> {
    if base <= cap {
        Ok(())
    } else {
        Err(Error::invalid(
            "retry_backoff_cap_ms",
            "must not be less than retry_backoff_base_ms",
        ))
    }
}
