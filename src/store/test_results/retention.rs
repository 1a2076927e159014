//! Test-result retention: uploads older than their own retention age go
//! (their executions and failure texts follow by `ON DELETE CASCADE`),
//! then dictionary entries no execution refers to any more.

use crate::store::{StoreError, TestResults};

const OLD_UPLOADS: &str = "DELETE FROM test_uploads WHERE id IN \
     (SELECT id FROM test_uploads WHERE received_at < $1 LIMIT 200)";

const UNUSED_TESTS: &str = "DELETE FROM test_cases WHERE id IN (SELECT c.id FROM test_cases c \
     WHERE c.first_seen < $1 AND NOT EXISTS (SELECT 1 FROM test_executions e WHERE e.test_id = c.id) LIMIT 1000)";

impl TestResults<'_> {
    /// Deletes uploads received before `cutoff` (Unix seconds) with their
    /// executions, 200 uploads per statement, then tests first seen before
    /// it that no execution refers to. Answers (uploads, tests) deleted.
    pub async fn delete_older_than(&self, cutoff: i64) -> Result<(u64, u64), StoreError> {
        Ok((
            self.delete_batches(OLD_UPLOADS, cutoff).await?,
            self.delete_batches(UNUSED_TESTS, cutoff).await?,
        ))
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
