-- The runner roll-ups (store/runner_rollups): per UTC day of the jobs'
-- start (jobs.started_at / 86400), what /api/insights/runners and
-- /api/insights/minutes tally, folded with the other roll-ups (and, like
-- them, recomputed after `db copy`, not copied). Retention deletes days
-- before its cutoff's day.

-- The UTC day a job's start left (the first such day since the last
-- fold), so that day's runner roll-ups are known to be stale; set by the
-- ingest UPDATE, cleared by the fold.
ALTER TABLE jobs ADD COLUMN moved_from INTEGER;
CREATE INDEX jobs_moved ON jobs (moved_from) WHERE moved_from IS NOT NULL;

-- Per day and label set (JSON array, lowercased, sorted): jobs started
-- that day (any not skipped; `jobs` counts those a runner took), the
-- runner groups (JSON array) that ran them, and their exact queue-time
-- histogram packed (store/runner_rollups/packed.rs: whole seconds -> jobs).
CREATE TABLE rollup_runner_days (
    day           INTEGER NOT NULL,
    labels        TEXT   NOT NULL,
    jobs          INTEGER NOT NULL,
    runner_groups TEXT   NOT NULL,
    queues        BLOB  NOT NULL,
    PRIMARY KEY (day, labels)
);

-- Per UTC hour (Unix seconds / 3600) and label set: the peak concurrency of
-- finished jobs, each counted until the end of the UTC day after its start
-- (hours with no job running are left out).
CREATE TABLE rollup_runner_peaks (
    hour   INTEGER NOT NULL,
    labels TEXT   NOT NULL,
    peak   INTEGER NOT NULL,
    PRIMARY KEY (hour, labels)
);

-- Per day, repository, workflow, job key name and label set: completed
-- jobs and their runner minutes (each rounded up).
CREATE TABLE rollup_runner_minutes (
    day            INTEGER NOT NULL,
    repo           TEXT   NOT NULL,
    workflow       TEXT,
    job            TEXT,
    labels         TEXT   NOT NULL,
    jobs           INTEGER NOT NULL,
    runner_minutes INTEGER NOT NULL
);
CREATE INDEX rollup_runner_minutes_by_day ON rollup_runner_minutes (day);

-- Existing databases: the next fold recomputes every day (and so fills
-- these tables).
DELETE FROM rollup_state;
