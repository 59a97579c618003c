-- Queue controls (issue 13) and recipe jobs.
ALTER TABLE jq_services ADD COLUMN max_concurrency INTEGER;
ALTER TABLE jq_services ADD COLUMN paused BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE jq_services ADD COLUMN retry_backoff_base_ms BIGINT NOT NULL DEFAULT 1000;
ALTER TABLE jq_services ADD COLUMN retry_backoff_cap_ms BIGINT NOT NULL DEFAULT 300000;

ALTER TABLE jq_jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
-- When a REGISTERED job becomes claimable; NULL means now.
ALTER TABLE jq_jobs ADD COLUMN due_at BIGINT;
ALTER TABLE jq_jobs ADD COLUMN idempotency_key TEXT;
ALTER TABLE jq_jobs ADD COLUMN recipe_id TEXT;
ALTER TABLE jq_jobs ADD COLUMN recipe_node TEXT;
ALTER TABLE jq_jobs ADD COLUMN progress INTEGER;
ALTER TABLE jq_jobs ADD COLUMN progress_message TEXT;
ALTER TABLE jq_jobs ADD COLUMN cancel_reason TEXT;
-- Grows with every write to the job (the job_version of recipe notices).
ALTER TABLE jq_jobs ADD COLUMN row_version BIGINT NOT NULL DEFAULT 1;
-- The lease token whose completion or failure was applied last, so a retried
-- call with that token answers the same job instead of a stale-lease error.
ALTER TABLE jq_jobs ADD COLUMN applied_token TEXT;


CREATE UNIQUE INDEX IF NOT EXISTS jq_jobs_idempotency ON jq_jobs (service_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jq_jobs_claim_order ON jq_jobs (service_id, status, priority, date_submitted, seq);
CREATE INDEX IF NOT EXISTS jq_jobs_retention ON jq_jobs (updated) WHERE status IN ('COMPLETED', 'ERROR');

-- One row per delivery of a job to a worker.
CREATE TABLE IF NOT EXISTS jq_job_attempts (
    job_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    worker_id TEXT NOT NULL,
    claimed BIGINT NOT NULL,
    finished BIGINT,
    outcome TEXT NOT NULL,
    error_message TEXT,
    PRIMARY KEY (job_id, number)
);
