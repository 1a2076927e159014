-- (SQLite) Builds per class (store/failures/days.rs): `class_builds` of a day,
-- signature and class of failure_signature_days counts the (signature,
-- run attempt) pairs whose latest failure of that class — by failed_at,
-- then job id — is on that day (`builds` counts those whose latest failure
-- of any class is). The failure list filtered by class alone sums it
-- instead of counting distinct attempts among the raw failures. Kept in
-- the same transaction as the other sums.
ALTER TABLE failure_signature_days ADD COLUMN class_builds BIGINT NOT NULL DEFAULT 0;
UPDATE failure_signature_days SET class_builds = c.n
FROM (SELECT failed_at / 86400 AS day, signature_id, class, COUNT(*) AS n
      FROM (SELECT f.failed_at, f.signature_id, f.class, ROW_NUMBER() OVER (PARTITION BY f.signature_id,
                f.build_id, f.class ORDER BY f.failed_at DESC, f.job_id DESC) AS latest
            FROM job_failures f WHERE f.signature_id IS NOT NULL) AS x
      WHERE latest = 1 GROUP BY failed_at / 86400, signature_id, class) AS c
WHERE failure_signature_days.day = c.day AND failure_signature_days.signature_id = c.signature_id
  AND failure_signature_days.class = c.class;
