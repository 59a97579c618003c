-- The running attempt of a job lives on its jq_jobs row (worker_id,
-- claimed_at, attempt_number), and jq_job_attempts holds ended attempts only:
-- one row, inserted once when the attempt ends. Before, a claim inserted a
-- RUNNING row and its end updated it, and the running-attempts index took an
-- entry per claim. attempt_number counts every delivery ever made (it is
-- never reset, unlike `attempts`, which a retry resets); the attempt
-- (id, attempt_number) is running while the job has claimed_at and no ended
-- row of that number.
ALTER TABLE jq_jobs ADD COLUMN attempt_number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jq_jobs ADD COLUMN worker_id TEXT;
ALTER TABLE jq_jobs ADD COLUMN claimed_at BIGINT;
UPDATE jq_jobs SET attempt_number = (SELECT MAX(a.number) FROM jq_job_attempts a WHERE a.job_id = jq_jobs.id)
    WHERE EXISTS (SELECT 1 FROM jq_job_attempts a WHERE a.job_id = jq_jobs.id);
UPDATE jq_jobs SET
    worker_id = (SELECT a.worker_id FROM jq_job_attempts a WHERE a.job_id = jq_jobs.id AND a.finished IS NULL),
    claimed_at = (SELECT a.claimed FROM jq_job_attempts a WHERE a.job_id = jq_jobs.id AND a.finished IS NULL)
    WHERE EXISTS (SELECT 1 FROM jq_job_attempts a WHERE a.job_id = jq_jobs.id AND a.finished IS NULL);
DELETE FROM jq_job_attempts WHERE finished IS NULL;
DROP INDEX IF EXISTS jq_job_attempts_running;
-- jq_jobs_leases stays on SQLite: its planner would scan the whole table for
-- the reaper without it.
