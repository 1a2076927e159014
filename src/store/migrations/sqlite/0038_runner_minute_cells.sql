-- Minute cells by id (store/runner_rollups): one row per provider,
-- repository, workflow, job key name and label set the minute roll-ups
-- have held, so a window's minutes are summed per cell id (a narrow
-- integer sort) and named once per cell, instead of sorting every day's
-- rows by four texts (42 of the 46 ms of /api/insights/minutes over 30
-- days at 1 M jobs on SQLite). Written by the fold, never updated; kept
-- when retention deletes the days that used it (a cell's id stays true).
-- A workflow or job of '' and none share a cell (no provider names either
-- ''). Rows without a provider (folded before 0029) get no cell: their
-- days have no rollup_runner_folded row, so the next fold recomputes them.
CREATE TABLE runner_minute_cells (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    repo     TEXT NOT NULL,
    workflow TEXT,
    job      TEXT,
    labels   TEXT NOT NULL
);
CREATE UNIQUE INDEX runner_minute_cells_by_name ON runner_minute_cells
    (provider, repo, (COALESCE(workflow, '')), (COALESCE(job, '')), labels);

ALTER TABLE rollup_runner_minutes ADD COLUMN cell INTEGER;
ALTER TABLE rollup_runner_hour_minutes ADD COLUMN cell INTEGER;

-- The fill: every cell of the rows folded so far, then each row's cell
-- (the fold gives each row it writes its cell: store/runner_rollups/fold.rs).
INSERT INTO runner_minute_cells (provider, repo, workflow, job, labels)
    SELECT provider, repo, workflow, job, labels FROM rollup_runner_minutes WHERE provider IS NOT NULL
    UNION SELECT provider, repo, workflow, job, labels FROM rollup_runner_hour_minutes WHERE provider IS NOT NULL
    ON CONFLICT DO NOTHING;

UPDATE rollup_runner_minutes SET cell = (SELECT c.id FROM runner_minute_cells c
    WHERE c.provider = rollup_runner_minutes.provider AND c.repo = rollup_runner_minutes.repo
    AND COALESCE(c.workflow, '') = COALESCE(rollup_runner_minutes.workflow, '')
    AND COALESCE(c.job, '') = COALESCE(rollup_runner_minutes.job, '')
    AND c.labels = rollup_runner_minutes.labels);
UPDATE rollup_runner_hour_minutes SET cell = (SELECT c.id FROM runner_minute_cells c
    WHERE c.provider = rollup_runner_hour_minutes.provider AND c.repo = rollup_runner_hour_minutes.repo
    AND COALESCE(c.workflow, '') = COALESCE(rollup_runner_hour_minutes.workflow, '')
    AND COALESCE(c.job, '') = COALESCE(rollup_runner_hour_minutes.job, '')
    AND c.labels = rollup_runner_hour_minutes.labels);

-- A window's cells are read from these indexes alone: by day (hour), then
-- the filters, the cell and its sums.
DROP INDEX rollup_runner_minutes_cells;
CREATE INDEX rollup_runner_minutes_cells ON rollup_runner_minutes
    (day, provider, repo, cell, jobs, runner_minutes);
DROP INDEX rollup_runner_hour_minutes_cells;
CREATE INDEX rollup_runner_hour_minutes_cells ON rollup_runner_hour_minutes
    (hour, provider, repo, cell, jobs, runner_minutes);
