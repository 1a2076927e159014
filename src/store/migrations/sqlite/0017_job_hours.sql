-- The hourly packed job roll-up (store/jobs/packed.rs): per UTC hour of
-- the run attempts' start (builds.sort_at / 3600), two values holding
-- every job key's exact tallies of that hour (jobs; steps); the job list
-- reads it. Folded with the other roll-ups (and, like them, recomputed
-- after `db copy`, not copied); retention deletes hours before its
-- cutoff's day.
CREATE TABLE rollup_job_hours (
    hour INTEGER PRIMARY KEY,
    jobs BLOB    NOT NULL,
    steps BLOB   NOT NULL -- read only when the steps are wanted
);

-- One key's daily roll-ups (`/api/insights/jobs/{key}`) are read by key,
-- then day; retention finds the job keys no roll-up names
-- (store/jobs/retention.rs) by the first.
CREATE INDEX rollup_jobs_by_key ON rollup_jobs (key_id, day);
CREATE INDEX rollup_job_times_by_key ON rollup_job_times (key_id, day);
CREATE INDEX rollup_steps_by_key ON rollup_steps (key_id, day);
CREATE INDEX rollup_step_times_by_key ON rollup_step_times (key_id, day);
