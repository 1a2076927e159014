-- GitLab's retry placing (domain::tries): which jobs the run state stored
-- in a run attempt listed (a Pipeline Hook's `builds`, a polled pipeline's
-- jobs), so that when an earlier try of one of them arrives later the
-- state can move to the attempt its jobs now belong to. Rows go with
-- their attempt.
CREATE TABLE attempt_listings (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    job_id   TEXT    NOT NULL,
    UNIQUE (build_id, job_id)
);
