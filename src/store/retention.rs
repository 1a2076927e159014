//! Retention deletes: old run attempts (their jobs follow by `ON DELETE
//! CASCADE`, the failure roll-up refolded in the same transaction, the
//! days of their jobs' starts marked unfolded for the runner roll-ups:
//! `crate::store::runner_rollups`), old flaky occurrences (then
//! their roll-up's days) and old raw deliveries, in bounded batches so no statement holds
//! the write lock for long.

use chrono::{DateTime, Utc};

use sqlx::{AssertSqlSafe, Row};

use super::failures::Refold;
use super::{Store, StoreError};

const OLD_BUILDS: &str = "SELECT id FROM builds WHERE \
     (sort_at > 0 AND sort_at < $1) OR (sort_at = 0 AND changed_at < $1) LIMIT 1000";

/// Flaky occurrences last seen before the cutoff (their attempts go too).
const OLD_FLAKY: &str = "DELETE FROM flaky_occurrences WHERE id IN \
     (SELECT id FROM flaky_occurrences WHERE seen_at < $1 LIMIT 1000)";

const OLD_DELIVERIES: &str = "DELETE FROM webhook_deliveries WHERE id IN \
     (SELECT id FROM webhook_deliveries WHERE received_at < $1 LIMIT 1000)";

impl Store {
    /// Deletes run attempts that started before `cutoff` (never-started ones
    /// last written before it) and deliveries received before it, 1 000 rows
    /// per statement. Answers (attempts, deliveries) deleted.
    pub async fn delete_older_than(&self, cutoff: DateTime<Utc>) -> Result<(u64, u64), StoreError> {
        let cutoff = cutoff.timestamp();
        self.delete_in_batches(OLD_FLAKY, cutoff).await?;
        self.trim_flaky_days(cutoff).await?;
        Ok((self.delete_old_builds(cutoff).await?, self.delete_in_batches(OLD_DELIVERIES, cutoff).await?))
    }

    /// Deletes the attempts [`OLD_BUILDS`] picks, 1 000 per transaction,
    /// refolding the failure roll-up for the failures that go with them.
    async fn delete_old_builds(&self, cutoff: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let ids: Vec<i64> = sqlx::query(OLD_BUILDS)
                .bind(cutoff)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get("id"))
                .collect::<Result<_, _>>()?;
            if ids.is_empty() {
                return Ok(total);
            }
            let refold = Refold::start(&mut tx, self.backend, &ids).await?;
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
            // The runner roll-ups of the days these jobs started on are stale
            // until the next fold recomputes them (it refolds unfolded days).
            let unfold = format!(
                "DELETE FROM rollup_runner_folded WHERE day IN \
                 (SELECT started_at / 86400 FROM jobs WHERE build_id IN ({list}) AND started_at IS NOT NULL)"
            );
            sqlx::query(AssertSqlSafe(unfold)).execute(&mut *tx).await?;
            let sql = format!("DELETE FROM builds WHERE id IN ({list})");
            total += sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?.rows_affected();
            refold.finish(&mut tx).await?;
            tx.commit().await?;
        }
    }

    /// Runs a batched `DELETE … LIMIT` until it deletes nothing; answers the total.
    async fn delete_in_batches(&self, sql: &'static str, cutoff: i64) -> Result<u64, StoreError> {
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
