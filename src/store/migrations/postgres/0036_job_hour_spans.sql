-- The packed hour spans of the job roll-up (store/jobs/hour_spans.rs): per
-- aligned run of 2, 4 or 8 UTC hours of the run attempts' start (first_hour
-- a multiple of hours, so a span never crosses a day), two values in
-- rollup_job_hours' layout holding every job key's exact tallies of those
-- hours (jobs; steps). The job list reads the hours of a window's edge days
-- from a few of them and rollup_job_hours. Folded with rollup_job_hours
-- (recomputed after `db copy`, not copied); a span without jobs has no row,
-- and a missing span is read as its halves; retention deletes spans of the
-- days before its cutoff's day.
CREATE TABLE rollup_job_hour_spans (
    first_hour BIGINT NOT NULL,
    hours      BIGINT NOT NULL,
    jobs       BYTEA   NOT NULL,
    steps      BYTEA   NOT NULL, -- read only when the steps are wanted
    PRIMARY KEY (first_hour, hours)
);
