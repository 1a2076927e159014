-- The packed day spans of the job roll-up (store/jobs/spans.rs): per
-- aligned run of 2^level UTC days (first_day a multiple of days; days 1,
-- 2, 4, ... 64), two values in rollup_job_hours' layout holding every job
-- key's exact tallies of those days (jobs; steps). The job list reads a
-- window's whole clean days from a few of them. Folded with the other
-- roll-ups (recomputed after `db copy`, not copied); retention deletes
-- spans starting before its cutoff's day.
CREATE TABLE rollup_job_spans (
    first_day BIGINT NOT NULL,
    days      BIGINT NOT NULL,
    jobs      BYTEA    NOT NULL,
    steps     BYTEA    NOT NULL, -- read only when the steps are wanted
    PRIMARY KEY (first_day, days)
);
