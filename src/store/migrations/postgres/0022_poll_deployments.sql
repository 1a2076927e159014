-- Deployment backfill bookkeeping per polled repository (providers/github
-- and providers/gitlab deployment passes, store/poll_deployments.rs):
-- deployments_until: Unix seconds; every deployment created at or before it
-- is stored with its final status (GitHub), or the updated_at the next
-- listing starts after (GitLab). deployments_etag: the ETag of the last
-- deployment listing's first page, kept only when that pass left nothing
-- pending (a 304 then means nothing to do).
ALTER TABLE poll_repos ADD COLUMN deployments_until BIGINT;
ALTER TABLE poll_repos ADD COLUMN deployments_etag TEXT;
