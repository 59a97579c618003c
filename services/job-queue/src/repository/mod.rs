//! Storage for job-queue: a SQLite and a PostgreSQL implementation of one pair
//! of traits. All SQL lives in this folder.
//!
//! The service owns transaction boundaries: [`Repository::begin`] hands out a
//! [`Transaction`] whose methods run the writes, and nothing is visible to
//! others until [`Transaction::commit`]; dropping it rolls back. Read-only
//! calls go straight to the pool, and a few hot writes that are whole by
//! themselves ([`Repository::insert_jobs`], [`Repository::claim_started`])
//! are one call, so a driver can make them one statement.

mod postgres;
mod queries;
mod rows;
mod sqlite;
mod tokens;

use std::collections::HashMap;

use async_trait::async_trait;

use crate::domain::{AttemptOutcome, Job, JobAttempt, JobId, JobStatus, Service, ServiceId, ServiceRevision, notice};
use crate::error::{Error, Result};

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

/// Which jobs a list or a bulk operation touches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobFilter {
    /// `None`: every service (lists only; bulk operations always name one).
    pub service_id: Option<ServiceId>,
    /// Empty: every status.
    pub statuses: Vec<JobStatus>,
    /// Submitted at or after.
    pub since: Option<i64>,
    /// Submitted before.
    pub until: Option<i64>,
}

impl JobFilter {
    /// The statuses as the queries match them: `,A,B,`, or empty for all.
    fn status_list(&self) -> String {
        if self.statuses.is_empty() {
            return String::new();
        }
        let mut list = String::from(",");
        for status in &self.statuses {
            list.push_str(status.as_str());
            list.push(',');
        }
        list
    }
}

/// One service's jobs in numbers, from one grouped query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub registered: i64,
    pub working: i64,
    pub completed: i64,
    pub error: i64,
    /// REGISTERED with `due_at` still ahead.
    pub due_later: i64,
    /// COMPLETED within the last minute and the last hour.
    pub completed_last_minute: i64,
    pub completed_last_hour: i64,
}

/// Microseconds in a minute and an hour, the throughput windows.
const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;

/// A lease past its expiry and its service's backoff policy.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpiredLease {
    pub job: Job,
    pub retry_backoff_base_ms: i64,
    pub retry_backoff_cap_ms: i64,
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
    /// Stores new jobs, all or none, in a transaction of their own: a single
    /// statement when they fit in one (no `BEGIN`/`COMMIT` round trips).
    async fn insert_jobs(&self, jobs: &[Job]) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.insert_jobs(jobs).await?;
        tx.commit().await
    }
    /// Whole completions: writes each completion under its live lease (as
    /// [`Transaction::complete_jobs`]), ends those jobs' running attempts and
    /// queues the recipe jobs' status notices, in one transaction (one
    /// statement on PostgreSQL when the batch fits in one). Gives the jobs in
    /// request order (`None` where the lease was not current) and, by job id,
    /// when each ended attempt was claimed.
    async fn complete_finished(
        &self,
        items: &[Completion],
        now: i64,
    ) -> Result<(Vec<Option<Job>>, HashMap<String, i64>)> {
        complete_finished_in_steps(self, items, now).await
    }
    /// A whole claim of a service without a concurrency limit: leases up to
    /// `max` due jobs as [`Transaction::claim_jobs`] does, starts their
    /// attempts for `worker_id` and queues each recipe job's status notice,
    /// in one transaction (one statement on PostgreSQL). In queue order.
    async fn claim_started(
        &self,
        service_id: &ServiceId,
        max: i64,
        lease_expires_at: i64,
        now: i64,
        worker_id: &str,
    ) -> Result<Vec<Job>> {
        let mut tx = self.begin().await?;
        let jobs = tx
            .claim_jobs(service_id, max, false, lease_expires_at, now, worker_id)
            .await?;
        if !jobs.is_empty() {
            tx.insert_notices(&jobs, now).await?;
        }
        tx.commit().await?;
        Ok(jobs)
    }

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
    async fn list_jobs(&self, filter: &JobFilter, after: i64, limit: i64) -> Result<Vec<Job>>;
    /// Every attempt of a job, oldest first.
    async fn attempts(&self, id: &JobId) -> Result<Vec<JobAttempt>>;
    /// One service's jobs counted by status, due later and recently completed, as of `now`.
    async fn queue_counts(&self, service_id: &ServiceId, now: i64) -> Result<QueueCounts>;
    /// REGISTERED jobs whose due time is still ahead, for metrics.
    async fn not_due_count(&self, now: i64) -> Result<i64>;
    /// The oldest outbox entries, due or not.
    async fn oldest_outbox(&self, limit: i64) -> Result<Vec<OutboxEntry>>;
    /// The oldest REGISTERED jobs of a service.
    async fn registered_jobs(&self, service_id: &ServiceId, limit: i64) -> Result<Vec<Job>>;

    /// (service id, status, count) over all jobs, for metrics.
    async fn job_counts(&self) -> Result<Vec<(ServiceId, JobStatus, i64)>>;
    async fn outbox_backlog(&self) -> Result<i64>;
    async fn due_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxEntry>>;
    /// (open connections, idle connections) of the pool.
    fn pool_stats(&self) -> (u32, usize);

    /// Stores a new token (its hash only).
    async fn insert_token(&self, record: &brigade_common::auth::TokenRecord) -> Result<()>;
    /// Tokens in creation order; revoked ones only when asked for.
    async fn list_tokens(&self, include_revoked: bool) -> Result<Vec<brigade_common::auth::TokenRecord>>;
    /// The token with this hash (hex) unless it is revoked.
    async fn active_token(&self, hash_hex: &str) -> Result<Option<brigade_common::auth::TokenRecord>>;
    /// Marks a token revoked at `at` (kept if already revoked); `None` when no such id.
    async fn revoke_token(&self, id: &str, at: i64) -> Result<Option<brigade_common::auth::TokenRecord>>;
    /// Records a use at `at` unless one after `unless_after` is already stored.
    async fn touch_token(&self, id: &str, at: i64, unless_after: i64) -> Result<()>;
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
    /// Tells the other replicas, when this transaction commits, that the
    /// service changed (PostgreSQL's `NOTIFY`; a single SQLite process has no
    /// one to tell).
    async fn announce_service_change(&mut self, _id: &ServiceId) -> Result<()> {
        Ok(())
    }
    /// Sets the check-in time (bumping the row version); false when the service is missing.
    async fn check_in(&mut self, id: &ServiceId, at: i64) -> Result<bool>;
    async fn insert_revision(&mut self, revision: &ServiceRevision) -> Result<()>;
    /// A check-in that leaves the row version alone and never moves the clock back.
    async fn touch_service(&mut self, id: &ServiceId, at: i64) -> Result<()>;
    /// Reads the service and, on PostgreSQL, locks its row until the end of the
    /// transaction, so claims of one service take turns.
    async fn lock_service(&mut self, id: &ServiceId) -> Result<Option<Service>>;
    async fn working_count(&mut self, service_id: &ServiceId) -> Result<i64>;
    /// The service's jobs stored under any of these keys, in one statement per chunk.
    async fn jobs_by_keys(&mut self, service_id: &ServiceId, keys: &[&str]) -> Result<Vec<Job>>;

    /// Queues the entries in their order, in one statement per chunk.
    async fn insert_outbox_all(&mut self, entries: &[OutboxEntry]) -> Result<()>;
    async fn insert_outbox(&mut self, entry: &OutboxEntry) -> Result<()> {
        self.insert_outbox_all(std::slice::from_ref(entry)).await
    }
    /// Queues a status notice for each recipe job among `jobs`, in one
    /// statement, so a committed change is always announced; other jobs are
    /// skipped.
    async fn insert_notices(&mut self, jobs: &[Job], now: i64) -> Result<()> {
        let entries = notice::entries(jobs, now).map_err(|e| Error::Internal(format!("notice encoding: {e}")))?;
        if entries.is_empty() {
            return Ok(());
        }
        self.insert_outbox_all(&entries).await
    }
    async fn delete_outbox(&mut self, id: &str) -> Result<()>;
    /// Deletes the entries, in one statement per chunk.
    async fn delete_outbox_all(&mut self, ids: &[&str]) -> Result<()>;
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
    /// Leases up to `max` due REGISTERED jobs (higher priority first, then
    /// oldest), each with its own token, counting a delivery and starting a
    /// RUNNING attempt by `worker_id`. Nothing while the stored service is
    /// paused, nor while it has a concurrency limit unless `within_limit` (the
    /// caller locked the service and bounded `max` by it).
    async fn claim_jobs(
        &mut self,
        service_id: &ServiceId,
        max: i64,
        within_limit: bool,
        lease_expires_at: i64,
        now: i64,
        worker_id: &str,
    ) -> Result<Vec<Job>>;
    /// Ends the job's running attempt, if it has one; returns when it was claimed.
    async fn finish_attempt(
        &mut self,
        id: &JobId,
        outcome: AttemptOutcome,
        error_message: Option<&str>,
        now: i64,
    ) -> Result<Option<i64>>;
    /// Ends the running attempts of several jobs with one outcome and no
    /// message; returns (job id, claimed) for each attempt it ended.
    async fn finish_attempts(&mut self, ids: &[JobId], outcome: AttemptOutcome, now: i64)
    -> Result<Vec<(String, i64)>>;
    /// Moves the expiry of a live lease and records progress; `None` when the token is not current.
    async fn extend_lease(
        &mut self,
        id: &JobId,
        token: &str,
        lease_expires_at: i64,
        now: i64,
        progress: Option<i32>,
        progress_message: Option<&str>,
    ) -> Result<Option<Job>>;
    /// COMPLETED with results, each only under its current live lease;
    /// `None` where the lease is not current.
    async fn complete_jobs(&mut self, items: &[Completion], now: i64) -> Result<Vec<Option<Job>>>;
    async fn fail_job(
        &mut self,
        id: &JobId,
        token: &str,
        message: &str,
        mode: FailMode,
        due_at: Option<i64>,
        now: i64,
    ) -> Result<Option<Job>>;
    /// Cancels a REGISTERED or WORKING job; `None` when it is in another state or missing.
    async fn cancel_job(&mut self, id: &JobId, reason: &str, now: i64) -> Result<Option<Job>>;
    /// Cancels the REGISTERED and WORKING jobs the filter matches.
    async fn cancel_jobs(&mut self, filter: &JobFilter, reason: &str, now: i64) -> Result<Vec<Job>>;
    /// ERROR back to REGISTERED with a fresh attempt budget; `None` when not ERROR.
    async fn retry_job(&mut self, id: &JobId, now: i64) -> Result<Option<Job>>;
    /// Retries the ERROR jobs the filter matches.
    async fn retry_jobs(&mut self, filter: &JobFilter, now: i64) -> Result<Vec<Job>>;
    /// Deletes a finished job and its attempts; false when it is not finished (or missing).
    async fn delete_job(&mut self, id: &JobId) -> Result<bool>;
    /// Deletes up to `limit` finished jobs last written before `before`; returns how many.
    async fn purge_finished(&mut self, before: i64, limit: i64) -> Result<u64>;
    /// Leases past their expiry (at most `limit`).
    async fn expired_leases(&mut self, now: i64, limit: i64) -> Result<Vec<ExpiredLease>>;
    /// Ends one expired lease: REGISTERED due at `due_at` while attempts remain, else ERROR.
    async fn expire_lease(&mut self, id: &JobId, token: &str, due_at: i64, now: i64) -> Result<Option<Job>>;
}

/// Jobs a claim returned, in queue order (RETURNING promises no order).
/// [`Repository::complete_finished`] as a transaction of one statement per step.
pub(crate) async fn complete_finished_in_steps<R: Repository + ?Sized>(
    repo: &R,
    items: &[Completion],
    now: i64,
) -> Result<(Vec<Option<Job>>, HashMap<String, i64>)> {
    let mut tx = repo.begin().await?;
    let written = tx.complete_jobs(items, now).await?;
    let done: Vec<Job> = written.iter().flatten().cloned().collect();
    let ids: Vec<JobId> = done.iter().map(|j| j.id.clone()).collect();
    let claimed = tx
        .finish_attempts(&ids, AttemptOutcome::Completed, now)
        .await?
        .into_iter()
        .collect();
    tx.insert_notices(&done, now).await?;
    tx.commit().await?;
    Ok((written, claimed))
}

fn by_queue_order(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort_by_key(|j| (std::cmp::Reverse(j.priority), j.date_submitted, j.seq));
    jobs
}

/// Each item's job, or `None` where its completion was not written.
fn in_request_order(items: &[Completion], done: Vec<Job>) -> Vec<Option<Job>> {
    let mut done: std::collections::HashMap<JobId, Job> = done.into_iter().map(|j| (j.id.clone(), j)).collect();
    items.iter().map(|c| done.remove(&c.id)).collect()
}

/// Rows per multi-row statement: parameters per row times this stays far below
/// both drivers' limits.
pub(crate) const CHUNK: usize = 500;

fn own_table(migrator: &'static sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    brigade_common::db::migrator(migrator, "_brigade_job_queue_migrations")
}
