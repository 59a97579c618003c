//! Job-queue storage on SQLite. Write transactions start with `BEGIN
//! IMMEDIATE`, taking the write lock up front, so concurrent writers queue on
//! the busy timeout instead of failing when a read lock cannot be upgraded.

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::queries as q;
use super::rows::{
    self, AttemptRow, CountRow, ExpiredRow, JobRow, ResolvedRow, RevisionRow, ServiceRow, StatusCountRow,
};
use super::tokens;
use super::{
    CHUNK, Completion, ExpiredLease, FailMode, JobFilter, JobTypeKey, OutboxEntry, QueueCounts, Repository,
    ResolvedJobType, Transaction,
};
use crate::domain::{AttemptOutcome, Job, JobAttempt, JobId, JobStatus, Service, ServiceId, ServiceRevision};
use crate::error::{Error, Result};
use brigade_common::auth::TokenRecord;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Starts each claimed job's attempt on its row (`$6` the worker; see migration 1007).
const CLAIM: &str = "UPDATE jq_jobs SET status = 'WORKING', lease_token = lower(hex(randomblob(16))), \
     lease_expires_at = $3, updated = $4, attempts = attempts + 1, due_at = NULL, progress = NULL, \
     progress_message = NULL, row_version = row_version + 1, \
     attempt_number = attempt_number + 1, worker_id = $6, claimed_at = $4 WHERE seq IN (SELECT seq FROM jq_jobs \
     WHERE service_id = $1 AND status = 'REGISTERED' AND (due_at IS NULL OR due_at <= $4) \
     AND EXISTS (SELECT 1 FROM jq_services s WHERE s.id = $1 AND NOT s.paused \
     AND (s.max_concurrency IS NULL OR $5)) \
     ORDER BY priority DESC, date_submitted, seq LIMIT $2) RETURNING *";

/// One multi-row `INSERT` of new jobs (at most [`CHUNK`]).
fn insert_jobs_query(chunk: &[Job]) -> QueryBuilder<Sqlite> {
    let mut insert = QueryBuilder::<Sqlite>::new(q::INSERT_JOBS_PREFIX);
    insert.push_values(chunk, |mut row, j| {
        row.push_bind(j.id.as_str().to_owned())
            .push_bind(j.service_id.as_str().to_owned())
            .push_bind(j.status)
            .push_bind(j.parameters.clone())
            .push_bind(j.results.clone())
            .push_bind(j.date_submitted)
            .push_bind(j.attempts)
            .push_bind(j.max_attempts)
            .push_bind(j.lease_token.clone())
            .push_bind(j.lease_expires_at)
            .push_bind(j.error_message.clone())
            .push_bind(j.service_revision)
            .push_bind(j.cancelled)
            .push_bind(j.updated)
            .push_bind(j.priority)
            .push_bind(j.due_at)
            .push_bind(j.idempotency_key.clone())
            .push_bind(j.recipe_id.clone())
            .push_bind(j.recipe_node.clone())
            .push_bind(j.row_version);
    });
    insert
}

/// Job-queue storage on SQLite.
#[derive(Clone, Debug)]
pub struct SqliteRepository {
    pool: SqlitePool,
}

impl SqliteRepository {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl Repository for SqliteRepository {
    async fn migrate(&self) -> Result<()> {
        super::own_table(&MIGRATIONS)
            .run(&self.pool)
            .await
            .map_err(|e| Error::Internal(format!("migration failed: {e}")))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Box::new(SqliteTransaction { tx }))
    }

    async fn insert_jobs(&self, jobs: &[Job]) -> Result<()> {
        if jobs.len() > CHUNK {
            let mut tx = self.begin().await?;
            tx.insert_jobs(jobs).await?;
            return tx.commit().await;
        }
        insert_jobs_query(jobs).build().execute(&self.pool).await?;
        Ok(())
    }

    async fn get_service(&self, id: &ServiceId) -> Result<Option<Service>> {
        let row: Option<ServiceRow> = sqlx::query_as(q::GET_SERVICE)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Service::from))
    }

    async fn find_service(&self, name: &str, version: &str) -> Result<Option<Service>> {
        let row: Option<ServiceRow> = sqlx::query_as(q::FIND_SERVICE)
            .bind(name)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Service::from))
    }

    async fn list_services(&self, after: i64, limit: i64) -> Result<Vec<(i64, Service)>> {
        let rows: Vec<ServiceRow> = sqlx::query_as(q::LIST_SERVICES)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| (r.seq, Service::from(r))).collect())
    }

    async fn get_revision(&self, service_id: &ServiceId, revision: i64) -> Result<Option<ServiceRevision>> {
        let row: Option<RevisionRow> = sqlx::query_as(q::GET_REVISION)
            .bind(service_id.as_str())
            .bind(revision)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(ServiceRevision::from))
    }

    async fn resolve_job_types(&self, keys: &[JobTypeKey]) -> Result<Vec<ResolvedJobType>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One query for the whole batch (callers send at most a thousand keys).
        let mut query = QueryBuilder::<Sqlite>::new(q::RESOLVE_PREFIX);
        query.push("VALUES ");
        let mut rows = query.separated(", ");
        for key in keys {
            rows.push("(")
                .push_bind_unseparated(key.name.clone())
                .push_unseparated(", ")
                .push_bind_unseparated(key.version.clone())
                .push_unseparated(", ")
                .push_bind_unseparated(key.revision)
                .push_unseparated(")");
        }
        query.push(q::RESOLVE_SUFFIX);
        let found: Vec<ResolvedRow> = query.build_query_as().fetch_all(&self.pool).await?;
        Ok(found.into_iter().map(ResolvedJobType::from).collect())
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(q::GET_JOB)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Job::from))
    }

    async fn get_jobs(&self, ids: &[JobId]) -> Result<Vec<Job>> {
        let mut jobs = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(q::GET_JOBS_PREFIX);
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str().to_owned());
            }
            query.push(")");
            let rows: Vec<JobRow> = query.build_query_as().fetch_all(&self.pool).await?;
            jobs.extend(rows::jobs(rows));
        }
        Ok(jobs)
    }

    async fn list_jobs(&self, filter: &JobFilter, after: i64, limit: i64) -> Result<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(q::LIST_JOBS)
            .bind(filter.service_id.as_ref().map(ServiceId::as_str))
            .bind(after)
            .bind(limit)
            .bind(filter.status_list())
            .bind(filter.since)
            .bind(filter.until)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows::jobs(rows))
    }

    async fn registered_jobs(&self, service_id: &ServiceId, limit: i64) -> Result<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(q::REGISTERED_JOBS)
            .bind(service_id.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows::jobs(rows))
    }

    async fn job_counts(&self) -> Result<Vec<(ServiceId, JobStatus, i64)>> {
        let rows: Vec<CountRow> = sqlx::query_as(q::JOB_COUNTS).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn outbox_backlog(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(q::OUTBOX_BACKLOG).fetch_one(&self.pool).await?;
        Ok(n)
    }

    async fn due_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxEntry>> {
        Ok(sqlx::query_as(q::DUE_OUTBOX)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn attempts(&self, id: &JobId) -> Result<Vec<JobAttempt>> {
        let rows: Vec<AttemptRow> = sqlx::query_as(q::ATTEMPTS)
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(JobAttempt::from).collect())
    }

    async fn queue_counts(&self, service_id: &ServiceId, now: i64) -> Result<QueueCounts> {
        let rows: Vec<StatusCountRow> = sqlx::query_as(q::QUEUE_COUNTS)
            .bind(service_id.as_str())
            .bind(now)
            .bind(now - super::MINUTE)
            .bind(now - super::HOUR)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows::queue_counts(rows))
    }

    async fn not_due_count(&self, now: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(q::NOT_DUE_COUNT).bind(now).fetch_one(&self.pool).await?;
        Ok(n)
    }

    async fn oldest_outbox(&self, limit: i64) -> Result<Vec<OutboxEntry>> {
        Ok(sqlx::query_as(q::OLDEST_OUTBOX)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    async fn insert_token(&self, record: &TokenRecord) -> Result<()> {
        let (scopes, services) = tokens::columns(record)?;
        sqlx::query(tokens::INSERT_TOKEN)
            .bind(&record.id)
            .bind(&record.name)
            .bind(scopes)
            .bind(services)
            .bind(record.hash.to_hex())
            .bind(tokens::micros(record.created_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_tokens(&self, include_revoked: bool) -> Result<Vec<TokenRecord>> {
        let rows: Vec<tokens::TokenRow> = sqlx::query_as(tokens::LIST_TOKENS)
            .bind(include_revoked)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(TokenRecord::try_from).collect()
    }

    async fn active_token(&self, hash_hex: &str) -> Result<Option<TokenRecord>> {
        let row: Option<tokens::TokenRow> = sqlx::query_as(tokens::ACTIVE_TOKEN_BY_HASH)
            .bind(hash_hex)
            .fetch_optional(&self.pool)
            .await?;
        row.map(TokenRecord::try_from).transpose()
    }

    async fn revoke_token(&self, id: &str, at: i64) -> Result<Option<TokenRecord>> {
        let row: Option<tokens::TokenRow> = sqlx::query_as(tokens::REVOKE_TOKEN)
            .bind(id)
            .bind(at)
            .fetch_optional(&self.pool)
            .await?;
        row.map(TokenRecord::try_from).transpose()
    }

    async fn touch_token(&self, id: &str, at: i64, unless_after: i64) -> Result<()> {
        sqlx::query(tokens::TOUCH_TOKEN)
            .bind(id)
            .bind(at)
            .bind(unless_after)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

struct SqliteTransaction {
    tx: sqlx::Transaction<'static, Sqlite>,
}

#[async_trait]
impl Transaction for SqliteTransaction {
    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    async fn insert_service(&mut self, s: &Service) -> Result<()> {
        sqlx::query(q::INSERT_SERVICE)
            .bind(s.id.as_str())
            .bind(&s.name)
            .bind(&s.version)
            .bind(&s.description)
            .bind(s.revision)
            .bind(&s.job_registration_schema)
            .bind(&s.job_result_schema)
            .bind(s.timeout_seconds)
            .bind(s.is_available)
            .bind(s.last_checked_in)
            .bind(s.created)
            .bind(s.max_attempts)
            .bind(s.lease_seconds)
            .bind(s.row_version.0)
            .bind(s.max_concurrency)
            .bind(s.paused)
            .bind(s.retry_backoff_base_ms)
            .bind(s.retry_backoff_cap_ms)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn update_service(&mut self, s: &Service) -> Result<Option<Service>> {
        let row: Option<ServiceRow> = sqlx::query_as(q::UPDATE_SERVICE)
            .bind(s.id.as_str())
            .bind(&s.name)
            .bind(&s.version)
            .bind(&s.description)
            .bind(s.revision)
            .bind(&s.job_registration_schema)
            .bind(&s.job_result_schema)
            .bind(s.timeout_seconds)
            .bind(s.is_available)
            .bind(s.last_checked_in)
            .bind(s.max_attempts)
            .bind(s.lease_seconds)
            .bind(s.row_version.0)
            .bind(s.max_concurrency)
            .bind(s.paused)
            .bind(s.retry_backoff_base_ms)
            .bind(s.retry_backoff_cap_ms)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Service::from))
    }

    async fn check_in(&mut self, id: &ServiceId, at: i64) -> Result<bool> {
        let done = sqlx::query(q::CHECK_IN)
            .bind(id.as_str())
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_revision(&mut self, r: &ServiceRevision) -> Result<()> {
        sqlx::query(q::INSERT_REVISION)
            .bind(r.service_id.as_str())
            .bind(r.revision)
            .bind(&r.job_registration_schema)
            .bind(&r.job_result_schema)
            .bind(r.created)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_outbox_all(&mut self, entries: &[OutboxEntry]) -> Result<()> {
        for chunk in entries.chunks(CHUNK) {
            let mut insert = QueryBuilder::<Sqlite>::new(q::INSERT_OUTBOX_PREFIX);
            insert.push_values(chunk, |mut row, e| {
                row.push_bind(e.id.clone())
                    .push_bind(e.topic.clone())
                    .push_bind(e.payload.clone())
                    .push_bind(e.attempts)
                    .push_bind(e.next_attempt_at)
                    .push_bind(e.created);
            });
            insert.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn delete_outbox(&mut self, id: &str) -> Result<()> {
        sqlx::query(q::DELETE_OUTBOX).bind(id).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn delete_outbox_all(&mut self, ids: &[&str]) -> Result<()> {
        for chunk in ids.chunks(CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(q::DELETE_OUTBOX_PREFIX);
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn reschedule_outbox(&mut self, id: &str, next_attempt_at: i64) -> Result<()> {
        sqlx::query(q::RESCHEDULE_OUTBOX)
            .bind(id)
            .bind(next_attempt_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_jobs(&mut self, jobs: &[Job]) -> Result<()> {
        for chunk in jobs.chunks(CHUNK) {
            insert_jobs_query(chunk).build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn update_job(
        &mut self,
        id: &JobId,
        status: Option<JobStatus>,
        results: Option<&str>,
        now: i64,
    ) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(q::UPDATE_JOB)
            .bind(id.as_str())
            .bind(status)
            .bind(results)
            .bind(now)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Job::from))
    }

    async fn claim_jobs(
        &mut self,
        service_id: &ServiceId,
        max: i64,
        within_limit: bool,
        lease_expires_at: i64,
        now: i64,
        worker_id: &str,
    ) -> Result<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(CLAIM)
            .bind(service_id.as_str())
            .bind(max)
            .bind(lease_expires_at)
            .bind(now)
            .bind(within_limit)
            .bind(worker_id)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(super::by_queue_order(rows::jobs(rows)))
    }

    async fn extend_lease(
        &mut self,
        id: &JobId,
        token: &str,
        lease_expires_at: i64,
        now: i64,
        progress: Option<i32>,
        progress_message: Option<&str>,
    ) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(q::EXTEND_LEASE)
            .bind(id.as_str())
            .bind(token)
            .bind(lease_expires_at)
            .bind(now)
            .bind(progress)
            .bind(progress_message)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Job::from))
    }

    async fn complete_jobs(&mut self, items: &[Completion], now: i64) -> Result<Vec<Option<Job>>> {
        let mut done = Vec::with_capacity(items.len());
        // One statement per chunk: the lease check and the write happen row by row in SQL.
        for chunk in items.chunks(CHUNK) {
            let mut update = QueryBuilder::<Sqlite>::new(q::COMPLETE_JOBS_PREFIX);
            update.push_bind(now);
            update.push(q::COMPLETE_JOBS_FROM);
            update.push_values(chunk, |mut row, c| {
                row.push_bind(c.id.as_str().to_owned())
                    .push_bind(c.lease_token.clone())
                    .push_bind(c.results.clone());
            });
            update.push(q::COMPLETE_JOBS_WHERE);
            update.push_bind(now);
            update.push(q::COMPLETE_JOBS_RETURNING);
            let rows: Vec<JobRow> = update.build_query_as().fetch_all(&mut *self.tx).await?;
            done.extend(rows::jobs(rows));
        }
        Ok(super::in_request_order(items, done))
    }

    async fn fail_job(
        &mut self,
        id: &JobId,
        token: &str,
        message: &str,
        mode: FailMode,
        due_at: Option<i64>,
        now: i64,
    ) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(q::FAIL_JOB)
            .bind(id.as_str())
            .bind(token)
            .bind(message)
            .bind(now)
            .bind(mode == FailMode::Retry)
            .bind(mode == FailMode::Release)
            .bind(due_at)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Job::from))
    }

    async fn cancel_job(&mut self, id: &JobId, reason: &str, now: i64) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(q::CANCEL_JOB)
            .bind(id.as_str())
            .bind(now)
            .bind(reason)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Job::from))
    }

    async fn touch_service(&mut self, id: &ServiceId, at: i64) -> Result<()> {
        sqlx::query(q::TOUCH_SERVICE)
            .bind(id.as_str())
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn lock_service(&mut self, id: &ServiceId) -> Result<Option<Service>> {
        let row: Option<ServiceRow> = sqlx::query_as(q::GET_SERVICE)
            .bind(id.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Service::from))
    }

    async fn working_count(&mut self, service_id: &ServiceId) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(q::WORKING_COUNT)
            .bind(service_id.as_str())
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(n)
    }

    async fn jobs_by_keys(&mut self, service_id: &ServiceId, keys: &[&str]) -> Result<Vec<Job>> {
        let mut jobs = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(q::JOBS_BY_KEYS_PREFIX);
            query.push_bind(service_id.as_str()).push(" AND idempotency_key IN (");
            let mut list = query.separated(", ");
            for key in chunk {
                list.push_bind(*key);
            }
            query.push(")");
            let rows: Vec<JobRow> = query.build_query_as().fetch_all(&mut *self.tx).await?;
            jobs.extend(rows.into_iter().map(Job::from));
        }
        Ok(jobs)
    }

    async fn finish_attempts(
        &mut self,
        ids: &[JobId],
        outcome: AttemptOutcome,
        now: i64,
    ) -> Result<Vec<(String, i64)>> {
        let mut ended = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut update = QueryBuilder::<Sqlite>::new(q::FINISH_ATTEMPTS_PREFIX);
            update.push_bind(now);
            update.push(q::FINISH_ATTEMPTS_OUTCOME);
            update.push_bind(outcome);
            update.push(q::FINISH_ATTEMPTS_WHERE);
            let mut list = update.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str().to_owned());
            }
            update.push(q::FINISH_ATTEMPTS_SUFFIX);
            let rows: Vec<(String, i64)> = update.build_query_as().fetch_all(&mut *self.tx).await?;
            ended.extend(rows);
        }
        Ok(ended)
    }

    async fn finish_attempt(
        &mut self,
        id: &JobId,
        outcome: AttemptOutcome,
        error_message: Option<&str>,
        now: i64,
    ) -> Result<Option<i64>> {
        let claimed: Option<(i64,)> = sqlx::query_as(q::FINISH_ATTEMPT)
            .bind(id.as_str())
            .bind(now)
            .bind(outcome)
            .bind(error_message)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(claimed.map(|(at,)| at))
    }

    async fn cancel_jobs(&mut self, filter: &JobFilter, reason: &str, now: i64) -> Result<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(q::CANCEL_JOBS)
            .bind(filter.service_id.as_ref().map(ServiceId::as_str))
            .bind(filter.status_list())
            .bind(filter.since)
            .bind(filter.until)
            .bind(now)
            .bind(reason)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows::jobs(rows))
    }

    async fn retry_job(&mut self, id: &JobId, now: i64) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(q::RETRY_JOB)
            .bind(id.as_str())
            .bind(now)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Job::from))
    }

    async fn retry_jobs(&mut self, filter: &JobFilter, now: i64) -> Result<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(q::RETRY_JOBS)
            .bind(filter.service_id.as_ref().map(ServiceId::as_str))
            .bind(filter.status_list())
            .bind(filter.since)
            .bind(filter.until)
            .bind(now)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows::jobs(rows))
    }

    async fn delete_job(&mut self, id: &JobId) -> Result<bool> {
        let done = sqlx::query(q::DELETE_JOB)
            .bind(id.as_str())
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(q::DELETE_ATTEMPTS)
            .bind(id.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(true)
    }

    async fn purge_finished(&mut self, before: i64, limit: i64) -> Result<u64> {
        sqlx::query(q::PURGE_ATTEMPTS)
            .bind(before)
            .bind(limit)
            .execute(&mut *self.tx)
            .await?;
        let done = sqlx::query(q::PURGE_JOBS)
            .bind(before)
            .bind(limit)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    async fn expired_leases(&mut self, now: i64, limit: i64) -> Result<Vec<ExpiredLease>> {
        let rows: Vec<ExpiredRow> = sqlx::query_as(q::EXPIRED_LEASES)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows.into_iter().map(ExpiredLease::from).collect())
    }

    async fn expire_lease(&mut self, id: &JobId, token: &str, due_at: i64, now: i64) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(q::EXPIRE_LEASE)
            .bind(id.as_str())
            .bind(token)
            .bind(due_at)
            .bind(now)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Job::from))
    }
}
