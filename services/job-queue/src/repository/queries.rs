//! SQL text both dialects agree on. Where they differ (starting a write
//! transaction, skipping rows others hold, making a random token) the driver
//! modules carry their own.

pub const INSERT_SERVICE: &str = "INSERT INTO jq_services (id, name, version, description, revision, \
     job_registration_schema, job_result_schema, timeout_seconds, is_available, last_checked_in, created, \
     max_attempts, lease_seconds, row_version, max_concurrency, paused, retry_backoff_base_ms, retry_backoff_cap_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
pub const UPDATE_SERVICE: &str = "UPDATE jq_services SET name = $2, version = $3, description = $4, revision = $5, \
     job_registration_schema = $6, job_result_schema = $7, timeout_seconds = $8, is_available = $9, \
     last_checked_in = $10, max_attempts = $11, lease_seconds = $12, max_concurrency = $14, paused = $15, \
     retry_backoff_base_ms = $16, retry_backoff_cap_ms = $17, row_version = row_version + 1 \
     WHERE id = $1 AND row_version = $13 RETURNING *";
pub const CHECK_IN: &str = "UPDATE jq_services SET last_checked_in = $2, row_version = row_version + 1 WHERE id = $1";
/// A check-in by a claim or a lease extension: it leaves the row version alone
/// (so it never makes a concurrent update retry) and never moves the clock back.
pub const TOUCH_SERVICE: &str = "UPDATE jq_services SET last_checked_in = $2 WHERE id = $1 AND last_checked_in < $2";
pub const GET_SERVICE: &str = "SELECT * FROM jq_services WHERE id = $1";
pub const FIND_SERVICE: &str = "SELECT * FROM jq_services WHERE name = $1 AND version = $2";
pub const LIST_SERVICES: &str = "SELECT * FROM jq_services WHERE seq > $1 ORDER BY seq LIMIT $2";

pub const INSERT_REVISION: &str = "INSERT INTO jq_service_revisions (service_id, revision, job_registration_schema, \
     job_result_schema, created) VALUES ($1, $2, $3, $4, $5)";
pub const GET_REVISION: &str = "SELECT * FROM jq_service_revisions WHERE service_id = $1 AND revision = $2";
/// Followed by `(name, version, revision), …` rows and [`RESOLVE_SUFFIX`].
pub const RESOLVE_PREFIX: &str = "SELECT s.id AS service_id, s.name, s.version, s.description, \
     s.revision AS latest_revision, r.revision, r.job_registration_schema, r.job_result_schema \
     FROM jq_services s JOIN jq_service_revisions r ON r.service_id = s.id \
     WHERE (s.name, s.version, r.revision) IN (";
pub const RESOLVE_SUFFIX: &str = ")";

/// Followed by `push_values`: rows keep their order in `seq`.
pub const INSERT_OUTBOX_PREFIX: &str =
    "INSERT INTO jq_outbox (id, topic, payload, attempts, next_attempt_at, created) ";
/// The oldest entries, due or not: the relay keeps each recipe's notices in order.
pub const OLDEST_OUTBOX: &str = "SELECT id, topic, payload, attempts, next_attempt_at, created FROM jq_outbox \
     ORDER BY seq LIMIT $1";
pub const DUE_OUTBOX: &str = "SELECT id, topic, payload, attempts, next_attempt_at, created FROM jq_outbox \
     WHERE next_attempt_at <= $1 ORDER BY seq LIMIT $2";
pub const OUTBOX_BACKLOG: &str = "SELECT COUNT(*) FROM jq_outbox";
pub const DELETE_OUTBOX: &str = "DELETE FROM jq_outbox WHERE id = $1";
pub const DELETE_OUTBOX_PREFIX: &str = "DELETE FROM jq_outbox WHERE id IN (";
pub const RESCHEDULE_OUTBOX: &str = "UPDATE jq_outbox SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1";

pub const INSERT_JOBS_PREFIX: &str = "INSERT INTO jq_jobs (id, service_id, status, parameters, results, \
     date_submitted, attempts, max_attempts, lease_token, lease_expires_at, error_message, service_revision, \
     cancelled, updated, priority, due_at, idempotency_key, recipe_id, recipe_node, row_version) ";
pub const GET_JOB: &str = "SELECT * FROM jq_jobs WHERE id = $1";
pub const JOBS_BY_KEYS_PREFIX: &str = "SELECT * FROM jq_jobs WHERE service_id = ";
pub const GET_JOBS_PREFIX: &str = "SELECT * FROM jq_jobs WHERE id IN (";
/// `$4`: status names as `,A,B,` (empty: all); `$5`/`$6`: submitted at or after / before.
pub const LIST_JOBS: &str = "SELECT * FROM jq_jobs WHERE ($1 IS NULL OR service_id = $1) AND seq > $2 \
     AND ($4 = '' OR $4 LIKE '%,' || status || ',%') \
     AND ($5 IS NULL OR date_submitted >= $5) AND ($6 IS NULL OR date_submitted < $6) ORDER BY seq LIMIT $3";
/// Claim order: due jobs, higher priority first, then oldest.
pub const REGISTERED_JOBS: &str = "SELECT * FROM jq_jobs WHERE service_id = $1 AND status = 'REGISTERED' \
     ORDER BY priority DESC, date_submitted, seq LIMIT $2";
pub const JOB_COUNTS: &str = "SELECT service_id, status, COUNT(*) AS count FROM jq_jobs GROUP BY service_id, status";
/// One service's jobs grouped by status: `$2` now (due later), `$3`/`$4` written
/// since a minute / an hour ago (throughput, read on the COMPLETED row).
pub const QUEUE_COUNTS: &str = "SELECT status, COUNT(*) AS count, \
     SUM(CASE WHEN due_at > $2 THEN 1 ELSE 0 END) AS due_later, \
     SUM(CASE WHEN updated >= $3 THEN 1 ELSE 0 END) AS last_minute, \
     SUM(CASE WHEN updated >= $4 THEN 1 ELSE 0 END) AS last_hour \
     FROM jq_jobs WHERE service_id = $1 GROUP BY status";
pub const NOT_DUE_COUNT: &str = "SELECT COUNT(*) FROM jq_jobs WHERE status = 'REGISTERED' AND due_at > $1";
pub const WORKING_COUNT: &str = "SELECT COUNT(*) FROM jq_jobs WHERE service_id = $1 AND status = 'WORKING'";
/// Ended attempts are rows of `jq_job_attempts`; the running one, if any, is
/// on the job's row (see migration 1007).
pub const ATTEMPTS: &str = "SELECT number, worker_id, claimed, finished, outcome, error_message \
     FROM jq_job_attempts WHERE job_id = $1 \
     UNION ALL SELECT j.attempt_number, j.worker_id, j.claimed_at, NULL, 'RUNNING', NULL FROM jq_jobs j \
     WHERE j.id = $1 AND j.claimed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jq_job_attempts a \
         WHERE a.job_id = j.id AND a.number = j.attempt_number) \
     ORDER BY number";

/// A terminal status ends any attempt; the lease is revoked.
pub const UPDATE_JOB: &str = "UPDATE jq_jobs SET status = COALESCE($2, status), results = COALESCE($3, results), \
     lease_token = NULL, lease_expires_at = NULL, updated = $4, row_version = row_version + 1 \
     WHERE id = $1 RETURNING *";
pub const EXTEND_LEASE: &str = "UPDATE jq_jobs SET lease_expires_at = $3, updated = $4, \
     progress = COALESCE($5, progress), progress_message = COALESCE($6, progress_message), \
     row_version = row_version + 1 \
     WHERE id = $1 AND lease_token = $2 AND status = 'WORKING' AND lease_expires_at > $4 RETURNING *";
/// Followed by `now`, [`COMPLETE_JOBS_FROM`], `(id, token, results), …` rows,
/// [`COMPLETE_JOBS_WHERE`], `now` and [`COMPLETE_JOBS_RETURNING`]. VALUES rows
/// name their columns column1, column2, … on both drivers.
pub const COMPLETE_JOBS_PREFIX: &str = "UPDATE jq_jobs SET status = 'COMPLETED', results = v.column3, \
     lease_token = NULL, lease_expires_at = NULL, applied_token = v.column2, row_version = row_version + 1, updated = ";
pub const COMPLETE_JOBS_FROM: &str = " FROM (";
pub const COMPLETE_JOBS_WHERE: &str = ") AS v WHERE jq_jobs.id = v.column1 AND jq_jobs.lease_token = v.column2 \
     AND jq_jobs.status = 'WORKING' AND jq_jobs.lease_expires_at > ";
/// The columns of a job, unqualified (so RETURNING works after `UPDATE … FROM` on both drivers).
pub const COMPLETE_JOBS_RETURNING: &str = " RETURNING seq, id, service_id, status, parameters, results, \
     date_submitted, attempts, max_attempts, lease_token, lease_expires_at, error_message, service_revision, \
     cancelled, updated, priority, due_at, idempotency_key, recipe_id, recipe_node, progress, progress_message, \
     cancel_reason, row_version, applied_token, attempt_number, worker_id, claimed_at";
/// `$5` retry, `$6` release, `$7` when a retried job is due. `attempts` counts
/// deliveries (the claim counted this one); a release gives it back.
pub const FAIL_JOB: &str = "UPDATE jq_jobs SET \
     status = CASE WHEN $6 THEN 'REGISTERED' WHEN $5 AND attempts < max_attempts THEN 'REGISTERED' \
         ELSE 'ERROR' END, \
     due_at = CASE WHEN $6 THEN NULL WHEN $5 AND attempts < max_attempts THEN $7 ELSE NULL END, \
     attempts = CASE WHEN $6 AND attempts > 0 THEN attempts - 1 ELSE attempts END, \
     error_message = CASE WHEN $6 THEN error_message ELSE $3 END, \
     lease_token = NULL, lease_expires_at = NULL, applied_token = $2, updated = $4, row_version = row_version + 1 \
     WHERE id = $1 AND lease_token = $2 AND status = 'WORKING' AND lease_expires_at > $4 RETURNING *";
/// Remembers the lease it ended, so the worker's next heartbeat hears why.
pub const CANCEL_JOB: &str = "UPDATE jq_jobs SET status = 'ERROR', cancelled = TRUE, error_message = 'cancelled', \
     cancel_reason = $3, applied_token = lease_token, lease_token = NULL, lease_expires_at = NULL, updated = $2, \
     row_version = row_version + 1 \
     WHERE id = $1 AND status IN ('REGISTERED', 'WORKING') RETURNING *";
/// Filter as in [`LIST_JOBS`] (`$1` service, `$2` statuses, `$3`/`$4` times).
macro_rules! filter {
    () => {
        "service_id = $1 AND ($2 = '' OR $2 LIKE '%,' || status || ',%') \
     AND ($3 IS NULL OR date_submitted >= $3) AND ($4 IS NULL OR date_submitted < $4)"
    };
}
pub const CANCEL_JOBS: &str = concat!(
    "UPDATE jq_jobs SET status = 'ERROR', cancelled = TRUE, error_message = 'cancelled', cancel_reason = $6, \
     applied_token = lease_token, lease_token = NULL, lease_expires_at = NULL, updated = $5, \
     row_version = row_version + 1 WHERE status IN ('REGISTERED', 'WORKING') AND ",
    filter!(),
    " RETURNING *"
);
/// ERROR back to REGISTERED with a fresh attempt budget.
macro_rules! retry_set {
    () => {
        "UPDATE jq_jobs SET status = 'REGISTERED', attempts = 0, cancelled = FALSE, \
     cancel_reason = NULL, error_message = NULL, results = NULL, due_at = NULL, progress = NULL, \
     progress_message = NULL, lease_token = NULL, lease_expires_at = NULL, row_version = row_version + 1, "
    };
}
pub const RETRY_JOB: &str = concat!(
    retry_set!(),
    "updated = $2 WHERE id = $1 AND status = 'ERROR' RETURNING *"
);
pub const RETRY_JOBS: &str = concat!(
    retry_set!(),
    "updated = $5 WHERE status = 'ERROR' AND ",
    filter!(),
    " RETURNING *"
);
pub const DELETE_ATTEMPTS: &str = "DELETE FROM jq_job_attempts WHERE job_id = $1";
pub const DELETE_JOB: &str = "DELETE FROM jq_jobs WHERE id = $1 AND status IN ('COMPLETED', 'ERROR')";
/// Retention: a batch of finished jobs last written before `$1`.
macro_rules! expired_finished {
    () => {
        "SELECT id FROM jq_jobs WHERE status IN ('COMPLETED', 'ERROR') AND updated < $1 \
     ORDER BY updated LIMIT $2"
    };
}
pub const PURGE_ATTEMPTS: &str = concat!(
    "DELETE FROM jq_job_attempts WHERE job_id IN (",
    expired_finished!(),
    ")"
);
pub const PURGE_JOBS: &str = concat!("DELETE FROM jq_jobs WHERE id IN (", expired_finished!(), ")");
/// Leases past their expiry with what their backoff needs.
pub const EXPIRED_LEASES: &str = "SELECT j.*, s.retry_backoff_base_ms, s.retry_backoff_cap_ms FROM jq_jobs j \
     JOIN jq_services s ON s.id = j.service_id \
     WHERE j.status = 'WORKING' AND j.lease_expires_at IS NOT NULL AND j.lease_expires_at <= $1 \
     ORDER BY j.lease_expires_at LIMIT $2";
/// Back to REGISTERED (due at `$3`) while attempts remain, else ERROR.
pub const EXPIRE_LEASE: &str = "UPDATE jq_jobs SET \
     status = CASE WHEN attempts < max_attempts THEN 'REGISTERED' ELSE 'ERROR' END, \
     due_at = CASE WHEN attempts < max_attempts THEN $3 ELSE NULL END, \
     error_message = CASE WHEN attempts < max_attempts THEN error_message \
         ELSE 'lease expired on the last allowed attempt' END, \
     lease_token = NULL, lease_expires_at = NULL, updated = $4, \
     row_version = row_version + 1 \
     WHERE id = $1 AND lease_token = $2 AND status = 'WORKING' AND lease_expires_at <= $4 RETURNING *";

/// Ends the job's running attempt, if it has one: the ended row is written
/// once, from the job's row; an attempt already ended is left alone.
pub const FINISH_ATTEMPT: &str = "INSERT INTO jq_job_attempts \
     (job_id, number, worker_id, claimed, finished, outcome, error_message) \
     SELECT id, attempt_number, worker_id, claimed_at, $2, $3, $4 FROM jq_jobs \
     WHERE id = $1 AND claimed_at IS NOT NULL ON CONFLICT (job_id, number) DO NOTHING RETURNING claimed";
/// Followed by `now`, [`FINISH_ATTEMPTS_OUTCOME`], the outcome, [`FINISH_ATTEMPTS_WHERE`],
/// job ids and [`FINISH_ATTEMPTS_SUFFIX`]: ends the running attempt of each job in one statement.
pub const FINISH_ATTEMPTS_PREFIX: &str = "INSERT INTO jq_job_attempts \
     (job_id, number, worker_id, claimed, finished, outcome) SELECT id, attempt_number, worker_id, claimed_at, ";
pub const FINISH_ATTEMPTS_OUTCOME: &str = ", ";
pub const FINISH_ATTEMPTS_WHERE: &str = " FROM jq_jobs WHERE claimed_at IS NOT NULL AND id IN (";
pub const FINISH_ATTEMPTS_SUFFIX: &str = ") ON CONFLICT (job_id, number) DO NOTHING RETURNING job_id, claimed";
