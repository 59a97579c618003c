-- Every status change of a job rewrote an entry in every index of jq_jobs.
-- The queue index (1001) is covered by the claim-order index, and the
-- claim-order index only ever serves REGISTERED jobs (claims, TopChef's queue,
-- the not-yet-due count): as partial indexes, a claim, a completion or a
-- failure writes to them only for the rows that enter those states.
DROP INDEX IF EXISTS jq_jobs_queue;
DROP INDEX IF EXISTS jq_jobs_claim_order_desc;
CREATE INDEX IF NOT EXISTS jq_jobs_waiting ON jq_jobs (service_id, priority DESC, date_submitted, seq)
    WHERE status = 'REGISTERED';
-- Claims of a service with a concurrency limit count its WORKING jobs.
CREATE INDEX IF NOT EXISTS jq_jobs_working ON jq_jobs (service_id) WHERE status = 'WORKING';
-- Ending attempts looks them up by job among the running ones; without this
-- the planner scanned every attempt ever made, once per completion batch.
CREATE INDEX IF NOT EXISTS jq_job_attempts_running ON jq_job_attempts (job_id) WHERE finished IS NULL;
