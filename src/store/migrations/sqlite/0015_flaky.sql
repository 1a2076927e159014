-- Flaky occurrences (domain/flaky): kept by the write path whenever a
-- commit group's attempts or jobs change (store/flaky), so the flaky
-- insights read this small table instead of scanning jobs. kind: 'retry'
-- (passed on retry), 'job' (flaky job), 'commit' (same commit, different
-- result). run_id is '' for a commit occurrence; seen_at is Unix seconds.
CREATE TABLE flaky_occurrences (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    provider_id     INTEGER NOT NULL REFERENCES providers (id),
    repo            TEXT    NOT NULL,
    workflow        TEXT    NOT NULL,
    run_id          TEXT    NOT NULL,
    commit_sha      TEXT,
    branch          TEXT,
    key_id          INTEGER,
    job_name        TEXT,
    build_id        INTEGER NOT NULL,
    failed_build_id INTEGER NOT NULL,
    job_id          INTEGER,
    failed_job_id   INTEGER,
    failures        INTEGER NOT NULL,
    wasted_seconds  INTEGER NOT NULL,
    seen_at         INTEGER NOT NULL
);
CREATE INDEX flaky_by_seen ON flaky_occurrences (seen_at, kind);
CREATE INDEX flaky_by_run ON flaky_occurrences (provider_id, repo, run_id);
CREATE INDEX flaky_by_commit ON flaky_occurrences (provider_id, repo, commit_sha, workflow);
CREATE INDEX flaky_by_build ON flaky_occurrences (build_id);
CREATE INDEX flaky_by_failed_build ON flaky_occurrences (failed_build_id);
-- A workflow's conclusive attempts in a window (the flaky rate's
-- denominator, counted from the index alone).
CREATE INDEX builds_by_workflow ON builds (provider_id, repo, workflow, sort_at, status, branch);
-- A commit group's attempts across runs (the write path's look-up).
CREATE INDEX builds_by_commit ON builds (provider_id, repo, commit_sha, workflow);
-- Whether the attempts stored before this migration have had their flaky
-- occurrences found (store/flaky/backfill.rs, once at start-up). A marker
-- of this database, not copied by `db copy`.
CREATE TABLE flaky_backfill (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    done INTEGER NOT NULL
);
INSERT INTO flaky_backfill (id, done) VALUES (1, 0);
