-- Lead-time roll-up (store/deployments/lead_days.rs): per stream
-- (provider, repository, environment), UTC day of the deployment's finish
-- (finished_at / 86400) and lead time in whole seconds, how many carried
-- commits of deployment_commits have it (rows without a lead time are not
-- counted). Kept in the transaction that derives a stream (what
-- deployment_commits gains and loses there); retention drops the days
-- before its cutoff and recomputes the cutoff's day. GET /api/dora reads a
-- window's whole days here and only its partial first and last day from
-- deployment_commits. Filled from the rows there now.
CREATE TABLE deployment_lead_days (
    provider_id  BIGINT NOT NULL,
    repo         TEXT   NOT NULL,
    environment  TEXT   NOT NULL,
    day          BIGINT NOT NULL,
    lead_seconds BIGINT NOT NULL,
    commits      BIGINT NOT NULL,
    PRIMARY KEY (provider_id, repo, environment, day, lead_seconds)
);
CREATE INDEX deployment_lead_days_by_day ON deployment_lead_days (day, environment, repo, lead_seconds, commits);
INSERT INTO deployment_lead_days (provider_id, repo, environment, day, lead_seconds, commits)
SELECT provider_id, repo, environment, finished_at / 86400, lead_seconds, COUNT(*) FROM deployment_commits
WHERE lead_seconds IS NOT NULL
GROUP BY provider_id, repo, environment, finished_at / 86400, lead_seconds;
