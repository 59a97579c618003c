-- Node rows are written only by the engine, in the transaction that holds
-- their recipe's row lock (FOR UPDATE) and, for a child, in the one that
-- inserted it; recipes are never deleted. The foreign keys checked every
-- node row written against rows that lock already guarantees, at about
-- 13 µs a row: half of a fan-out step's 101-row upsert. Nothing reads
-- nodes by job id, so that index only cost each write an entry.
ALTER TABLE rt_recipe_nodes DROP CONSTRAINT IF EXISTS rt_recipe_nodes_recipe_id_fkey;
ALTER TABLE rt_recipe_nodes DROP CONSTRAINT IF EXISTS rt_recipe_nodes_child_recipe_id_fkey;
DROP INDEX IF EXISTS rt_recipe_nodes_by_job;
