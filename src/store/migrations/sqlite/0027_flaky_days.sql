-- Flaky roll-up (store/flaky/days.rs): per UTC day of `seen_at`
-- (`seen_at / 86400`) and provider, repository, workflow ('' when unknown)
-- and branch (NULL stored as '' with `branch_null` 1), one row per report
-- line of `/api/insights/flaky`: the workflow's (`key_id` 0) and each job
-- key's with a flaky job there. The line's sums of that day's flaky
-- occurrences (metrics/flaky.rs: counted occurrences, passed on retry,
-- flaky jobs, flaky failures, wasted seconds), its last seen, and its 3
-- latest counted occurrences as a JSON list (`examples`; the newest one's
-- seen_at and passing attempt in `top_at` and `top_build`, -1 when none).
-- Kept in the transaction that replaces a commit group's occurrences, by
-- recomputing each day cell the replaced and the new occurrences fall in;
-- retention drops the days before its cutoff and recomputes the cutoff's
-- day; rebuilt at start-up when occurrences exist without it, and after
-- `db copy`.
CREATE TABLE flaky_days (
    day             INTEGER NOT NULL,
    provider_id     INTEGER NOT NULL,
    repo            TEXT    NOT NULL,
    workflow        TEXT    NOT NULL,
    branch          TEXT    NOT NULL,
    branch_null     INTEGER NOT NULL,
    key_id          INTEGER NOT NULL,
    occurrences     INTEGER NOT NULL,
    passed_on_retry INTEGER NOT NULL,
    flaky_jobs      INTEGER NOT NULL,
    failures        INTEGER NOT NULL,
    wasted_seconds  INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    top_at          INTEGER NOT NULL,
    top_build       INTEGER NOT NULL,
    examples        TEXT    NOT NULL,
    PRIMARY KEY (day, provider_id, repo, workflow, branch, branch_null, key_id)
);
-- A day cell's occurrences (the roll-up's recomputation).
CREATE INDEX flaky_by_cell ON flaky_occurrences (provider_id, repo, workflow, seen_at);

-- Failure totals per UTC day, signature and class (store/failures/days.rs):
-- the sums of failure_days' rows of that day, signature and class
-- (failures, builds, latest failed_at), kept in the same transaction as
-- failure_days; the failure list's totals read it when no repository,
-- workflow or branch narrows the list.
CREATE TABLE failure_signature_days (
    day          INTEGER NOT NULL,
    signature_id INTEGER NOT NULL,
    class        TEXT    NOT NULL,
    failures     INTEGER NOT NULL,
    builds       INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    PRIMARY KEY (day, signature_id, class)
);
INSERT INTO failure_signature_days (day, signature_id, class, failures, builds, last_at)
SELECT day, signature_id, class, CAST(SUM(failures) AS BIGINT), CAST(SUM(builds) AS BIGINT), MAX(last_at)
FROM failure_days GROUP BY day, signature_id, class;
