-- Daily roll-ups for /api/metrics/summary (store/rollups.rs). `day` is the
-- UTC day number, sort_at / 86400. Folded by the `rollups` job; reads use a
-- day's roll-up only when none of its attempts changed after
-- rollup_state.folded_through.
ALTER TABLE builds ADD COLUMN moved_from INTEGER; -- day an attempt left since the last fold
CREATE INDEX builds_moved ON builds (moved_from) WHERE moved_from IS NOT NULL;

CREATE TABLE rollup_counts (
    day          INTEGER NOT NULL,
    repo         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    completed    INTEGER NOT NULL,
    timed        INTEGER NOT NULL,
    duration_sum INTEGER NOT NULL,
    PRIMARY KEY (day, repo, status)
) WITHOUT ROWID;

-- Exact histograms (whole seconds → attempts), so percentiles stay exact.
CREATE TABLE rollup_durations (
    day      INTEGER NOT NULL,
    seconds  INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (day, seconds)
) WITHOUT ROWID;

CREATE TABLE rollup_queues (
    day      INTEGER NOT NULL,
    seconds  INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (day, seconds)
) WITHOUT ROWID;

CREATE TABLE rollup_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    folded_through INTEGER NOT NULL
);
