-- Runners and queues (store/runners.rs): the runner group of each job, and
-- the indexes the runner figures read through. `jobs_by_started` serves the
-- window scans (queue times, concurrency, runner minutes); `jobs_waiting`
-- the live "queued now" and "running now" figures, which read only the
-- jobs that have not finished (few, whatever the table's size).
ALTER TABLE jobs ADD COLUMN runner_group TEXT;
CREATE INDEX jobs_by_started ON jobs (started_at);
CREATE INDEX jobs_waiting ON jobs (status, created_at) WHERE status IN ('queued', 'running');
