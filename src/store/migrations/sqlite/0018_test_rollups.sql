-- Per-test daily roll-ups for /api/insights/tests (store/test_results/
-- rollup_write.rs writes them in the upload's transaction, insights_rollup.rs
-- reads them). `day` is the UTC day of the upload, received_at / 86400.
--
-- test_daily: one row per test, day and job name. executions counts the
-- executions that were not skipped; durations lists the timed executions'
-- milliseconds, comma-separated, so percentiles stay exact.
CREATE TABLE test_daily (
    day          INTEGER NOT NULL,
    test_id      INTEGER NOT NULL,
    job_name     TEXT    NOT NULL,
    executions   INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    skipped      INTEGER NOT NULL,
    timed        INTEGER NOT NULL,
    total_ms     INTEGER NOT NULL,
    rerun_passes INTEGER NOT NULL,
    durations    TEXT    NOT NULL,
    PRIMARY KEY (day, test_id, job_name)
) WITHOUT ROWID;
CREATE INDEX test_daily_reruns ON test_daily (day, test_id) WHERE rerun_passes > 0;

-- test_flips: a test failed and passed across a pair of attempts (kind 1:
-- flip_key is the failing attempt's build id, the passing one is the next
-- attempt of its run) or on one commit (kind 2: flip_key is the commit
-- SHA), per failing job and passing job, with the latest upload day of
-- each side.
CREATE TABLE test_flips (
    test_id   INTEGER NOT NULL,
    kind      INTEGER NOT NULL,
    flip_key  TEXT    NOT NULL,
    fail_job  TEXT    NOT NULL,
    pass_job  TEXT    NOT NULL,
    fail_day  INTEGER NOT NULL,
    pass_day  INTEGER NOT NULL,
    PRIMARY KEY (test_id, kind, flip_key, fail_job, pass_job)
) WITHOUT ROWID;
CREATE INDEX test_flips_by_day ON test_flips (fail_day, pass_day);

CREATE INDEX builds_by_repo_commit ON builds (repo, commit_sha) WHERE commit_sha IS NOT NULL;

-- The roll-ups of reports stored before this migration are computed at
-- startup (TestResults::rebuild_rollups_if_missing).
