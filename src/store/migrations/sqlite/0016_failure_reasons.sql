-- Failure reasons (domain/failure, store/failures). One failure signature
-- per normalised error text; `first_seen` is the earliest failure ever
-- recorded with it (Unix seconds), kept when old failures are deleted.
CREATE TABLE failure_signatures (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT    NOT NULL UNIQUE,
    text        TEXT    NOT NULL,
    first_seen  INTEGER NOT NULL
);

-- One row per failed job: its failed step (the first step whose conclusion
-- is failure), its error lines (a JSON array of at most 20 strings), where
-- they came from (annotation, log, failure_reason, none), its signature and
-- class. `failed_at` is when it failed (the job's completion, else its run
-- attempt's start); repo, workflow, branch and the job's name are copied
-- from the attempt and job so the insights filter without joins. `fetched` is 0 until a poller has
-- asked the provider for annotations (and the log, with --fetch-logs).
CREATE TABLE job_failures (
    job_id             INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    build_id           INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    provider_id        INTEGER NOT NULL,
    repo               TEXT    NOT NULL,
    workflow           TEXT,
    branch             TEXT,
    job_name           TEXT,
    failed_at          INTEGER NOT NULL,
    failed_step        TEXT,
    failed_step_number INTEGER,
    source             TEXT    NOT NULL,
    error_lines        TEXT    NOT NULL,
    signature_id       INTEGER REFERENCES failure_signatures (id),
    class              TEXT    NOT NULL,
    class_reason       TEXT,
    fetched            INTEGER NOT NULL,
    recorded_at        INTEGER NOT NULL
);
CREATE INDEX job_failures_by_time ON job_failures (failed_at, signature_id);
CREATE INDEX job_failures_by_signature ON job_failures (signature_id, failed_at);
CREATE INDEX job_failures_by_build ON job_failures (build_id);
CREATE INDEX job_failures_unfetched ON job_failures (provider_id, failed_at) WHERE fetched = 0;

-- The last lines of a failed job's log (--fetch-logs), capped per job and in
-- total (oldest dropped first), deleted with the job and by retention.
CREATE TABLE job_log_excerpts (
    job_id     INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    excerpt    TEXT    NOT NULL,
    bytes      INTEGER NOT NULL,
    truncated  INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL
);
CREATE INDEX job_log_excerpts_by_fetched ON job_log_excerpts (fetched_at);
