-- Runs the job list's packed roll-ups (rollup_job_hours, rollup_job_spans)
-- leave out: at their day's last fold, a run started within a day that was
-- still going or written within ten minutes (store/jobs/fold.rs). A reader
-- scans them by id instead, so writes to a running run make no hour stale.
-- Replaced per day by the fold; retention deletes days before its cutoff.
CREATE TABLE rollup_job_open (
    build_id BIGINT NOT NULL PRIMARY KEY,
    day      BIGINT NOT NULL
);
CREATE INDEX rollup_job_open_by_day ON rollup_job_open (day);
-- The highest run id the last fold saw: a run written since with a higher
-- id is in no packed row (read by id); NULL before the first such fold.
ALTER TABLE rollup_state ADD COLUMN max_build_id BIGINT;
