-- (PostgreSQL) The flaky rate's denominator kept as a tally
-- (store/flaky/read.rs): per (provider, repository, workflow, branch, UTC
-- day of sort_at) the conclusive (success or failed) attempts, so a
-- window's count reads a few rows per day instead of the attempts. Kept by
-- a trigger on `builds` in the writing transaction, whatever writes
-- (ingest, re-placing an attempt, retention, `db copy` inserting the
-- copied attempts), so it is not copied itself. branch '' stands for an
-- attempt without a branch (a branch filter is never empty). Filled below
-- from the attempts already stored.
CREATE TABLE flaky_attempt_days (
    provider_id BIGINT NOT NULL,
    repo        TEXT   NOT NULL,
    workflow    TEXT   NOT NULL,
    day         BIGINT NOT NULL,
    branch      TEXT   NOT NULL,
    attempts    BIGINT NOT NULL,
    PRIMARY KEY (provider_id, repo, workflow, day, branch)
);
-- A window's whole days, whatever the filter.
CREATE INDEX flaky_attempt_days_by_day ON flaky_attempt_days (day);
INSERT INTO flaky_attempt_days (provider_id, repo, workflow, day, branch, attempts)
SELECT provider_id, repo, workflow, sort_at / 86400, COALESCE(branch, ''), COUNT(*) FROM builds
WHERE workflow IS NOT NULL AND status IN ('success', 'failed')
GROUP BY provider_id, repo, workflow, sort_at / 86400, COALESCE(branch, '');
CREATE FUNCTION flaky_days_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.provider_id IS NOT DISTINCT FROM NEW.provider_id AND OLD.repo IS NOT DISTINCT FROM NEW.repo
       AND OLD.workflow IS NOT DISTINCT FROM NEW.workflow AND OLD.branch IS NOT DISTINCT FROM NEW.branch
       AND OLD.status IS NOT DISTINCT FROM NEW.status AND OLD.sort_at / 86400 = NEW.sort_at / 86400 THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.workflow IS NOT NULL AND OLD.status IN ('success', 'failed') THEN
        UPDATE flaky_attempt_days SET attempts = attempts - 1
        WHERE provider_id = OLD.provider_id AND repo = OLD.repo AND workflow = OLD.workflow
          AND day = OLD.sort_at / 86400 AND branch = COALESCE(OLD.branch, '');
        DELETE FROM flaky_attempt_days
        WHERE provider_id = OLD.provider_id AND repo = OLD.repo AND workflow = OLD.workflow
          AND day = OLD.sort_at / 86400 AND branch = COALESCE(OLD.branch, '') AND attempts <= 0;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.workflow IS NOT NULL AND NEW.status IN ('success', 'failed') THEN
        INSERT INTO flaky_attempt_days (provider_id, repo, workflow, day, branch, attempts)
        VALUES (NEW.provider_id, NEW.repo, NEW.workflow, NEW.sort_at / 86400, COALESCE(NEW.branch, ''), 1)
        ON CONFLICT (provider_id, repo, workflow, day, branch) DO UPDATE
        SET attempts = flaky_attempt_days.attempts + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER flaky_days_keep AFTER INSERT OR UPDATE OR DELETE ON builds
FOR EACH ROW EXECUTE FUNCTION flaky_days_keep();
