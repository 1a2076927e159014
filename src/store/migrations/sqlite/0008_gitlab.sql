-- GitLab CI as provider 2, and the job fields GitLab reports that GitHub
-- does not (NULL for GitHub jobs): the stage, why a failed job failed,
-- whether it may fail without failing its pipeline (0/1), and GitLab's own
-- queued_duration in milliseconds.
INSERT INTO providers (id, kind, name) VALUES (2, 'gitlab', 'GitLab CI');
ALTER TABLE jobs ADD COLUMN stage TEXT;
ALTER TABLE jobs ADD COLUMN failure_reason TEXT;
ALTER TABLE jobs ADD COLUMN allow_failure INTEGER;
ALTER TABLE jobs ADD COLUMN queued_duration_ms INTEGER;
