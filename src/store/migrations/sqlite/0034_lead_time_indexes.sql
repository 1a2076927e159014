-- Lead-time read indexes (store/deployments/lead_days.rs), both covering
-- what the reads take, so they are index-only scans:
-- * the exact lead times of a needed lead-time bucket: by lead time, then
--   day, with the environment and the count (replaces the index of 0031,
--   whose reads fetched every row's heap page: ~6 000 pages for a 30-day
--   window at 1 000 000 commits);
-- * a repository's lead times: by repository, then day (the primary key
--   starts with the provider, which a repository filter does not name, so
--   its reads scanned the window's every row).
DROP INDEX deployment_lead_days_by_lead;
CREATE INDEX deployment_lead_days_by_lead ON deployment_lead_days (lead_seconds, day, environment, commits);
CREATE INDEX deployment_lead_days_by_repo ON deployment_lead_days (repo, day, environment, lead_seconds, commits);
-- The lead-time buckets by day without the count: a trigger updates a
-- bucket's count for every lead-time row written, and a count in the index
-- made each update write new index entries (on PostgreSQL, no HOT update:
-- a bulk derive of 1 000 000 commits left 5 460 rows in 3 280 pages).
DROP INDEX deployment_lead_buckets_by_day;
CREATE INDEX deployment_lead_buckets_by_day ON deployment_lead_buckets (day, environment, bucket);
