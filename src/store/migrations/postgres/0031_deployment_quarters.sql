-- (PostgreSQL) Deployment counts roll-up (store/deployments/quarters.rs):
-- per quarter hour of the finish (finished_at / 900), environment and
-- provider, the counted deployments (dora_state set), the successful ones
-- (dora_state = 0) and those with a failure or rollback signal
-- (dora_signal set), so GET /api/dora and /api/dora/timeseries read a few
-- rows per quarter hour instead of the deployments (every time zone's
-- offset is a whole number of quarter hours, so a quarter hour lies in one
-- local day). No repository in the key: a repository's deployments are
-- read from `deployments` by its index. Kept by a trigger on
-- `deployments` in the writing transaction, whatever writes (derive,
-- retention, `db copy`), so it is not copied itself. Filled below from the
-- facts already derived.
CREATE TABLE deployment_quarters (
    quarter     BIGINT NOT NULL,
    environment TEXT   NOT NULL,
    provider_id BIGINT NOT NULL,
    counted     BIGINT NOT NULL,
    successes   BIGINT NOT NULL,
    signalled   BIGINT NOT NULL,
    PRIMARY KEY (quarter, environment, provider_id)
);
INSERT INTO deployment_quarters (quarter, environment, provider_id, counted, successes, signalled)
SELECT finished_at / 900, environment, provider_id, COUNT(*),
       SUM(CASE WHEN dora_state = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN dora_signal IS NOT NULL THEN 1 ELSE 0 END)
FROM deployments WHERE finished_at IS NOT NULL AND dora_state IS NOT NULL
GROUP BY finished_at / 900, environment, provider_id;
CREATE FUNCTION deployment_quarters_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.provider_id = NEW.provider_id AND OLD.environment = NEW.environment
       AND OLD.finished_at / 900 IS NOT DISTINCT FROM NEW.finished_at / 900
       AND OLD.dora_state IS NOT DISTINCT FROM NEW.dora_state
       AND (OLD.dora_signal IS NULL) = (NEW.dora_signal IS NULL) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.finished_at IS NOT NULL AND OLD.dora_state IS NOT NULL THEN
        UPDATE deployment_quarters SET counted = counted - 1,
            successes = successes - CASE WHEN OLD.dora_state = 0 THEN 1 ELSE 0 END,
            signalled = signalled - CASE WHEN OLD.dora_signal IS NOT NULL THEN 1 ELSE 0 END
        WHERE quarter = OLD.finished_at / 900 AND environment = OLD.environment AND provider_id = OLD.provider_id;
        DELETE FROM deployment_quarters
        WHERE quarter = OLD.finished_at / 900 AND environment = OLD.environment AND provider_id = OLD.provider_id
          AND counted <= 0;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.finished_at IS NOT NULL AND NEW.dora_state IS NOT NULL THEN
        INSERT INTO deployment_quarters (quarter, environment, provider_id, counted, successes, signalled)
        VALUES (NEW.finished_at / 900, NEW.environment, NEW.provider_id, 1,
                CASE WHEN NEW.dora_state = 0 THEN 1 ELSE 0 END, CASE WHEN NEW.dora_signal IS NOT NULL THEN 1 ELSE 0 END)
        ON CONFLICT (quarter, environment, provider_id) DO UPDATE
        SET counted = deployment_quarters.counted + 1,
            successes = deployment_quarters.successes + excluded.successes,
            signalled = deployment_quarters.signalled + excluded.signalled;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER deployment_quarters_keep AFTER INSERT OR UPDATE OR DELETE ON deployments
FOR EACH ROW EXECUTE FUNCTION deployment_quarters_keep();
-- The outages failed deployments opened, by finish (few rows of a window).
CREATE INDEX deployments_opened_outages ON deployments (finished_at) WHERE dora_opens_outage = 1;

-- Lead-time buckets (store/deployments/lead_days.rs): per provider,
-- environment, UTC day and lead-time bucket (its low: whole minutes below an hour, 10 minutes
-- below a day, whole hours above), how many commits `deployment_lead_days`
-- counts there (no repository: a repository's buckets are summed from
-- `deployment_lead_days`). A window's lead-time percentiles find the buckets holding
-- the ranks they need here, then read only those buckets' exact lead times
-- from `deployment_lead_days` (by lead time: the index below). Kept by a
-- trigger on `deployment_lead_days`, whatever writes it.
CREATE TABLE deployment_lead_buckets (
    provider_id BIGINT NOT NULL,
    environment TEXT   NOT NULL,
    day         BIGINT NOT NULL,
    bucket      BIGINT NOT NULL,
    commits     BIGINT NOT NULL,
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
CREATE FUNCTION deployment_lead_buckets_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE deployment_lead_buckets SET commits = commits - OLD.commits
        WHERE provider_id = OLD.provider_id AND environment = OLD.environment AND day = OLD.day
          AND bucket = CASE WHEN OLD.lead_seconds < 3600 THEN OLD.lead_seconds - OLD.lead_seconds % 60
                            WHEN OLD.lead_seconds < 86400 THEN OLD.lead_seconds - OLD.lead_seconds % 600
                            ELSE OLD.lead_seconds - OLD.lead_seconds % 3600 END;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO deployment_lead_buckets (provider_id, environment, day, bucket, commits)
        VALUES (NEW.provider_id, NEW.environment, NEW.day,
                CASE WHEN NEW.lead_seconds < 3600 THEN NEW.lead_seconds - NEW.lead_seconds % 60
                     WHEN NEW.lead_seconds < 86400 THEN NEW.lead_seconds - NEW.lead_seconds % 600
                     ELSE NEW.lead_seconds - NEW.lead_seconds % 3600 END, NEW.commits)
        ON CONFLICT (provider_id, environment, day, bucket) DO UPDATE
        SET commits = deployment_lead_buckets.commits + excluded.commits;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM deployment_lead_buckets
        WHERE provider_id = OLD.provider_id AND environment = OLD.environment AND day = OLD.day
          AND commits <= 0;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER deployment_lead_buckets_keep AFTER INSERT OR UPDATE OR DELETE ON deployment_lead_days
FOR EACH ROW EXECUTE FUNCTION deployment_lead_buckets_keep();
