-- The flaky rate's denominator kept as a tally (store/flaky/read.rs): per
-- (provider, repository, workflow, branch, UTC day of sort_at) the
-- conclusive (success or failed) attempts, so a window's count reads a few
-- rows per day instead of the attempts. Kept by triggers on `builds` in
-- the writing transaction, whatever writes (ingest, re-placing an attempt,
-- retention, `db copy` inserting the copied attempts), so it is not copied
-- itself. branch '' stands for an attempt without a branch (a branch
-- filter is never empty). Filled below from the attempts already stored.
CREATE TABLE flaky_attempt_days (
    provider_id INTEGER NOT NULL,
    repo        TEXT    NOT NULL,
    workflow    TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    branch      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    PRIMARY KEY (provider_id, repo, workflow, day, branch)
);
-- A window's whole days, whatever the filter.
CREATE INDEX flaky_attempt_days_by_day ON flaky_attempt_days (day);
INSERT INTO flaky_attempt_days (provider_id, repo, workflow, day, branch, attempts)
SELECT provider_id, repo, workflow, sort_at / 86400, COALESCE(branch, ''), COUNT(*) FROM builds
WHERE workflow IS NOT NULL AND status IN ('success', 'failed')
GROUP BY provider_id, repo, workflow, sort_at / 86400, COALESCE(branch, '');
CREATE TRIGGER flaky_days_insert AFTER INSERT ON builds
WHEN NEW.workflow IS NOT NULL AND NEW.status IN ('success', 'failed')
BEGIN
    INSERT INTO flaky_attempt_days (provider_id, repo, workflow, day, branch, attempts)
    VALUES (NEW.provider_id, NEW.repo, NEW.workflow, NEW.sort_at / 86400, COALESCE(NEW.branch, ''), 1)
    ON CONFLICT (provider_id, repo, workflow, day, branch) DO UPDATE SET attempts = attempts + 1;
END;
CREATE TRIGGER flaky_days_delete AFTER DELETE ON builds
WHEN OLD.workflow IS NOT NULL AND OLD.status IN ('success', 'failed')
BEGIN
    UPDATE flaky_attempt_days SET attempts = attempts - 1
    WHERE provider_id = OLD.provider_id AND repo = OLD.repo AND workflow = OLD.workflow
      AND day = OLD.sort_at / 86400 AND branch = COALESCE(OLD.branch, '');
    DELETE FROM flaky_attempt_days
    WHERE provider_id = OLD.provider_id AND repo = OLD.repo AND workflow = OLD.workflow
      AND day = OLD.sort_at / 86400 AND branch = COALESCE(OLD.branch, '') AND attempts <= 0;
END;
CREATE TRIGGER flaky_days_update AFTER UPDATE ON builds
WHEN OLD.provider_id IS NOT NEW.provider_id OR OLD.repo IS NOT NEW.repo
  OR OLD.workflow IS NOT NEW.workflow OR OLD.branch IS NOT NEW.branch
  OR OLD.status IS NOT NEW.status OR OLD.sort_at / 86400 IS NOT NEW.sort_at / 86400
BEGIN
    UPDATE flaky_attempt_days SET attempts = attempts - 1
    WHERE OLD.workflow IS NOT NULL AND OLD.status IN ('success', 'failed')
      AND provider_id = OLD.provider_id AND repo = OLD.repo AND workflow = OLD.workflow
      AND day = OLD.sort_at / 86400 AND branch = COALESCE(OLD.branch, '');
    DELETE FROM flaky_attempt_days
    WHERE provider_id = OLD.provider_id AND repo = OLD.repo AND workflow IS OLD.workflow
      AND day = OLD.sort_at / 86400 AND branch = COALESCE(OLD.branch, '') AND attempts <= 0;
    INSERT INTO flaky_attempt_days (provider_id, repo, workflow, day, branch, attempts)
    SELECT NEW.provider_id, NEW.repo, NEW.workflow, NEW.sort_at / 86400, COALESCE(NEW.branch, ''), 1
    WHERE NEW.workflow IS NOT NULL AND NEW.status IN ('success', 'failed')
    ON CONFLICT (provider_id, repo, workflow, day, branch) DO UPDATE SET attempts = attempts + 1;
END;
