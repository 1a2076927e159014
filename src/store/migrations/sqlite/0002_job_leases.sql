-- Leases for periodic work that must run on one replica at a time and once
-- per interval (scheduler). Timestamps are Unix seconds (UTC).
CREATE TABLE job_leases (
    name             TEXT PRIMARY KEY,
    owner            TEXT,
    locked_until     INTEGER NOT NULL DEFAULT 0,
    last_started_at  INTEGER,
    last_finished_at INTEGER,
    last_error       TEXT,
    runs             INTEGER NOT NULL DEFAULT 0
);
