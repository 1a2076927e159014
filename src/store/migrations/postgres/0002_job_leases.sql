-- Leases for periodic work that must run on one replica at a time and once
-- per interval (scheduler). Timestamps are Unix seconds (UTC).
CREATE TABLE job_leases (
    name             TEXT PRIMARY KEY,
    owner            TEXT,
    locked_until     BIGINT NOT NULL DEFAULT 0,
    last_started_at  BIGINT,
    last_finished_at BIGINT,
    last_error       TEXT,
    runs             BIGINT NOT NULL DEFAULT 0
);
