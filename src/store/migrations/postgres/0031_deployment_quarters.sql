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
