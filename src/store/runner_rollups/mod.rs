//! The runner roll-ups behind `/api/insights/runners` and
//! `/api/insights/minutes`, so their cost is bounded by the number of days
//! (and label sets, and minute cells), not the number of jobs.
//!
//! Tables keyed by the UTC day of the jobs' start (`started_at / 86400`):
//! `rollup_runner_days` (per label set: jobs a runner took, their runner
//! groups and their exact queue-time histogram, whole seconds → jobs,
//! packed: `packed`), `rollup_runner_minutes` (per
//! repository, workflow, job key name and label set: completed jobs and
//! runner minutes), and, per UTC hour, `rollup_runner_peaks` (the peak
//! concurrency of the finished jobs, each counted until the end of the UTC
//! day after its start: `crate::metrics::runner_parts`).
//!
//! Freshness, as the summary's roll-ups (`crate::store::rollups`, whose
//! fold transaction and `folded_through` these share): the fold recomputes
//! from the jobs every day holding the start of a job written since the
//! previous fold, or that a job's start left (`jobs.moved_from`, set by the
//! ingest `UPDATE`), and the peaks of those days and the days after. A
//! reader treats as dirty every day holding the start of a job written
//! after `folded_through` or a `moved_from` still set, and every day up to
//! the earliest stored attempt's day; without a recent fold, or with a
//! repository/provider filter, every job of the window is scanned. Jobs
//! queued or running now are always read live (`jobs_waiting`), and a day
//! holding a running job's start has its peaks computed from its jobs.
//!
//! This module owns these tables; it must not know HTTP or payloads.
//! Files: `fold` (recomputing stale days), `read` (a window's inputs),
//! `packed` (the histogram's bytes).

pub(super) mod fold;
mod packed;
mod read;

use std::collections::BTreeSet;

use sqlx::Row;

use super::rollups::RollupView;
use super::{MetricReads, StoreError};

/// The runner roll-up tables keyed by `day`.
pub(super) const DAY_TABLES: [&str; 2] = ["rollup_runner_days", "rollup_runner_minutes"];
/// The runner roll-up table keyed by `hour`.
pub(super) const HOUR_TABLE: &str = "rollup_runner_peaks";

/// Days whose runner roll-ups a job write after `$1` (and at or before
/// `$2`) made stale: the day of its start, and the day its start left.
const DIRTY_DAYS: &str = "SELECT started_at / 86400 AS day FROM jobs \
     WHERE changed_at > $1 AND changed_at <= $2 AND started_at IS NOT NULL \
     UNION SELECT moved_from AS day FROM jobs WHERE moved_from IS NOT NULL AND changed_at <= $2";

async fn dirty_days<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    after: i64,
    through: i64,
) -> Result<BTreeSet<i64>, StoreError> {
    let rows = sqlx::query(DIRTY_DAYS).bind(after).bind(through).fetch_all(executor).await?;
    rows.iter().map(|r| Ok(r.try_get::<i64, _>("day")?)).collect()
}

impl MetricReads<'_> {
    /// The runner roll-ups' freshness as of `now` (Unix seconds), or `None`
    /// when they were not folded within [`super::rollups::STALE_AFTER_SECONDS`] (or never).
    pub async fn runner_rollup_view(&self, now: i64) -> Result<Option<RollupView>, StoreError> {
        let Some(mut view) = self.rollup_view(now).await? else { return Ok(None) };
        let folded: i64 = sqlx::query("SELECT folded_through FROM rollup_state WHERE id = 1")
            .fetch_one(&self.read)
            .await?
            .try_get("folded_through")?;
        view.dirty = dirty_days(&self.read, folded, i64::MAX).await?;
        Ok(Some(view))
    }
}
