-- Hourly runner roll-ups (store/runner_rollups): for the days the fold
-- treats as recent (the day of its `through` and the day before), the
-- runner roll-ups again per UTC hour of the jobs' start (started_at / 3600),
-- so a reader scans only the hours a job write made stale (or whose jobs
-- end after its `now`) instead of the whole day. The fold deletes the rows
-- of older days; an hour is read from here only while its day has a
-- `rollup_runner_folded` row (retention deletes that row).

-- Per hour and label set: as rollup_runner_days.
CREATE TABLE rollup_runner_hours (
    hour          BIGINT NOT NULL,
    labels        TEXT   NOT NULL,
    jobs          BIGINT NOT NULL,
    runner_groups TEXT   NOT NULL,
    queues        BYTEA  NOT NULL,
    PRIMARY KEY (hour, labels)
);

-- Per hour, provider, repository, workflow, job key name and label set:
-- as rollup_runner_minutes.
CREATE TABLE rollup_runner_hour_minutes (
    hour           BIGINT NOT NULL,
    provider       TEXT   NOT NULL,
    repo           TEXT   NOT NULL,
    workflow       TEXT,
    job            TEXT,
    labels         TEXT   NOT NULL,
    jobs           BIGINT NOT NULL,
    runner_minutes BIGINT NOT NULL
);
CREATE INDEX rollup_runner_hour_minutes_cells ON rollup_runner_hour_minutes
    (hour, provider, repo, workflow, job, labels, jobs, runner_minutes);

-- Every hour of a day folded hourly: the latest start or end of the jobs
-- started in it when folded (no job: the hour's start).
CREATE TABLE rollup_runner_hour_latest (
    hour   BIGINT PRIMARY KEY,
    latest BIGINT NOT NULL
);
