-- Nothing reads nodes by job id; the index only cost each node write an
-- entry. (PostgreSQL also drops the node rows' foreign keys, checked per
-- row there; SQLite cannot drop a constraint without rebuilding the table,
-- and its check is one lookup in a file already in memory.)
DROP INDEX IF EXISTS rt_recipe_nodes_by_job;
