-- When each cached /api/insights/tests answer was computed and how long
-- computing it took (store/test_results/insights_cache.rs): an answer
-- whose computation took longer than the server's recompute budget is
-- served as it was (marked stale) while it is recomputed in the
-- background (insights_refresh.rs), so readers never wait for it.
-- Answers stored before this migration count as computed at 0 in 0 ms:
-- recomputed at their next read.
ALTER TABLE test_insight_cache ADD COLUMN computed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE test_insight_cache ADD COLUMN compute_ms INTEGER NOT NULL DEFAULT 0;
