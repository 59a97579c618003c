//! The SQL behind [`Repository`], written once and instantiated for SQLite and
//! PostgreSQL by a macro. The dialects differ only where they must: how a write
//! transaction starts (SQLite takes the write lock up front with `BEGIN
//! IMMEDIATE`, so concurrent writers queue instead of failing), how a claim
//! skips rows other workers hold (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and
//! how a random lease token is made in SQL.
//!
//! A macro rather than generics: sqlx's generic executor bounds for two drivers
//! would cost more lines than the SQL itself.

use async_trait::async_trait;
use sqlx::migrate::Migrator;

use super::{FailMode, OutboxEntry, Repository};
use crate::domain::{Job, Service, ServiceRevision};
use crate::error::{Error, Result};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

const INSERT_SERVICE: &str = "INSERT INTO jq_services (id, name, version, description, revision, \
     job_registration_schema, job_result_schema, timeout_seconds, is_available, last_checked_in, created, \
     max_attempts, lease_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const INSERT_REVISION: &str = "INSERT INTO jq_service_revisions (service_id, revision, job_registration_schema, \
     job_result_schema, created) VALUES ($1, $2, $3, $4, $5)";
const UPDATE_SERVICE: &str = "UPDATE jq_services SET name = $2, version = $3, description = $4, revision = $5, \
     job_registration_schema = $6, job_result_schema = $7, timeout_seconds = $8, is_available = $9, \
     last_checked_in = $10, max_attempts = $11, lease_seconds = $12 WHERE id = $1 AND revision = $13";
const INSERT_OUTBOX: &str = "INSERT INTO jq_outbox (id, topic, payload, attempts, next_attempt_at, created) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_JOB_PREFIX: &str = "INSERT INTO jq_jobs (id, service_id, status, parameters, results, date_submitted, \
     attempts, max_attempts, lease_token, lease_expires_at, error_message, service_revision, cancelled, updated) ";
/// The columns of a job, unqualified (so RETURNING works after `UPDATE … FROM` on both drivers).
macro_rules! job_columns {
    () => {
        "seq, id, service_id, status, parameters, results, date_submitted, attempts, max_attempts, lease_token, \
         lease_expires_at, error_message, service_revision, cancelled, updated"
    };
}

/// VALUES rows name their columns column1, column2, … on both drivers.
const COMPLETE_JOBS_PREFIX: &str = "UPDATE jq_jobs SET status = 'COMPLETED', results = v.column3, \
     lease_token = NULL, lease_expires_at = NULL, updated = ";

/// Rows per multi-row insert: 14 parameters each stays far below both drivers' limits.
const INSERT_CHUNK: usize = 500;
const UPDATE_JOB: &str = "UPDATE jq_jobs SET status = COALESCE($2, status), results = COALESCE($3, results), \
     lease_token = NULL, lease_expires_at = NULL, updated = $4 WHERE id = $1 RETURNING *";
const EXTEND_LEASE: &str = "UPDATE jq_jobs SET lease_expires_at = $3, updated = $4 \
     WHERE id = $1 AND lease_token = $2 AND status = 'WORKING' AND lease_expires_at > $4 RETURNING *";
const COMPLETE_JOB: &str = "UPDATE jq_jobs SET status = 'COMPLETED', results = $3, lease_token = NULL, \
     lease_expires_at = NULL, updated = $4 \
     WHERE id = $1 AND lease_token = $2 AND status = 'WORKING' AND lease_expires_at > $4 RETURNING *";
const FAIL_JOB: &str = "UPDATE jq_jobs SET \
     status = CASE WHEN $6 THEN 'REGISTERED' WHEN $5 AND attempts + 1 < max_attempts THEN 'REGISTERED' \
         ELSE 'ERROR' END, \
     attempts = CASE WHEN $6 THEN attempts WHEN $5 THEN attempts + 1 ELSE attempts END, \
     error_message = CASE WHEN $6 THEN error_message ELSE $3 END, \
     lease_token = NULL, lease_expires_at = NULL, updated = $4 \
     WHERE id = $1 AND lease_token = $2 AND status = 'WORKING' AND lease_expires_at > $4 RETURNING *";
const CANCEL_JOB: &str = "UPDATE jq_jobs SET status = 'ERROR', cancelled = TRUE, error_message = 'cancelled', \
     lease_token = NULL, lease_expires_at = NULL, updated = $2 \
     WHERE id = $1 AND status IN ('REGISTERED', 'WORKING') RETURNING *";
const EXPIRE_LEASES: &str = "UPDATE jq_jobs SET \
     status = CASE WHEN attempts + 1 < max_attempts THEN 'REGISTERED' ELSE 'ERROR' END, \
     error_message = CASE WHEN attempts + 1 < max_attempts THEN error_message \
         ELSE 'lease expired on the last allowed attempt' END, \
     attempts = attempts + 1, lease_token = NULL, lease_expires_at = NULL, updated = $1 \
     WHERE status = 'WORKING' AND lease_expires_at IS NOT NULL AND lease_expires_at <= $1 RETURNING *";
const SQLITE_CLAIM: &str = "UPDATE jq_jobs SET status = 'WORKING', lease_token = lower(hex(randomblob(16))), \
     lease_expires_at = $3, updated = $4 WHERE seq IN (SELECT seq FROM jq_jobs \
     WHERE service_id = $1 AND status = 'REGISTERED' ORDER BY date_submitted, seq LIMIT $2) RETURNING *";
const POSTGRES_CLAIM: &str = "UPDATE jq_jobs SET status = 'WORKING', lease_token = gen_random_uuid()::text, \
     lease_expires_at = $3, updated = $4 WHERE seq IN (SELECT seq FROM jq_jobs \
     WHERE service_id = $1 AND status = 'REGISTERED' ORDER BY date_submitted, seq LIMIT $2 \
     FOR UPDATE SKIP LOCKED) RETURNING *";

#[derive(sqlx::FromRow)]
struct ServiceWithSeq {
    seq: i64,
    #[sqlx(flatten)]
    service: Service,
}

fn by_queue_order(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.sort_by_key(|j| (j.date_submitted, j.seq));
    jobs
}

macro_rules! sql_repository {
    ($name:ident, $db:ty, $pool:ty, $migrator:expr, $claim:expr, $begin:expr) => {
        /// Job-queue storage on this driver.
        #[derive(Clone, Debug)]
        pub struct $name {
            pool: $pool,
        }

        impl $name {
            pub fn new(pool: $pool) -> Self {
                Self { pool }
            }

            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            async fn write_tx(&self) -> Result<sqlx::Transaction<'static, $db>> {
                Ok($begin(&self.pool).await?)
            }
        }

        #[async_trait]
        impl Repository for $name {
            async fn migrate(&self) -> Result<()> {
                $migrator
                    .run(&self.pool)
                    .await
                    .map_err(|e| Error::Internal(format!("migration failed: {e}")))
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn create_service(&self, s: &Service) -> Result<()> {
                let mut tx = self.write_tx().await?;
                sqlx::query(INSERT_SERVICE)
                    .bind(&s.id)
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
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(INSERT_REVISION)
                    .bind(&s.id)
                    .bind(s.revision)
                    .bind(&s.job_registration_schema)
                    .bind(&s.job_result_schema)
                    .bind(s.created)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_service(&self, id: &str) -> Result<Option<Service>> {
                Ok(sqlx::query_as("SELECT * FROM jq_services WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn find_service(&self, name: &str, version: &str) -> Result<Option<Service>> {
                Ok(
                    sqlx::query_as("SELECT * FROM jq_services WHERE name = $1 AND version = $2")
                        .bind(name)
                        .bind(version)
                        .fetch_optional(&self.pool)
                        .await?,
                )
            }

            async fn list_services(&self, after: i64, limit: i64) -> Result<Vec<(i64, Service)>> {
                let rows: Vec<ServiceWithSeq> =
                    sqlx::query_as("SELECT * FROM jq_services WHERE seq > $1 ORDER BY seq LIMIT $2")
                        .bind(after)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows.into_iter().map(|r| (r.seq, r.service)).collect())
            }

            async fn update_service(
                &self,
                s: &Service,
                expected_revision: i64,
                notice: Option<&OutboxEntry>,
            ) -> Result<bool> {
                let mut tx = self.write_tx().await?;
                let done = sqlx::query(UPDATE_SERVICE)
                    .bind(&s.id)
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
                    .bind(expected_revision)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                if s.revision != expected_revision {
                    sqlx::query(INSERT_REVISION)
                        .bind(&s.id)
                        .bind(s.revision)
                        .bind(&s.job_registration_schema)
                        .bind(&s.job_result_schema)
                        .bind(s.last_checked_in)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(n) = notice {
                    sqlx::query(INSERT_OUTBOX)
                        .bind(&n.id)
                        .bind(&n.topic)
                        .bind(&n.payload)
                        .bind(n.attempts)
                        .bind(n.next_attempt_at)
                        .bind(n.created)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn check_in(&self, id: &str, at: i64) -> Result<bool> {
                let done = sqlx::query("UPDATE jq_services SET last_checked_in = $2 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn get_revision(&self, service_id: &str, revision: i64) -> Result<Option<ServiceRevision>> {
                Ok(
                    sqlx::query_as("SELECT * FROM jq_service_revisions WHERE service_id = $1 AND revision = $2")
                        .bind(service_id)
                        .bind(revision)
                        .fetch_optional(&self.pool)
                        .await?,
                )
            }

            async fn insert_jobs(&self, jobs: &[Job]) -> Result<()> {
                let mut tx = self.write_tx().await?;
                // Multi-row inserts: one round trip per chunk instead of per job.
                for chunk in jobs.chunks(INSERT_CHUNK) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(INSERT_JOB_PREFIX);
                    insert.push_values(chunk, |mut row, j| {
                        row.push_bind(j.id.clone())
                            .push_bind(j.service_id.clone())
                            .push_bind(j.status.clone())
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
                            .push_bind(j.updated);
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn get_job(&self, id: &str) -> Result<Option<Job>> {
                Ok(sqlx::query_as("SELECT * FROM jq_jobs WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn list_jobs(&self, service_id: Option<&str>, after: i64, limit: i64) -> Result<Vec<Job>> {
                let query = sqlx::query_as(
                    "SELECT * FROM jq_jobs WHERE ($1 IS NULL OR service_id = $1) AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(service_id);
                Ok(query.bind(after).bind(limit).fetch_all(&self.pool).await?)
            }

            async fn registered_jobs(&self, service_id: &str, limit: i64) -> Result<Vec<Job>> {
                Ok(sqlx::query_as(
                    "SELECT * FROM jq_jobs WHERE service_id = $1 AND status = 'REGISTERED' \
                     ORDER BY date_submitted, seq LIMIT $2",
                )
                .bind(service_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn update_job(
                &self,
                id: &str,
                status: Option<&str>,
                results: Option<&str>,
                now: i64,
            ) -> Result<Option<Job>> {
                let mut tx = self.write_tx().await?;
                let job = sqlx::query_as(UPDATE_JOB)
                    .bind(id)
                    .bind(status)
                    .bind(results)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(job)
            }

            async fn claim_jobs(
                &self,
                service_id: &str,
                max: i64,
                lease_expires_at: i64,
                now: i64,
            ) -> Result<Vec<Job>> {
                let mut tx = self.write_tx().await?;
                let jobs = sqlx::query_as($claim)
                    .bind(service_id)
                    .bind(max)
                    .bind(lease_expires_at)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(by_queue_order(jobs))
            }

            async fn extend_lease(
                &self,
                id: &str,
                token: &str,
                lease_expires_at: i64,
                now: i64,
            ) -> Result<Option<Job>> {
                let mut tx = self.write_tx().await?;
                let job = sqlx::query_as(EXTEND_LEASE)
                    .bind(id)
                    .bind(token)
                    .bind(lease_expires_at)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(job)
            }

            async fn complete_job(&self, id: &str, token: &str, results: &str, now: i64) -> Result<Option<Job>> {
                let mut tx = self.write_tx().await?;
                let job = sqlx::query_as(COMPLETE_JOB)
                    .bind(id)
                    .bind(token)
                    .bind(results)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(job)
            }

            async fn complete_jobs(&self, items: &[(String, String, String)], now: i64) -> Result<Vec<Option<Job>>> {
                if items.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.write_tx().await?;
                let mut done: std::collections::HashMap<String, Job> = std::collections::HashMap::new();
                // One statement per chunk: the lease check and the write happen row by row in SQL.
                for chunk in items.chunks(INSERT_CHUNK) {
                    let mut update = sqlx::QueryBuilder::<$db>::new(COMPLETE_JOBS_PREFIX);
                    update.push_bind(now);
                    update.push(" FROM (");
                    update.push_values(chunk, |mut row, (id, token, results)| {
                        row.push_bind(id.clone())
                            .push_bind(token.clone())
                            .push_bind(results.clone());
                    });
                    update.push(
                        ") AS v WHERE jq_jobs.id = v.column1 AND jq_jobs.lease_token = v.column2 \
                         AND jq_jobs.status = 'WORKING' AND jq_jobs.lease_expires_at > ",
                    );
                    update.push_bind(now);
                    update.push(concat!(" RETURNING ", job_columns!()));
                    let rows: Vec<Job> = update.build_query_as().fetch_all(&mut *tx).await?;
                    done.extend(rows.into_iter().map(|j| (j.id.clone(), j)));
                }
                tx.commit().await?;
                Ok(items.iter().map(|(id, _, _)| done.remove(id)).collect())
            }

            async fn get_jobs(&self, ids: &[String]) -> Result<Vec<Job>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
                let sql = format!("SELECT * FROM jq_jobs WHERE id IN ({})", placeholders.join(", "));
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for id in ids {
                    query = query.bind(id);
                }
                Ok(query.fetch_all(&self.pool).await?)
            }

            async fn fail_job(
                &self,
                id: &str,
                token: &str,
                message: &str,
                mode: FailMode,
                now: i64,
            ) -> Result<Option<Job>> {
                let mut tx = self.write_tx().await?;
                let job = sqlx::query_as(FAIL_JOB)
                    .bind(id)
                    .bind(token)
                    .bind(message)
                    .bind(now)
                    .bind(mode == FailMode::Retry)
                    .bind(mode == FailMode::Release)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(job)
            }

            async fn cancel_job(&self, id: &str, now: i64) -> Result<Option<Job>> {
                let mut tx = self.write_tx().await?;
                let job = sqlx::query_as(CANCEL_JOB)
                    .bind(id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(job)
            }

            async fn expire_leases(&self, now: i64) -> Result<Vec<Job>> {
                let mut tx = self.write_tx().await?;
                let jobs = sqlx::query_as(EXPIRE_LEASES)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(jobs)
            }

            async fn job_counts(&self) -> Result<Vec<(String, String, i64)>> {
                Ok(
                    sqlx::query_as("SELECT service_id, status, COUNT(*) FROM jq_jobs GROUP BY service_id, status")
                        .fetch_all(&self.pool)
                        .await?,
                )
            }

            async fn outbox_backlog(&self) -> Result<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jq_outbox")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n)
            }

            fn pool_stats(&self) -> (u32, usize) {
                (self.pool.size(), self.pool.num_idle())
            }

            async fn due_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxEntry>> {
                Ok(sqlx::query_as(
                    "SELECT id, topic, payload, attempts, next_attempt_at, created FROM jq_outbox \
                     WHERE next_attempt_at <= $1 ORDER BY seq LIMIT $2",
                )
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn delete_outbox(&self, id: &str) -> Result<()> {
                sqlx::query("DELETE FROM jq_outbox WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn reschedule_outbox(&self, id: &str, next_attempt_at: i64) -> Result<()> {
                sqlx::query("UPDATE jq_outbox SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(next_attempt_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

async fn sqlite_begin(pool: &sqlx::SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

async fn postgres_begin(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin().await
}

fn own_table(migrator: &'static Migrator) -> Migrator {
    brigade_common::db::migrator(migrator, "_brigade_job_queue_migrations")
}

sql_repository!(
    SqliteRepository,
    sqlx::Sqlite,
    sqlx::SqlitePool,
    own_table(&SQLITE_MIGRATIONS),
    SQLITE_CLAIM,
    sqlite_begin
);
sql_repository!(
    PostgresRepository,
    sqlx::Postgres,
    sqlx::PgPool,
    own_table(&POSTGRES_MIGRATIONS),
    POSTGRES_CLAIM,
    postgres_begin
);
