-- Repositories the poller backfills and reconciles, with their checkpoint,
-- conditional-request validator and last outcome. Timestamps are Unix
-- seconds (UTC). A repository that answered 404/410 is `gone`: no longer
-- polled, its history kept.
CREATE TABLE poll_repos (
    id                  BIGSERIAL PRIMARY KEY,
    provider_id         BIGINT NOT NULL REFERENCES providers (id),
    repo                TEXT NOT NULL,
    source              TEXT NOT NULL,
    state               TEXT NOT NULL DEFAULT 'active',
    state_reason        TEXT,
    backfill_from       BIGINT,
    backfill_done_until BIGINT,
    backfill_finished_at BIGINT,
    sync_from           BIGINT,
    runs_etag           TEXT,
    last_poll_at        BIGINT,
    last_success_at     BIGINT,
    last_error          TEXT,
    last_error_at       BIGINT,
    next_poll_at        BIGINT,
    rate_limit          BIGINT,
    rate_remaining      BIGINT,
    rate_reset_at       BIGINT,
    first_seen_at       BIGINT NOT NULL,
    UNIQUE (provider_id, repo)
);
