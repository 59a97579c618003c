-- Claims read the queue as `ORDER BY priority DESC, date_submitted, seq`. The
-- index of 1003 ordered priority ascending, which a scan cannot read in that
-- mixed order, so every claim sorted all of the service's waiting jobs. This one
-- matches the claim's order, and a claim reads only the rows it takes.
DROP INDEX IF EXISTS jq_jobs_claim_order;
CREATE INDEX IF NOT EXISTS jq_jobs_claim_order_desc ON jq_jobs (service_id, status, priority DESC, date_submitted, seq);
