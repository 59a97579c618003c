//! Storage for job-queue: one trait, a SQLite and a PostgreSQL implementation.
//!
//! Each method is one transaction, so the service above never sees a half-done
//! change. All SQL lives in this folder.

mod sql;

use async_trait::async_trait;

use crate::domain::{Job, Service, ServiceRevision};
use crate::error::Result;

pub use sql::{PostgresRepository, SqliteRepository};

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

#[async_trait]
pub trait Repository: Send + Sync + 'static {
    /// Applies the embedded migrations; safe to run again.
    async fn migrate(&self) -> Result<()>;
    /// Cheap round trip, for readiness.
    async fn ping(&self) -> Result<()>;

    /// Inserts a service and its revision 1.
    async fn create_service(&self, service: &Service) -> Result<()>;
    async fn get_service(&self, id: &str) -> Result<Option<Service>>;
    async fn find_service(&self, name: &str, version: &str) -> Result<Option<Service>>;
    /// Services in creation order, after the given position; returns (position, service).
    async fn list_services(&self, after: i64, limit: i64) -> Result<Vec<(i64, Service)>>;
    /// Writes `updated` over the row whose revision is `expected_revision`; when the
    /// revision grew, stores the new revision and `notice` in the same transaction.
    /// Returns false when the row changed underneath (or vanished).
    async fn update_service(
        &self,
        updated: &Service,
        expected_revision: i64,
        notice: Option<&OutboxEntry>,
    ) -> Result<bool>;
    async fn check_in(&self, id: &str, at: i64) -> Result<bool>;
    async fn get_revision(&self, service_id: &str, revision: i64) -> Result<Option<ServiceRevision>>;

    /// Inserts all jobs or none.
    async fn insert_jobs(&self, jobs: &[Job]) -> Result<()>;
    async fn get_job(&self, id: &str) -> Result<Option<Job>>;
    /// Jobs in submission order after position `after` (`seq`), of one service or all.
    async fn list_jobs(&self, service_id: Option<&str>, after: i64, limit: i64) -> Result<Vec<Job>>;
    /// The oldest REGISTERED jobs of a service.
    async fn registered_jobs(&self, service_id: &str, limit: i64) -> Result<Vec<Job>>;
    /// TopChef's free update; revokes any lease.
    async fn update_job(&self, id: &str, status: Option<&str>, results: Option<&str>, now: i64) -> Result<Option<Job>>;

    /// Leases up to `max` of the oldest REGISTERED jobs, each with its own token.
    async fn claim_jobs(&self, service_id: &str, max: i64, lease_expires_at: i64, now: i64) -> Result<Vec<Job>>;
    /// Moves the expiry of a live lease; false when the token is not current.
    async fn extend_lease(&self, id: &str, token: &str, lease_expires_at: i64, now: i64) -> Result<Option<Job>>;
    /// COMPLETED with results, only under the current live lease.
    async fn complete_job(&self, id: &str, token: &str, results: &str, now: i64) -> Result<Option<Job>>;
    /// Several completions in one transaction: (id, token, results) each; `None` where the lease is not current.
    async fn complete_jobs(&self, items: &[(String, String, String)], now: i64) -> Result<Vec<Option<Job>>>;
    /// The jobs with these ids that exist, in no particular order.
    async fn get_jobs(&self, ids: &[String]) -> Result<Vec<Job>>;
    async fn fail_job(&self, id: &str, token: &str, message: &str, mode: FailMode, now: i64) -> Result<Option<Job>>;
    /// Cancels a REGISTERED or WORKING job; `None` when it is in another state or missing.
    async fn cancel_job(&self, id: &str, now: i64) -> Result<Option<Job>>;
    /// Returns expired leases to REGISTERED (attempts + 1) or ERROR after max_attempts.
    async fn expire_leases(&self, now: i64) -> Result<Vec<Job>>;

    /// (service id, status, count) over all jobs, for metrics.
    async fn job_counts(&self) -> Result<Vec<(String, String, i64)>>;
    async fn outbox_backlog(&self) -> Result<i64>;
    /// (open connections, idle connections) of the pool.
    fn pool_stats(&self) -> (u32, usize);

    async fn due_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxEntry>>;
    async fn delete_outbox(&self, id: &str) -> Result<()>;
    async fn reschedule_outbox(&self, id: &str, next_attempt_at: i64) -> Result<()>;
}
