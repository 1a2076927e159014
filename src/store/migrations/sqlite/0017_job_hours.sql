-- The hourly packed job roll-up (store/jobs/packed.rs): per UTC hour of
-- the run attempts' start (builds.sort_at / 3600), one value holding every
-- job key's exact tallies of that hour; the job list reads it. Folded with
-- the other roll-ups; retention deletes hours before its cutoff's day.
CREATE TABLE rollup_job_hours (
    hour INTEGER PRIMARY KEY,
    jobs BLOB    NOT NULL
);

-- Retention deletes the job keys no job and no roll-up names
-- (store/jobs/retention.rs): found by key.
CREATE INDEX rollup_jobs_by_key ON rollup_jobs (key_id);
