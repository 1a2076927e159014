-- Deployments, pushed commits and incidents: the inputs of the DORA keys
-- (store/deployments/, metrics/dora/).
--
-- deployments: one row per provider deployment, merged with
-- domain::deployment::merge_deployment. status/status_at/status_tier are
-- the kept status; outcome is NULL while pending, then 0 success,
-- 1 failed, 2 not counted; finished_at is status_at once final.
CREATE TABLE deployments (
    id            BIGSERIAL PRIMARY KEY,
    provider_id   BIGINT  NOT NULL REFERENCES providers (id),
    repo          TEXT    NOT NULL,
    external_id   TEXT    NOT NULL,
    environment   TEXT    NOT NULL,
    sha           TEXT,
    ref           TEXT,
    job_id        TEXT,
    url           TEXT,
    created_at    BIGINT,
    status        TEXT,
    status_at     BIGINT,
    status_tier   BIGINT  NOT NULL DEFAULT 0,
    outcome       BIGINT,
    finished_at   BIGINT,
    changed_at    BIGINT  NOT NULL,
    UNIQUE (provider_id, repo, external_id)
);
CREATE INDEX deployments_by_finish ON deployments (finished_at, environment);
CREATE INDEX deployments_by_repo_env ON deployments (repo, environment, finished_at);

-- commits: one row per commit a push (or a generic deployment event)
-- listed; push_head/push_before/position say which push brought it first
-- and where in it (oldest first), so a deployment's commits can be walked
-- from its SHA back to the previous successful deployment's.
CREATE TABLE commits (
    id           BIGSERIAL PRIMARY KEY,
    provider_id  BIGINT  NOT NULL REFERENCES providers (id),
    repo         TEXT    NOT NULL,
    sha          TEXT    NOT NULL,
    authored_at  BIGINT,
    committed_at BIGINT,
    ref          TEXT,
    push_head    TEXT    NOT NULL,
    push_before  TEXT,
    position     BIGINT  NOT NULL,
    first_seen   BIGINT  NOT NULL,
    UNIQUE (provider_id, repo, sha)
);
CREATE INDEX commits_by_push ON commits (provider_id, repo, push_head);
CREATE INDEX commits_by_seen ON commits (first_seen);

-- incidents: POST /api/incidents, idempotent by the caller's id.
CREATE TABLE incidents (
    id          BIGSERIAL PRIMARY KEY,
    external_id TEXT    NOT NULL UNIQUE,
    repo        TEXT,
    environment TEXT,
    title       TEXT,
    url         TEXT,
    opened_at   BIGINT  NOT NULL,
    resolved_at BIGINT,
    changed_at  BIGINT  NOT NULL
);
CREATE INDEX incidents_by_opened ON incidents (opened_at);
