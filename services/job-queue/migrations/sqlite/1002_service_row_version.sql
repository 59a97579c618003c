-- Optimistic concurrency for services: every write bumps row_version and names
-- the version it read, so a concurrent update is detected instead of lost.
ALTER TABLE jq_services ADD COLUMN row_version BIGINT NOT NULL DEFAULT 1;
