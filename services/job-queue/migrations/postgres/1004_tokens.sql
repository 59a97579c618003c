-- Bearer tokens (issue 14): only the SHA-256 of a secret is stored, as hex;
-- the hash is the lookup key. Scopes are a comma list, services a JSON array.
CREATE TABLE IF NOT EXISTS jq_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    services TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX IF NOT EXISTS jq_tokens_created ON jq_tokens (created_at, id);
