//! Storage for job-queue: a SQLite and a PostgreSQL implementation of one pair
//! of traits. All SQL lives in this folder.
//!
//! The service owns transaction boundaries: [`Repository::begin`] hands out a
//! [`Transaction`] whose methods run the writes, and nothing is visible to
//! others until [`Transaction::commit`]; dropping it rolls back. Read-only
//! calls go straight to the pool.

mod postgres;
mod queries;
mod rows;
mod sqlite;

use async_trait::async_trait;

use crate::domain::{Job, JobId, JobStatus, Service, ServiceId, ServiceRevision};
use crate::error::Result;

pub use postgres::PostgresRepository;
pub use sqlite::SqliteRepository;

/// A message waiting in the transactional outbox.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct OutboxEntry {
    pub id: String,
    pub topic: String,
    pub payload: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub created: i64,
}

/// How a leased job ends when its worker reports failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// ERROR at once.
    Final,
    /// Back to REGISTERED while attempts remain.
    Retry,
    /// Back to REGISTERED without counting an attempt.
    Release,
}

/// A job type as recipe-types names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JobTypeKey {
    pub name: String,
    pub version: String,
    pub revision: i64,
}

/// One revision of a service, found by its [`JobTypeKey`].
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedJobType {
    pub key: JobTypeKey,
    pub service_id: ServiceId,
    pub description: String,
    /// The service's current revision.
    pub latest_revision: i64,
    pub job_registration_schema: String,
    pub job_result_schema: String,
}

/// One job's completion in a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    pub id: JobId,
    pub lease_token: String,
    pub results: String,
}

/// The database: read-only queries and the start of write transactions.
#[async_trait]
pub trait Repository: Send + Sync + 'static {
    /// Applies the embedded migrations; safe to run again.
    async fn migrate(&self) -> Result<()>;
    /// Cheap round trip, for readiness.
    async fn ping(&self) -> Result<()>;
    /// Starts a write transaction (on SQLite it takes the write lock at once,
    /// so concurrent writers queue instead of failing).
    async fn begin(&self) -> Result<Box<dyn Transaction>>;

    async fn get_service(&self, id: &ServiceId) -> Result<Option<Service>>;
    async fn find_service(&self, name: &str, version: &str) -> Result<Option<Service>>;
    /// Services in creation order, after the given position; returns (position, service).
    async fn list_services(&self, after: i64, limit: i64) -> Result<Vec<(i64, Service)>>;
    async fn get_revision(&self, service_id: &ServiceId, revision: i64) -> Result<Option<ServiceRevision>>;
    /// Every key's revision that exists, in one query; missing keys are left out.
    async fn resolve_job_types(&self, keys: &[JobTypeKey]) -> Result<Vec<ResolvedJobType>>;

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>>;
    /// The jobs with these ids that exist, in no particular order.
    async fn get_jobs(&self, ids: &[JobId]) -> Result<Vec<Job>>;
    /// Jobs in submission order after position `after` (`seq`), of one service or all.
    async fn list_jobs(&self, service_id: Option<&ServiceId>, after: i64, limit: i64) -> Result<Vec<Job>>;
    /// The oldest REGISTERED jobs of a service.
    async fn registered_jobs(&self, service_id: &ServiceId, limit: i64) -> Result<Vec<Job>>;

    /// (service id, status, count) over all jobs, for metrics.
    async fn job_counts(&self) -> Result<Vec<(ServiceId, JobStatus, i64)>>;
    async fn outbox_backlog(&self) -> Result<i64>;
    async fn due_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxEntry>>;
    /// (open connections, idle connections) of the pool.
    fn pool_stats(&self) -> (u32, usize);
}

/// One write transaction. Dropped without [`commit`](Transaction::commit), it rolls back.
#[async_trait]
pub trait Transaction: Send {
    async fn commit(self: Box<Self>) -> Result<()>;

    /// Inserts a new service row (its revisions are inserted separately).
    async fn insert_service(&mut self, service: &Service) -> Result<()>;
    /// Writes `service` over the stored row if that row still has
    /// `service.row_version`, bumping the version; `None` when the row changed
    /// underneath (or vanished). Returns the row as stored.
    async fn update_service(&mut self, service: &Service) -> Result<Option<Service>>;
    /// Sets the check-in time (bumping the row version); false when the service is missing.
    async fn check_in(&mut self, id: &ServiceId, at: i64) -> Result<bool>;
    async fn insert_revision(&mut self, revision: &ServiceRevision) -> Result<()>;

    async fn insert_outbox(&mut self, entry: &OutboxEntry) -> Result<()>;
    async fn delete_outbox(&mut self, id: &str) -> Result<()>;
    async fn reschedule_outbox(&mut self, id: &str, next_attempt_at: i64) -> Result<()>;

    async fn insert_jobs(&mut self, jobs: &[Job]) -> Result<()>;
    /// TopChef's free update; revokes any lease.
    async fn update_job(
        &mut self,
        id: &JobId,
        status: Option<JobStatus>,
        results: Option<&str>,
        now: i64,
    ) -> Result<Option<Job>>;
    /// Leases up to `max` of the oldest REGISTERED jobs, each with its own token.
    async fn claim_jobs(
        &mut self,
        service_id: &ServiceId,
        max: i64,
        lease_expires_at: i64,
        now: i64,
    ) -> Result<Vec<Job>>;
    /// Moves the expiry of a live lease; `None` when the token is not current.
    async fn extend_lease(&mut self, id: &JobId, token: &str, lease_expires_at: i64, now: i64) -> Result<Option<Job>>;
    /// COMPLETED with results, only under the current live lease.
    async fn complete_job(&mut self, id: &JobId, token: &str, results: &str, now: i64) -> Result<Option<Job>>;
    /// Several completions; `None` where the lease is not current.
    async fn complete_jobs(&mut self, items: &[Completion], now: i64) -> Result<Vec<Option<Job>>>;
    async fn fail_job(
        &mut self,
        id: &JobId,
        token: &str,
        message: &str,
        mode: FailMode,
        now: i64,
    ) -> Result<Option<Job>>;
    /// Cancels a REGISTERED or WORKING job; `None` when it is in another state or missing.
    async fn cancel_job(&mut self, id: &JobId, now: i64) -> Result<Option<Job>>;
    /// Returns expired leases to REGISTERED (attempts + 1) or ERROR after max_attempts.
    async fn expire_leases(&mut self, now: i64) -> Result<Vec<Job>>;
}

/// Jobs a claim returned, in queue order (RETURNING promises no order).
fn by_queue_order(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort_by_key(|j| (j.date_submitted, j.seq));
    jobs
}

/// Each item's job, or `None` where its completion was not written.
fn in_request_order(items: &[Completion], done: Vec<Job>) -> Vec<Option<Job>> {
    let mut done: std::collections::HashMap<JobId, Job> = done.into_iter().map(|j| (j.id.clone(), j)).collect();
    items.iter().map(|c| done.remove(&c.id)).collect()
}

/// Rows per multi-row statement: parameters per row times this stays far below
/// both drivers' limits.
const CHUNK: usize = 500;

fn own_table(migrator: &'static sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    brigade_common::db::migrator(migrator, "_brigade_job_queue_migrations")
}
