-- Foundation schema (PostgreSQL). Timestamps are Unix seconds (UTC); flags 0/1.
CREATE TABLE providers (
    id   BIGINT PRIMARY KEY,
    kind TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);
INSERT INTO providers (id, kind, name) VALUES (1, 'github', 'GitHub Actions');

-- One row per (provider, repository, run id, run attempt).
CREATE TABLE builds (
    id                   BIGSERIAL PRIMARY KEY,
    provider_id          BIGINT NOT NULL REFERENCES providers (id),
    repo                 TEXT    NOT NULL,
    external_id          TEXT    NOT NULL,
    run_attempt          BIGINT NOT NULL,
    workflow             TEXT,
    workflow_id          BIGINT,
    run_number           BIGINT,
    event                TEXT,
    branch               TEXT,
    commit_sha           TEXT,
    triggered_by         TEXT,
    url                  TEXT,
    provider_status      TEXT    NOT NULL,
    conclusion           TEXT,
    status               TEXT    NOT NULL,
    created_at           BIGINT,
    started_at           BIGINT,
    updated_at           BIGINT,
    finished_at          BIGINT,
    first_job_started_at BIGINT,
    duration_seconds     BIGINT,
    sort_at              BIGINT NOT NULL,
    changed_at           BIGINT NOT NULL,
    UNIQUE (provider_id, repo, external_id, run_attempt)
);
CREATE INDEX builds_by_repo_start ON builds (repo, sort_at, id);
-- (sort_at, id) orders /api/builds; the rest makes the metrics window scan
-- (store/summary.rs) index-only.
CREATE INDEX builds_window ON builds (sort_at, id, status, provider_status, duration_seconds, repo);
CREATE INDEX builds_by_status_start ON builds (status, sort_at, id);
CREATE INDEX builds_by_changed ON builds (changed_at);

-- One row per job id, linked to its run attempt.
CREATE TABLE jobs (
    id              BIGSERIAL PRIMARY KEY,
    build_id        BIGINT NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    provider_id     BIGINT NOT NULL REFERENCES providers (id),
    external_id     TEXT    NOT NULL,
    name            TEXT,
    workflow        TEXT,
    branch          TEXT,
    commit_sha      TEXT,
    provider_status TEXT    NOT NULL,
    conclusion      TEXT,
    status          TEXT    NOT NULL,
    runner_name     TEXT,
    labels          TEXT    NOT NULL DEFAULT '[]',
    url             TEXT,
    created_at      BIGINT,
    started_at      BIGINT,
    completed_at    BIGINT,
    changed_at      BIGINT NOT NULL,
    UNIQUE (provider_id, external_id)
);
CREATE INDEX jobs_by_build ON jobs (build_id);

-- Every authenticated delivery, with its raw body so it can be re-processed.
CREATE TABLE webhook_deliveries (
    id          BIGSERIAL PRIMARY KEY,
    provider_id BIGINT NOT NULL REFERENCES providers (id),
    guid        TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    action      TEXT,
    received_at BIGINT NOT NULL,
    outcome     TEXT    NOT NULL,
    error       TEXT,
    body        BYTEA   NOT NULL,
    UNIQUE (provider_id, guid)
);
CREATE INDEX webhook_deliveries_by_received ON webhook_deliveries (received_at);

-- Raw bodies are ~20 KB of JSON: lz4 compresses them several times faster
-- than the default pglz, which otherwise dominates ingest CPU. Needs
-- PostgreSQL 14+ built with lz4; elsewhere the default stays.
DO $$
BEGIN
    ALTER TABLE webhook_deliveries ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'lz4 compression unavailable; keeping the default';
END
$$;
