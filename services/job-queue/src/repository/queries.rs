//! SQL text both dialects agree on. Where they differ (starting a write
//! transaction, skipping rows others hold, making a random token) the driver
//! modules carry their own.

pub const INSERT_SERVICE: &str = "INSERT INTO jq_services (id, name, version, description, revision, \
     job_registration_schema, job_result_schema, timeout_seconds, is_available, last_checked_in, created, \
     max_attempts, lease_seconds, row_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
pub const UPDATE_SERVICE: &str = "UPDATE jq_services SET name = $2, version = $3, description = $4, revision = $5, \
     job_registration_schema = $6, job_result_schema = $7, timeout_seconds = $8, is_available = $9, \
     last_checked_in = $10, max_attempts = $11, lease_seconds = $12, row_version = row_version + 1 \
     WHERE id = $1 AND row_version = $13 RETURNING *";
pub const CHECK_IN: &str = "UPDATE jq_services SET last_checked_in = $2, row_version = row_version + 1 WHERE id = $1";
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

pub const INSERT_OUTBOX: &str = "INSERT INTO jq_outbox (id, topic, payload, attempts, next_attempt_at, created) \
     VALUES ($1, $2, $3, $4, $5, $6)";
pub const DUE_OUTBOX: &str = "SELECT id, topic, payload, attempts, next_attempt_at, created FROM jq_outbox \
     WHERE next_attempt_at <= $1 ORDER BY seq LIMIT $2";
pub const OUTBOX_BACKLOG: &str = "SELECT COUNT(*) FROM jq_outbox";
pub const DELETE_OUTBOX: &str = "DELETE FROM jq_outbox WHERE id = $1";
pub const RESCHEDULE_OUTBOX: &str = "UPDATE jq_outbox SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1";

pub const INSERT_JOBS_PREFIX: &str = "INSERT INTO jq_jobs (id, service_id, status, parameters, results, \
     date_submitted, attempts, max_attempts, lease_token, lease_expires_at, error_message, service_revision, \
     cancelled, updated) ";
pub const GET_JOB: &str = "SELECT * FROM jq_jobs WHERE id = $1";
pub const GET_JOBS_PREFIX: &str = "SELECT * FROM jq_jobs WHERE id IN (";
pub const LIST_JOBS: &str =
    "SELECT * FROM jq_jobs WHERE ($1 IS NULL OR service_id = $1) AND seq > $2 ORDER BY seq LIMIT $3";
pub const REGISTERED_JOBS: &str = "SELECT * FROM jq_jobs WHERE service_id = $1 AND status = 'REGISTERED' \
     ORDER BY date_submitted, seq LIMIT $2";
pub const JOB_COUNTS: &str = "SELECT service_id, status, COUNT(*) AS count FROM jq_jobs GROUP BY service_id, status";

pub const UPDATE_JOB: &str = "UPDATE jq_jobs SET status = COALESCE($2, status), results = COALESCE($3, results), \
     lease_token = NULL, lease_expires_at = NULL, updated = $4 WHERE id = $1 RETURNING *";
pub const EXTEND_LEASE: &str = "UPDATE jq_jobs SET lease_expires_at = $3, updated = $4 \
     WHERE id = $1 AND lease_token = $2 AND status = 'WORKING' AND lease_expires_at > $4 RETURNING *";
pub const COMPLETE_JOB: &str = "UPDATE jq_jobs SET status = 'COMPLETED', results = $3, lease_token = NULL, \
     lease_expires_at = NULL, updated = $4 \
     WHERE id = $1 AND lease_token = $2 AND status = 'WORKING' AND lease_expires_at > $4 RETURNING *";
/// Followed by `now`, [`COMPLETE_JOBS_FROM`], `(id, token, results), …` rows,
/// [`COMPLETE_JOBS_WHERE`], `now` and [`COMPLETE_JOBS_RETURNING`]. VALUES rows
/// name their columns column1, column2, … on both drivers.
pub const COMPLETE_JOBS_PREFIX: &str = "UPDATE jq_jobs SET status = 'COMPLETED', results = v.column3, \
     lease_token = NULL, lease_expires_at = NULL, updated = ";
pub const COMPLETE_JOBS_FROM: &str = " FROM (";
pub const COMPLETE_JOBS_WHERE: &str = ") AS v WHERE jq_jobs.id = v.column1 AND jq_jobs.lease_token = v.column2 \
     AND jq_jobs.status = 'WORKING' AND jq_jobs.lease_expires_at > ";
/// The columns of a job, unqualified (so RETURNING works after `UPDATE … FROM` on both drivers).
pub const COMPLETE_JOBS_RETURNING: &str = " RETURNING seq, id, service_id, status, parameters, results, \
     date_submitted, attempts, max_attempts, lease_token, lease_expires_at, error_message, service_revision, \
     cancelled, updated";
pub const FAIL_JOB: &str = "UPDATE jq_jobs SET \
     status = CASE WHEN $6 THEN 'REGISTERED' WHEN $5 AND attempts + 1 < max_attempts THEN 'REGISTERED' \
         ELSE 'ERROR' END, \
     attempts = CASE WHEN $6 THEN attempts WHEN $5 THEN attempts + 1 ELSE attempts END, \
     error_message = CASE WHEN $6 THEN error_message ELSE $3 END, \
     lease_token = NULL, lease_expires_at = NULL, updated = $4 \
     WHERE id = $1 AND lease_token = $2 AND status = 'WORKING' AND lease_expires_at > $4 RETURNING *";
pub const CANCEL_JOB: &str = "UPDATE jq_jobs SET status = 'ERROR', cancelled = TRUE, error_message = 'cancelled', \
     lease_token = NULL, lease_expires_at = NULL, updated = $2 \
     WHERE id = $1 AND status IN ('REGISTERED', 'WORKING') RETURNING *";
pub const EXPIRE_LEASES: &str = "UPDATE jq_jobs SET \
     status = CASE WHEN attempts + 1 < max_attempts THEN 'REGISTERED' ELSE 'ERROR' END, \
     error_message = CASE WHEN attempts + 1 < max_attempts THEN error_message \
         ELSE 'lease expired on the last allowed attempt' END, \
     attempts = attempts + 1, lease_token = NULL, lease_expires_at = NULL, updated = $1 \
     WHERE status = 'WORKING' AND lease_expires_at IS NOT NULL AND lease_expires_at <= $1 RETURNING *";
