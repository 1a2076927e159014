-- DORA facts derived at write time (store/deployments/derive.rs, rules in
-- metrics/dora/derive.rs), so GET /api/dora sums stored facts instead of
-- walking deployments and commits per request.
--
-- deployments.dora_state: NULL not counted (pending, not counted, or a
-- failure of a deploy job allowed to fail), 0 succeeded, 1 failed.
-- dora_signal: NULL, 1 failed, 2 rolled back (an incident's signal is
-- matched at read time with dora_next_success_at: the stream's next
-- successful deployment's finish). dora_opens_outage: a failure starting
-- an outage. dora_gap: the SHA the commit walk stopped at for want of a
-- known push (a later push naming it derives the stream again).
-- dora_derived: 0 until derived (start-up derives those left, e.g. rows
-- written before this migration).
ALTER TABLE deployments ADD COLUMN dora_state INTEGER;
ALTER TABLE deployments ADD COLUMN dora_signal INTEGER;
ALTER TABLE deployments ADD COLUMN dora_rollback INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN dora_next_success_at INTEGER;
ALTER TABLE deployments ADD COLUMN dora_opens_outage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN dora_gap TEXT;
ALTER TABLE deployments ADD COLUMN dora_derived INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deployments_dora_by_stream ON deployments (repo, environment, provider_id, finished_at, id);
CREATE INDEX deployments_dora_by_sha ON deployments (repo, environment, sha);
CREATE INDEX deployments_dora_by_gap ON deployments (repo, dora_gap);
CREATE INDEX deployments_dora_pending ON deployments (dora_derived);

-- deployment_commits: each commit a successful deployment carried first
-- in its stream (provider, repository, environment; a commit counts once
-- per stream), its walk position (newest first) and lead time; the
-- deployment's finish is copied so a window's lead times are one range
-- scan.
CREATE TABLE deployment_commits (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id INTEGER NOT NULL,
    provider_id   INTEGER NOT NULL,
    repo          TEXT    NOT NULL,
    environment   TEXT    NOT NULL,
    sha           TEXT    NOT NULL,
    position      INTEGER NOT NULL,
    committed_at  INTEGER,
    lead_seconds  INTEGER,
    finished_at   INTEGER NOT NULL,
    UNIQUE (provider_id, repo, environment, sha)
);
CREATE INDEX deployment_commits_by_deployment ON deployment_commits (deployment_id, position);
CREATE INDEX deployment_commits_by_finish ON deployment_commits (finished_at, environment, repo, lead_seconds);
