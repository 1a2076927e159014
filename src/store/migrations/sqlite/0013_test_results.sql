-- Test results from uploaded JUnit reports (store/test_results/).
--
-- test_cases: the test dictionary, one row per test identity (repository,
-- classname or suite, name, file); identity_key is the SHA-256 of that
-- identity (domain::test_identity), so a lookup is one index probe.
CREATE TABLE test_cases (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    identity_key TEXT    NOT NULL UNIQUE,
    repo         TEXT    NOT NULL,
    classname    TEXT,
    name         TEXT    NOT NULL,
    file         TEXT,
    first_seen   INTEGER NOT NULL
);
CREATE INDEX test_cases_by_repo ON test_cases (repo, id);

-- One uploaded report file of a run attempt's job; the file's SHA-256
-- makes re-uploads idempotent.
CREATE TABLE test_uploads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    build_id    INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    job_name    TEXT    NOT NULL,
    file_digest TEXT    NOT NULL,
    file_name   TEXT,
    cases       INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (build_id, job_name, file_digest)
);
CREATE INDEX test_uploads_by_received ON test_uploads (received_at, id);

-- One test's execution in an upload. outcome: 0 passed, 1 failed,
-- 2 errored, 3 skipped. duration_ms NULL when the report gives no time.
CREATE TABLE test_executions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id   INTEGER NOT NULL REFERENCES test_uploads (id) ON DELETE CASCADE,
    test_id     INTEGER NOT NULL REFERENCES test_cases (id),
    outcome     INTEGER NOT NULL,
    duration_ms INTEGER,
    reruns      INTEGER NOT NULL
);
CREATE INDEX test_executions_by_upload ON test_executions (upload_id, outcome);
CREATE INDEX test_executions_by_test ON test_executions (test_id, upload_id);

-- Failure texts, only for failed and errored executions (capped); id is
-- the execution's id.
CREATE TABLE test_failures (
    id           INTEGER PRIMARY KEY REFERENCES test_executions (id) ON DELETE CASCADE,
    message      TEXT,
    failure_type TEXT,
    details      TEXT
);
