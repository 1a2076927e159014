-- Deployment counts roll-up (store/deployments/quarters.rs): per quarter
-- hour of the finish (finished_at / 900), environment and provider, the
-- counted deployments (dora_state set), the successful ones
-- (dora_state = 0) and those with a failure or rollback signal
-- (dora_signal set), so GET /api/dora and /api/dora/timeseries read a few
-- rows per quarter hour instead of the deployments (every time zone's
-- offset is a whole number of quarter hours, so a quarter hour lies in one
-- local day). No repository in the key: a repository's deployments are
-- read from `deployments` by its index. Kept by triggers on `deployments`
-- in the writing transaction, whatever writes (derive, retention,
-- `db copy`), so it is not copied itself. Filled below from the facts
-- already derived.
CREATE TABLE deployment_quarters (
    quarter     INTEGER NOT NULL,
    environment TEXT    NOT NULL,
    provider_id INTEGER NOT NULL,
    counted     INTEGER NOT NULL,
    successes   INTEGER NOT NULL,
    signalled   INTEGER NOT NULL,
    PRIMARY KEY (quarter, environment, provider_id)
);
INSERT INTO deployment_quarters (quarter, environment, provider_id, counted, successes, signalled)
SELECT finished_at / 900, environment, provider_id, COUNT(*),
       SUM(CASE WHEN dora_state = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN dora_signal IS NOT NULL THEN 1 ELSE 0 END)
FROM deployments WHERE finished_at IS NOT NULL AND dora_state IS NOT NULL
GROUP BY finished_at / 900, environment, provider_id;
CREATE TRIGGER deployment_quarters_insert AFTER INSERT ON deployments
WHEN NEW.finished_at IS NOT NULL AND NEW.dora_state IS NOT NULL
BEGIN
    INSERT INTO deployment_quarters (quarter, environment, provider_id, counted, successes, signalled)
    VALUES (NEW.finished_at / 900, NEW.environment, NEW.provider_id, 1,
            CASE WHEN NEW.dora_state = 0 THEN 1 ELSE 0 END, CASE WHEN NEW.dora_signal IS NOT NULL THEN 1 ELSE 0 END)
    ON CONFLICT (quarter, environment, provider_id) DO UPDATE
    SET counted = counted + 1, successes = successes + excluded.successes, signalled = signalled + excluded.signalled;
END;
CREATE TRIGGER deployment_quarters_delete AFTER DELETE ON deployments
WHEN OLD.finished_at IS NOT NULL AND OLD.dora_state IS NOT NULL
BEGIN
    UPDATE deployment_quarters SET counted = counted - 1,
        successes = successes - CASE WHEN OLD.dora_state = 0 THEN 1 ELSE 0 END,
        signalled = signalled - CASE WHEN OLD.dora_signal IS NOT NULL THEN 1 ELSE 0 END
    WHERE quarter = OLD.finished_at / 900 AND environment = OLD.environment AND provider_id = OLD.provider_id;
    DELETE FROM deployment_quarters
    WHERE quarter = OLD.finished_at / 900 AND environment = OLD.environment AND provider_id = OLD.provider_id
      AND counted <= 0;
END;
CREATE TRIGGER deployment_quarters_update AFTER UPDATE ON deployments
WHEN OLD.provider_id IS NOT NEW.provider_id OR OLD.environment IS NOT NEW.environment
  OR OLD.finished_at / 900 IS NOT NEW.finished_at / 900 OR OLD.dora_state IS NOT NEW.dora_state
  OR (OLD.dora_signal IS NULL) IS NOT (NEW.dora_signal IS NULL)
BEGIN
    UPDATE deployment_quarters SET counted = counted - 1,
        successes = successes - CASE WHEN OLD.dora_state = 0 THEN 1 ELSE 0 END,
        signalled = signalled - CASE WHEN OLD.dora_signal IS NOT NULL THEN 1 ELSE 0 END
    WHERE OLD.finished_at IS NOT NULL AND OLD.dora_state IS NOT NULL
      AND quarter = OLD.finished_at / 900 AND environment = OLD.environment AND provider_id = OLD.provider_id;
    DELETE FROM deployment_quarters
    WHERE quarter = OLD.finished_at / 900 AND environment = OLD.environment AND provider_id = OLD.provider_id
      AND counted <= 0;
    INSERT INTO deployment_quarters (quarter, environment, provider_id, counted, successes, signalled)
    SELECT NEW.finished_at / 900, NEW.environment, NEW.provider_id, 1,
           CASE WHEN NEW.dora_state = 0 THEN 1 ELSE 0 END, CASE WHEN NEW.dora_signal IS NOT NULL THEN 1 ELSE 0 END
    WHERE NEW.finished_at IS NOT NULL AND NEW.dora_state IS NOT NULL
    ON CONFLICT (quarter, environment, provider_id) DO UPDATE
    SET counted = counted + 1, successes = successes + excluded.successes, signalled = signalled + excluded.signalled;
END;
-- The outages failed deployments opened, by finish (few rows of a window).
CREATE INDEX deployments_opened_outages ON deployments (finished_at) WHERE dora_opens_outage = 1;

-- Lead-time buckets (store/deployments/lead_days.rs): per provider,
-- environment, UTC day and lead-time bucket (its low: whole minutes below an hour, 10 minutes
-- below a day, whole hours above), how many commits `deployment_lead_days`
-- counts there (no repository: a repository's buckets are summed from
-- `deployment_lead_days`). A window's lead-time percentiles find the buckets holding
-- the ranks they need here, then read only those buckets' exact lead times
-- from `deployment_lead_days` (by lead time: the index below). Kept by
-- triggers on `deployment_lead_days`, whatever writes it.
CREATE TABLE deployment_lead_buckets (
    provider_id INTEGER NOT NULL,
    environment TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    commits     INTEGER NOT NULL,
    PRIMARY KEY (provider_id, environment, day, bucket)
);
CREATE INDEX deployment_lead_buckets_by_day ON deployment_lead_buckets (day, environment, bucket, commits);
CREATE INDEX deployment_lead_days_by_lead ON deployment_lead_days (lead_seconds, day);
INSERT INTO deployment_lead_buckets (provider_id, environment, day, bucket, commits)
SELECT provider_id, environment, day,
       CASE WHEN lead_seconds < 3600 THEN lead_seconds - lead_seconds % 60
            WHEN lead_seconds < 86400 THEN lead_seconds - lead_seconds % 600
            ELSE lead_seconds - lead_seconds % 3600 END, SUM(commits)
FROM deployment_lead_days GROUP BY 1, 2, 3, 4;
CREATE TRIGGER deployment_lead_buckets_insert AFTER INSERT ON deployment_lead_days
BEGIN
    INSERT INTO deployment_lead_buckets (provider_id, environment, day, bucket, commits)
    VALUES (NEW.provider_id, NEW.environment, NEW.day,
            CASE WHEN NEW.lead_seconds < 3600 THEN NEW.lead_seconds - NEW.lead_seconds % 60
                 WHEN NEW.lead_seconds < 86400 THEN NEW.lead_seconds - NEW.lead_seconds % 600
                 ELSE NEW.lead_seconds - NEW.lead_seconds % 3600 END, NEW.commits)
    ON CONFLICT (provider_id, environment, day, bucket) DO UPDATE SET commits = commits + excluded.commits;
END;
CREATE TRIGGER deployment_lead_buckets_delete AFTER DELETE ON deployment_lead_days
BEGIN
    UPDATE deployment_lead_buckets SET commits = commits - OLD.commits
    WHERE provider_id = OLD.provider_id AND environment = OLD.environment AND day = OLD.day
      AND bucket = CASE WHEN OLD.lead_seconds < 3600 THEN OLD.lead_seconds - OLD.lead_seconds % 60
                        WHEN OLD.lead_seconds < 86400 THEN OLD.lead_seconds - OLD.lead_seconds % 600
                        ELSE OLD.lead_seconds - OLD.lead_seconds % 3600 END;
    DELETE FROM deployment_lead_buckets
    WHERE provider_id = OLD.provider_id AND environment = OLD.environment AND day = OLD.day
      AND commits <= 0;
END;
CREATE TRIGGER deployment_lead_buckets_update AFTER UPDATE ON deployment_lead_days
BEGIN
    UPDATE deployment_lead_buckets SET commits = commits - OLD.commits
    WHERE provider_id = OLD.provider_id AND environment = OLD.environment AND day = OLD.day
      AND bucket = CASE WHEN OLD.lead_seconds < 3600 THEN OLD.lead_seconds - OLD.lead_seconds % 60
                        WHEN OLD.lead_seconds < 86400 THEN OLD.lead_seconds - OLD.lead_seconds % 600
                        ELSE OLD.lead_seconds - OLD.lead_seconds % 3600 END;
    INSERT INTO deployment_lead_buckets (provider_id, environment, day, bucket, commits)
    VALUES (NEW.provider_id, NEW.environment, NEW.day,
            CASE WHEN NEW.lead_seconds < 3600 THEN NEW.lead_seconds - NEW.lead_seconds % 60
                 WHEN NEW.lead_seconds < 86400 THEN NEW.lead_seconds - NEW.lead_seconds % 600
                 ELSE NEW.lead_seconds - NEW.lead_seconds % 3600 END, NEW.commits)
    ON CONFLICT (provider_id, environment, day, bucket) DO UPDATE SET commits = commits + excluded.commits;
    DELETE FROM deployment_lead_buckets
    WHERE provider_id = OLD.provider_id AND environment = OLD.environment AND day = OLD.day
      AND commits <= 0;
END;
