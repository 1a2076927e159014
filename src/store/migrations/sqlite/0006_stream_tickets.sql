-- Short-lived tickets that let a browser's EventSource (which cannot send
-- an Authorization header) open /api/events: only a SHA-256 of each ticket,
-- the token it was issued to, and when it expires (Unix seconds).
CREATE TABLE stream_tickets (
    ticket_hash TEXT PRIMARY KEY,
    token_name  TEXT NOT NULL,
    role        TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
