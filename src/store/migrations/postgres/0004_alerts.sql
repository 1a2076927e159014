-- Alerts (issue 5), PostgreSQL. Timestamps are Unix seconds (UTC).

-- The whole alert configuration (channels, rules, SMTP) as one JSON
-- document, secrets included (keep them here only, so encryption at rest
-- can be added in one place). One row: id = 1.
CREATE TABLE alert_config (
    id         BIGINT  PRIMARY KEY,
    document   TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    updated_at BIGINT  NOT NULL
);

-- The outbox and the history: one row per (rule, subject, channel), written
-- in the transaction of the change that caused it; the sender delivers it.
-- `dedup_key` is the build id for rules about one attempt, or the rule key
-- and time bucket for `failure_rate`: its unique index is the "no spam" rule.
CREATE TABLE alerts (
    id              BIGSERIAL PRIMARY KEY,
    rule_id         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    channel_id      TEXT    NOT NULL,
    channel_type    TEXT    NOT NULL,
    dedup_key       TEXT    NOT NULL,
    rule_key        TEXT    NOT NULL,
    build_id        BIGINT,
    repo            TEXT,
    workflow        TEXT,
    branch          TEXT,
    subject         TEXT    NOT NULL,
    details         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    error           TEXT,
    next_attempt_at BIGINT  NOT NULL,
    claimed_by      TEXT,
    claimed_until   BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT,
    acknowledged_at BIGINT,
    resolved_at     BIGINT
);
CREATE UNIQUE INDEX alerts_once ON alerts (rule_id, dedup_key, channel_id);
CREATE INDEX alerts_due ON alerts (status, next_attempt_at);
CREATE INDEX alerts_by_rule_key ON alerts (rule_id, rule_key, created_at);
CREATE INDEX alerts_by_build ON alerts (build_id);
