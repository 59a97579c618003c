-- Job-queue tables. Versions 1000-1999 belong to job-queue so that both services
-- can share one database (the all-in-one binary on PostgreSQL).
CREATE TABLE IF NOT EXISTS jq_services (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT NOT NULL,
    revision BIGINT NOT NULL,
    job_registration_schema TEXT NOT NULL,
    job_result_schema TEXT NOT NULL,
    timeout_seconds BIGINT NOT NULL,
    is_available BOOLEAN NOT NULL,
    last_checked_in BIGINT NOT NULL,
    created BIGINT NOT NULL,
    max_attempts INTEGER NOT NULL,
    lease_seconds BIGINT NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE IF NOT EXISTS jq_service_revisions (
    service_id TEXT NOT NULL REFERENCES jq_services (id),
    revision BIGINT NOT NULL,
    job_registration_schema TEXT NOT NULL,
    job_result_schema TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (service_id, revision)
);

CREATE TABLE IF NOT EXISTS jq_jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    service_id TEXT NOT NULL REFERENCES jq_services (id),
    status TEXT NOT NULL,
    parameters TEXT NOT NULL,
    results TEXT,
    date_submitted BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    lease_token TEXT,
    lease_expires_at BIGINT,
    error_message TEXT,
    service_revision BIGINT NOT NULL,
    cancelled BOOLEAN NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS jq_jobs_queue ON jq_jobs (service_id, status, date_submitted, seq);
CREATE INDEX IF NOT EXISTS jq_jobs_by_service ON jq_jobs (service_id, seq);
CREATE INDEX IF NOT EXISTS jq_jobs_leases ON jq_jobs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS jq_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    created BIGINT NOT NULL
);
