-- The cache of /api/insights/tests answers (store/test_results/
-- insights_cache.rs) and the versions that tell when an answer is stale.
--
-- test_day_versions: per repository and UTC upload day (received_at /
-- 86400), a counter raised whenever the test results of that day change:
-- an upload's transaction (insights_cache::bump_day, just before its
-- commit, so concurrent uploads hold the row's lock only while committing),
-- a deleted upload, a deleted build with uploads, a build whose branch or
-- commit changes (the triggers below). The row of repository '*' (day 0)
-- is raised when every answer may change (retention of roll-ups, a
-- roll-up rebuild). Rows are never deleted, so the sum of the counters of
-- a scope only grows: the sum is the version of every answer in that scope.
CREATE TABLE test_day_versions (
    repo    TEXT    NOT NULL,
    day     BIGINT  NOT NULL,
    version BIGINT  NOT NULL,
    PRIMARY KEY (repo, day)
);
INSERT INTO test_day_versions (repo, day, version)
SELECT b.repo, u.received_at / 86400, 1 FROM test_uploads u JOIN builds b ON b.id = u.build_id
GROUP BY b.repo, u.received_at / 86400;

-- test_insight_cache: one computed answer per request (filters, window's
-- first day, list length as JSON), with the version it was computed at.
-- Derived data: not copied by `db copy`, pruned by age.
CREATE TABLE test_insight_cache (
    request   TEXT    NOT NULL PRIMARY KEY,
    versions  BIGINT  NOT NULL,
    stored_at BIGINT  NOT NULL,
    answer    TEXT    NOT NULL
);
CREATE INDEX test_insight_cache_by_age ON test_insight_cache (stored_at);

CREATE FUNCTION test_versions_upload_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO test_day_versions (repo, day, version)
    SELECT b.repo, OLD.received_at / 86400, 1 FROM builds b WHERE b.id = OLD.build_id
    ON CONFLICT (repo, day) DO UPDATE SET version = test_day_versions.version + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER test_versions_upload_gone AFTER DELETE ON test_uploads
FOR EACH ROW EXECUTE FUNCTION test_versions_upload_gone();

CREATE FUNCTION test_versions_build_days() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed builds;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    INSERT INTO test_day_versions (repo, day, version)
    SELECT changed.repo, u.received_at / 86400, 1 FROM test_uploads u WHERE u.build_id = changed.id
    GROUP BY u.received_at / 86400
    ON CONFLICT (repo, day) DO UPDATE SET version = test_day_versions.version + 1;
    RETURN changed;
END
$$;
CREATE TRIGGER test_versions_build_gone BEFORE DELETE ON builds
FOR EACH ROW EXECUTE FUNCTION test_versions_build_days();
CREATE TRIGGER test_versions_build_changed AFTER UPDATE OF branch, commit_sha ON builds
FOR EACH ROW WHEN (OLD.branch IS DISTINCT FROM NEW.branch OR OLD.commit_sha IS DISTINCT FROM NEW.commit_sha)
EXECUTE FUNCTION test_versions_build_days();
