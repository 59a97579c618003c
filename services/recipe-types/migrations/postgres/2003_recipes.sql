-- Recipe instances (running recipe types) and their nodes.
CREATE TABLE IF NOT EXISTS rt_recipes (
    id BIGSERIAL PRIMARY KEY,
    recipe_type_id BIGINT NOT NULL REFERENCES rt_recipe_types (id),
    revision_id BIGINT NOT NULL REFERENCES rt_revisions (id),
    revision_num BIGINT NOT NULL,
    input TEXT NOT NULL,
    configuration TEXT NOT NULL,
    status TEXT NOT NULL,
    -- Scale's job and sub-recipe counts as JSON, kept current by every step.
    counts TEXT NOT NULL,
    canceled BOOLEAN NOT NULL,
    parent_recipe_id BIGINT REFERENCES rt_recipes (id),
    parent_node TEXT,
    root_recipe_id BIGINT,
    is_superseded BOOLEAN NOT NULL,
    superseded_recipe_id BIGINT REFERENCES rt_recipes (id),
    superseded_by_recipe_id BIGINT REFERENCES rt_recipes (id),
    -- An event arrived that the engine has not stepped on yet.
    needs_step BOOLEAN NOT NULL,
    created BIGINT NOT NULL,
    started BIGINT,
    completed BIGINT,
    ended BIGINT,
    superseded BIGINT,
    last_modified BIGINT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS rt_recipes_to_step ON rt_recipes (id) WHERE needs_step;
CREATE INDEX IF NOT EXISTS rt_recipes_by_parent ON rt_recipes (parent_recipe_id);
CREATE INDEX IF NOT EXISTS rt_recipes_by_root ON rt_recipes (root_recipe_id);
CREATE INDEX IF NOT EXISTS rt_recipes_by_type ON rt_recipes (recipe_type_id);

-- What happened to each node of a recipe. A job node is CREATING from the
-- moment its intent commits until job-queue has answered with the job id.
CREATE TABLE IF NOT EXISTS rt_recipe_nodes (
    recipe_id BIGINT NOT NULL REFERENCES rt_recipes (id),
    node_name TEXT NOT NULL,
    generation BIGINT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    idempotency_key TEXT,
    service_id TEXT,
    parameters TEXT,
    job_id TEXT,
    job_version BIGINT NOT NULL,
    results TEXT,
    accepted BOOLEAN,
    condition_data TEXT,
    child_recipe_id BIGINT REFERENCES rt_recipes (id),
    error TEXT,
    cancel_pending BOOLEAN NOT NULL,
    ready_at BIGINT,
    finished_at BIGINT,
    created BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    PRIMARY KEY (recipe_id, node_name)
);
CREATE INDEX IF NOT EXISTS rt_recipe_nodes_by_job ON rt_recipe_nodes (job_id);
CREATE INDEX IF NOT EXISTS rt_recipe_nodes_unfinished ON rt_recipe_nodes (recipe_id)
    WHERE state = 'CREATING' OR cancel_pending;
