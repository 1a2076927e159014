-- (PostgreSQL) Daily roll-ups for /api/metrics/summary (store/rollups.rs). `day` is the
-- UTC day number, sort_at / 86400. Folded by the `rollups` job; reads use a
-- day's roll-up only when none of its attempts changed after
-- rollup_state.folded_through.
ALTER TABLE builds ADD COLUMN moved_from BIGINT; -- day an attempt left since the last fold
CREATE INDEX builds_moved ON builds (moved_from) WHERE moved_from IS NOT NULL;

CREATE TABLE rollup_counts (
    day          BIGINT NOT NULL,
    repo         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     BIGINT NOT NULL,
    completed    BIGINT NOT NULL,
    timed        BIGINT NOT NULL,
    duration_sum BIGINT NOT NULL,
    PRIMARY KEY (day, repo, status)
);

-- Exact histograms (whole seconds → attempts), so percentiles stay exact.
CREATE TABLE rollup_durations (
    day      BIGINT NOT NULL,
    seconds  BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    PRIMARY KEY (day, seconds)
);

CREATE TABLE rollup_queues (
    day      BIGINT NOT NULL,
    seconds  BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    PRIMARY KEY (day, seconds)
);

CREATE TABLE rollup_state (
    id             BIGINT PRIMARY KEY CHECK (id = 1),
    folded_through BIGINT NOT NULL
);
