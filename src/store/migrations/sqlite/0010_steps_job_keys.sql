-- Steps of jobs and job keys (domain/step.rs, domain/job_key.rs).
-- A job key is (provider, repository, workflow, job name without matrix
-- values); each job row points at its key, computed at write, so insights
-- group by an integer. `workflow` is '' when the job's workflow is unknown.
CREATE TABLE job_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    repo        TEXT NOT NULL,
    workflow    TEXT NOT NULL,
    name        TEXT NOT NULL,
    UNIQUE (provider_id, repo, workflow, name)
);

ALTER TABLE jobs ADD COLUMN key_id INTEGER REFERENCES job_keys (id);
ALTER TABLE jobs ADD COLUMN matrix TEXT; -- the matrix values cut from the name
CREATE INDEX jobs_by_key ON jobs (key_id);
CREATE INDEX jobs_by_changed ON jobs (changed_at);
-- Rows written before job keys existed, keyed at start-up (store/jobs/keys.rs).
CREATE INDEX jobs_keyless ON jobs (id) WHERE key_id IS NULL AND name IS NOT NULL;

-- One row per (job, step number).
CREATE TABLE steps (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id          INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    name            TEXT,
    provider_status TEXT    NOT NULL,
    conclusion      TEXT,
    status          TEXT    NOT NULL,
    started_at      INTEGER,
    completed_at    INTEGER,
    UNIQUE (job_id, number)
);

-- Daily roll-ups of jobs per job key (store/jobs/rollups.rs), by the UTC
-- day of their run attempt's start (builds.sort_at / 86400), folded with the
-- summary's roll-ups. `matrix` is '' for a job without matrix values.
-- Histograms are exact (whole seconds → jobs / steps).
CREATE TABLE rollup_jobs (
    day            INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,
    matrix         TEXT    NOT NULL,
    runs           INTEGER NOT NULL,
    conclusive     INTEGER NOT NULL,
    failed         INTEGER NOT NULL,
    runner_seconds INTEGER NOT NULL,
    PRIMARY KEY (day, key_id, matrix)
) WITHOUT ROWID;

-- kind: 'duration' or 'queue'.
CREATE TABLE rollup_job_times (
    day     INTEGER NOT NULL,
    key_id  INTEGER NOT NULL,
    matrix  TEXT    NOT NULL,
    kind    TEXT    NOT NULL,
    seconds INTEGER NOT NULL,
    jobs    INTEGER NOT NULL,
    PRIMARY KEY (day, key_id, matrix, kind, seconds)
) WITHOUT ROWID;

-- Steps by name within a key.
CREATE TABLE rollup_steps (
    day     INTEGER NOT NULL,
    key_id  INTEGER NOT NULL,
    step    TEXT    NOT NULL,
    number  INTEGER NOT NULL,
    runs    INTEGER NOT NULL,
    failed  INTEGER NOT NULL,
    PRIMARY KEY (day, key_id, step)
) WITHOUT ROWID;

CREATE TABLE rollup_step_times (
    day     INTEGER NOT NULL,
    key_id  INTEGER NOT NULL,
    step    TEXT    NOT NULL,
    seconds INTEGER NOT NULL,
    steps   INTEGER NOT NULL,
    PRIMARY KEY (day, key_id, step, seconds)
) WITHOUT ROWID;
