-- The start of each job's run attempt (builds.sort_at) kept on the job,
-- so that one job key's jobs of a span of starts are found by index
-- (jobs_by_key, now (key_id, run_sort_at)) instead of reading every job
-- of the key and looking up its attempt: the job detail's raw edges
-- (store/jobs/read.rs). Kept by triggers in the writing transaction,
-- whatever writes (a job inserted or moved to another attempt, an
-- attempt's start changing, `db copy` inserting the copied jobs), so it is
-- not copied itself. Filled below from the jobs already stored.
ALTER TABLE jobs ADD COLUMN run_sort_at INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET run_sort_at = COALESCE((SELECT b.sort_at FROM builds b WHERE b.id = jobs.build_id), 0);
DROP INDEX jobs_by_key;
CREATE INDEX jobs_by_key ON jobs (key_id, run_sort_at);
CREATE TRIGGER jobs_run_start_insert AFTER INSERT ON jobs
BEGIN
    UPDATE jobs SET run_sort_at = COALESCE((SELECT sort_at FROM builds WHERE id = NEW.build_id), 0)
    WHERE id = NEW.id;
END;
-- A job moved to another attempt, or its kept start written by anything
-- but these triggers (the inner UPDATEs write what it must be, so they
-- end there).
CREATE TRIGGER jobs_run_start_update AFTER UPDATE OF build_id, run_sort_at ON jobs
WHEN NEW.run_sort_at IS NOT COALESCE((SELECT sort_at FROM builds WHERE id = NEW.build_id), 0)
BEGIN
    UPDATE jobs SET run_sort_at = COALESCE((SELECT sort_at FROM builds WHERE id = NEW.build_id), 0)
    WHERE id = NEW.id;
END;
CREATE TRIGGER builds_run_start AFTER UPDATE OF sort_at ON builds
WHEN OLD.sort_at IS NOT NEW.sort_at
BEGIN
    UPDATE jobs SET run_sort_at = NEW.sort_at WHERE build_id = NEW.id;
END;
