-- Where a polled repository lives when its provider has more than one
-- instance (GitLab: gitlab.com or a self-managed server): the instance's
-- base URL, and the provider's numeric project id once it is known. NULL
-- for GitHub rows (one API per process).
ALTER TABLE poll_repos ADD COLUMN instance_url TEXT;
ALTER TABLE poll_repos ADD COLUMN project_id BIGINT;

