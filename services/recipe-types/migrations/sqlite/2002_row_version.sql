-- Optimistic concurrency: every write of a recipe type bumps its row version,
-- and an update names the version it read.
ALTER TABLE rt_recipe_types ADD COLUMN row_version BIGINT NOT NULL DEFAULT 1;
