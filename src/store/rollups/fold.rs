//! The fold: recomputes the roll-ups of the days that changes made stale,
//! from the attempts themselves, in one transaction (run by the `rollups`
//! job on one replica); the job roll-ups (`crate::store::jobs`) fold in
//! the same transaction.

use std::collections::BTreeSet;

use sqlx::{AssertSqlSafe, Row};

use super::plan::push_span;
use super::{DAY, DIRTY_DAYS, QUEUE, QUEUED, TIMED, counts_select, earliest_day};
use crate::store::MetricReads;
use crate::store::StoreError;

impl MetricReads<'_> {
    /// Recomputes the roll-ups of every day touched by changes made after
    /// the previous fold and at or before `through` (Unix seconds), plus
    /// the earliest stored day (retention deletes from there), drops
    /// roll-ups before it, and records `through`. One transaction; the
    /// first fold covers every day; a `through` not after the recorded one
    /// does nothing; two folds never interleave (`super::lock_folds`).
    /// Answers the number of days recomputed.
    pub async fn fold_rollups(&self, through: i64) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        super::lock_folds(&mut tx, self.backend()).await?;
        let previous: Option<i64> = sqlx::query("SELECT folded_through FROM rollup_state WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("folded_through"))
            .transpose()?;
        if previous.is_some_and(|previous| previous >= through) {
            // Another fold already went further (a fold never moves back).
            return Ok(0);
        }
        let rows = sqlx::query(DIRTY_DAYS)
            .bind(previous.unwrap_or(i64::MIN))
            .bind(through)
            .fetch_all(&mut *tx)
            .await?;
        let mut days: BTreeSet<i64> =
            rows.iter().map(|r| r.try_get::<i64, _>("day")).collect::<Result<_, _>>()?;
        let min_start: Option<i64> = sqlx::query("SELECT MIN(sort_at) AS s FROM builds WHERE sort_at > 0")
            .fetch_one(&mut *tx)
            .await?
            .try_get("s")?;
        let below = earliest_day(min_start);
        if min_start.is_some() {
            days.insert(below);
        }
        for table in ["rollup_counts", "rollup_durations", "rollup_queues"] {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day < $1")))
                .bind(below)
                .execute(&mut *tx)
                .await?;
        }
        let mut spans = Vec::new();
        for &day in &days {
            push_span(&mut spans, day, day + 1);
        }
        for &(first, end) in &spans {
            for table in ["rollup_counts", "rollup_durations", "rollup_queues"] {
                sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day >= $1 AND day < $2")))
                    .bind(first)
                    .bind(end)
                    .execute(&mut *tx)
                    .await?;
            }
            for statement in fold_inserts() {
                sqlx::query(AssertSqlSafe(statement))
                    .bind(first * DAY)
                    .bind(end * DAY)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let max_build_id =
            crate::store::jobs::fold::fold_job_rollups(&mut tx, previous, through, below, &days).await?;
        crate::store::runner_rollups::fold::fold_runner_rollups(&mut tx, previous, through, below).await?;
        sqlx::query("UPDATE builds SET moved_from = NULL WHERE moved_from IS NOT NULL AND changed_at <= $1")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO rollup_state (id, folded_through, max_build_id) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET folded_through = excluded.folded_through, \
             max_build_id = excluded.max_build_id",
        )
        .bind(through)
        .bind(max_build_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(days.len())
    }

    /// Forgets every roll-up (e.g. after `db copy` wrote attempts with their
    /// old `changed_at`); the next fold recomputes all days.
    pub async fn reset_rollups(&self) -> Result<(), StoreError> {
        let job_tables = crate::store::jobs::fold::TABLES;
        let hours = [
            crate::store::jobs::fold::HOURS_TABLE,
            crate::store::jobs::fold::HOUR_SPANS_TABLE,
            crate::store::jobs::fold::OPEN_TABLE,
            crate::store::runner_rollups::HOUR_TABLE,
        ];
        let runner_tables = crate::store::runner_rollups::DAY_TABLES;
        let runner_hours = crate::store::runner_rollups::HOURLY_TABLES;
        for table in ["rollup_counts", "rollup_durations", "rollup_queues", "rollup_state"]
            .iter()
            .chain(&job_tables)
            .chain(&hours)
            .chain(&runner_tables)
            .chain(&runner_hours)
        {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&self.write).await?;
        }
        Ok(())
    }
}

/// The roll-ups of the attempts started in `[$1, $2)` (whole days).
fn fold_inserts() -> [String; 3] {
    let window = "sort_at >= $1 AND sort_at < $2";
    [
        format!(
            "INSERT INTO rollup_counts (day, repo, status, attempts, completed, timed, duration_sum) \
             SELECT sort_at / 86400 AS day, {} WHERE {window} GROUP BY sort_at / 86400, repo, status",
            counts_select("builds")
        ),
        format!(
            "INSERT INTO rollup_durations (day, seconds, attempts) \
             SELECT sort_at / 86400, duration_seconds, COUNT(*) FROM builds \
             WHERE {window} AND {TIMED} GROUP BY sort_at / 86400, duration_seconds"
        ),
        format!(
            "INSERT INTO rollup_queues (day, seconds, attempts) \
             SELECT sort_at / 86400, {QUEUE}, COUNT(*) FROM builds \
             WHERE {window} AND {QUEUED} GROUP BY sort_at / 86400, {QUEUE}"
        ),
    ]
}
