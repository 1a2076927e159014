//! Test-result retention: uploads older than their own retention age go
//! (their executions and failure texts follow by `ON DELETE CASCADE`),
//! then dictionary entries no execution refers to any more. Roll-ups go
//! when their whole UTC day is older than the cutoff (the flips when
//! either side's latest day is). Any deletion makes the stored insights
//! answers stale (`insights_cache`).

use crate::store::{StoreError, TestResults};

const OLD_UPLOADS: &str = "DELETE FROM test_uploads WHERE id IN \
     (SELECT id FROM test_uploads WHERE received_at < $1 LIMIT 200)";

const OLD_DAYS: &str = "DELETE FROM test_daily WHERE day < $1";

const OLD_FLIPS: &str = "DELETE FROM test_flips WHERE fail_day < $1 OR pass_day < $1";

const UNUSED_TESTS: &str = "DELETE FROM test_cases WHERE id IN (SELECT c.id FROM test_cases c \
     WHERE c.first_seen < $1 AND NOT EXISTS (SELECT 1 FROM test_executions e WHERE e.test_id = c.id) LIMIT 1000)";

impl TestResults<'_> {
    /// Deletes uploads received before `cutoff` (Unix seconds) with their
    /// executions, 200 uploads per statement, then tests first seen before
    /// it that no execution refers to, and the roll-ups of the days before
    /// the cutoff's day. Answers (uploads, tests) deleted.
    pub async fn delete_older_than(&self, cutoff: i64) -> Result<(u64, u64), StoreError> {
        let day = cutoff.div_euclid(86_400);
        let days = sqlx::query(OLD_DAYS).bind(day).execute(&self.write).await?.rows_affected();
        let flips = sqlx::query(OLD_FLIPS).bind(day).execute(&self.write).await?.rows_affected();
        let uploads = self.delete_batches(OLD_UPLOADS, cutoff).await?;
        let tests = self.delete_batches(UNUSED_TESTS, cutoff).await?;
        if days + flips + uploads + tests > 0 {
            self.invalidate_insights().await?;
        }
        Ok((uploads, tests))
    }

    async fn delete_batches(&self, sql: &'static str, cutoff: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted = sqlx::query(sql).bind(cutoff).execute(&self.write).await?.rows_affected();
            if deleted == 0 {
                return Ok(total);
            }
            total += deleted;
        }
    }
}
