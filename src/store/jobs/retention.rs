//! Retention of what outlives the jobs themselves: the roll-up rows of days
//! (packed hours, and packed day spans starting) before the cutoff's UTC day, and the job keys no job and no roll-up names any
//! more. Run by the retention job after the run attempts (and, by
//! `ON DELETE CASCADE`, their jobs and steps) are deleted.
//!
//! A job key is deleted only when no `jobs` row and no `rollup_jobs` row
//! points at it, so an insight never loses its key's name. On PostgreSQL a
//! job written at the same moment to a key being deleted makes the delete
//! fail on the `jobs.key_id` foreign key (nothing is lost; the next run
//! deletes it); a key deleted first is simply created again by the next
//! job that needs it (with a new id).

use sqlx::AssertSqlSafe;

use crate::store::rollups::DAY;
use crate::store::{Store, StoreError};

/// Every roll-up table keyed by UTC `day`.
const ROLLUP_TABLES: [&str; 10] = [
    "rollup_counts",
    "rollup_durations",
    "rollup_queues",
    "rollup_jobs",
    "rollup_job_times",
    "rollup_steps",
    "rollup_step_times",
    "rollup_runner_days",
    "rollup_runner_minutes",
    "rollup_runner_folded",
];

const UNUSED_KEYS: &str = "DELETE FROM job_keys WHERE id IN (SELECT k.id FROM job_keys k \
     WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.key_id = k.id) \
     AND NOT EXISTS (SELECT 1 FROM rollup_jobs r WHERE r.key_id = k.id) LIMIT 1000)";

impl Store {
    /// Deletes the roll-up rows of the UTC days wholly before `cutoff`
    /// (Unix seconds), then the job keys nothing points at, 1 000 per
    /// statement. Answers (roll-up rows, job keys) deleted.
    pub async fn delete_job_leftovers(&self, cutoff: i64) -> Result<(u64, u64), StoreError> {
        let before_day = cutoff.div_euclid(DAY);
        let mut rollups = 0;
        for table in ROLLUP_TABLES {
            rollups += sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day < $1")))
                .bind(before_day)
                .execute(&self.write)
                .await?
                .rows_affected();
        }
        for sql in [
            "DELETE FROM rollup_job_hours WHERE hour < $1",
            "DELETE FROM rollup_job_hour_spans WHERE first_hour < $1",
        ] {
            rollups += sqlx::query(sql)
                .bind(before_day * (DAY / super::hours::HOUR))
                .execute(&self.write)
                .await?
                .rows_affected();
        }
        rollups += sqlx::query("DELETE FROM rollup_job_open WHERE day < $1")
            .bind(before_day)
            .execute(&self.write)
            .await?
            .rows_affected();
        rollups += sqlx::query("DELETE FROM rollup_job_spans WHERE first_day < $1")
            .bind(before_day)
            .execute(&self.write)
            .await?
            .rows_affected();
        rollups += sqlx::query("DELETE FROM rollup_runner_peaks WHERE hour < $1")
            .bind(before_day * (DAY / super::hours::HOUR))
            .execute(&self.write)
            .await?
            .rows_affected();
        let mut keys = 0;
        loop {
            let deleted = sqlx::query(UNUSED_KEYS).execute(&self.write).await?.rows_affected();
            if deleted == 0 {
                return Ok((rollups, keys));
            }
            keys += deleted;
        }
    }
}
