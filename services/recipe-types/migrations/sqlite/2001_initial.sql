-- Recipe-types tables. Versions 2000-2999 belong to recipe-types.
CREATE TABLE IF NOT EXISTS rt_recipe_types (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT,
    is_active BOOLEAN NOT NULL,
    is_system BOOLEAN NOT NULL,
    revision_num BIGINT NOT NULL,
    definition TEXT NOT NULL,
    created BIGINT NOT NULL,
    deprecated BIGINT,
    last_modified BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS rt_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipe_type_id BIGINT NOT NULL REFERENCES rt_recipe_types (id),
    revision_num BIGINT NOT NULL,
    definition TEXT NOT NULL,
    created BIGINT NOT NULL,
    UNIQUE (recipe_type_id, revision_num)
);

-- Which job types (name, version) and sub-recipe types each current definition uses.
CREATE TABLE IF NOT EXISTS rt_job_links (
    recipe_type_id BIGINT NOT NULL REFERENCES rt_recipe_types (id),
    job_type_name TEXT NOT NULL,
    job_type_version TEXT NOT NULL,
    PRIMARY KEY (recipe_type_id, job_type_name, job_type_version)
);
CREATE INDEX IF NOT EXISTS rt_job_links_by_job ON rt_job_links (job_type_name, job_type_version);

CREATE TABLE IF NOT EXISTS rt_sub_links (
    recipe_type_id BIGINT NOT NULL REFERENCES rt_recipe_types (id),
    sub_name TEXT NOT NULL,
    PRIMARY KEY (recipe_type_id, sub_name)
);
CREATE INDEX IF NOT EXISTS rt_sub_links_by_sub ON rt_sub_links (sub_name);

-- Job-type revision notices already applied (the outbox may deliver twice).
CREATE TABLE IF NOT EXISTS rt_processed_notices (
    notice_id TEXT PRIMARY KEY,
    processed BIGINT NOT NULL
);
