-- Failure roll-up (store/failures/days): per UTC day (`failed_at / 86400`)
-- and failure signature, repository, workflow, branch, job name and class,
-- how many failed jobs there are (`failures`), how many (signature, run
-- attempt) pairs have their latest failure — by failed_at, then job id —
-- here (`builds`), and the latest failed_at (`last_at`). NULL workflow,
-- branch and job name are stored as '' with bits 1, 2 and 4 of `nulls`
-- set. Kept in the transaction of every write that adds, rewrites, moves or
-- deletes a row of job_failures; failures without a signature are not
-- counted.
CREATE TABLE failure_days (
    day          INTEGER NOT NULL,
    signature_id INTEGER NOT NULL,
    repo         TEXT    NOT NULL,
    workflow     TEXT    NOT NULL,
    branch       TEXT    NOT NULL,
    job_name     TEXT    NOT NULL,
    nulls        INTEGER NOT NULL,
    class        TEXT    NOT NULL,
    failures     INTEGER NOT NULL,
    builds       INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    PRIMARY KEY (day, signature_id, repo, workflow, branch, job_name, nulls, class)
);
CREATE INDEX failure_days_by_signature ON failure_days (signature_id, day);

INSERT INTO failure_days (day, signature_id, repo, workflow, branch, job_name, nulls, class, failures, builds,
    last_at)
SELECT failed_at / 86400, signature_id, repo, COALESCE(workflow, ''), COALESCE(branch, ''),
    COALESCE(job_name, ''),
    (CASE WHEN workflow IS NULL THEN 1 ELSE 0 END) + (CASE WHEN branch IS NULL THEN 2 ELSE 0 END)
        + (CASE WHEN job_name IS NULL THEN 4 ELSE 0 END),
    class, COUNT(*), CAST(SUM(CASE WHEN latest = 1 THEN 1 ELSE 0 END) AS BIGINT), MAX(failed_at)
FROM (SELECT f.*, ROW_NUMBER() OVER (PARTITION BY f.signature_id, f.build_id
          ORDER BY f.failed_at DESC, f.job_id DESC) AS latest
      FROM job_failures f WHERE f.signature_id IS NOT NULL) AS x
GROUP BY failed_at / 86400, signature_id, repo, COALESCE(workflow, ''), COALESCE(branch, ''),
    COALESCE(job_name, ''),
    (CASE WHEN workflow IS NULL THEN 1 ELSE 0 END) + (CASE WHEN branch IS NULL THEN 2 ELSE 0 END)
        + (CASE WHEN job_name IS NULL THEN 4 ELSE 0 END),
    class;
