-- Folded runner days (store/runner_rollups): per UTC day whose runner
-- roll-ups the fold last computed, the latest instant (Unix seconds) any of
-- its jobs started or completed at then. A day is read from the roll-ups
-- only with a row here (retention deletes the rows of the days whose jobs
-- it deletes, so the next fold recomputes them) and `latest` before the
-- read's `now` (so today's roll-ups, too, equal a scan of it up to now).
CREATE TABLE rollup_runner_folded (
    day    INTEGER PRIMARY KEY,
    latest INTEGER NOT NULL
);

-- The provider kind of a minute cell, so a `provider` filter reads the
-- roll-ups too. Rows folded before have none: their days have no
-- `rollup_runner_folded` row, so the next fold recomputes them.
ALTER TABLE rollup_runner_minutes ADD COLUMN provider TEXT;

-- A window's minute cells are read from this index alone (no row
-- lookups): by day, then what the filters and groupings read.
DROP INDEX rollup_runner_minutes_by_day;
CREATE INDEX rollup_runner_minutes_cells ON rollup_runner_minutes
    (day, provider, repo, workflow, job, labels, jobs, runner_minutes);
