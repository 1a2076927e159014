//! The runner roll-ups behind `/api/insights/runners` and
//! `/api/insights/minutes`, so their cost is bounded by the number of days
//! (and label sets, and minute cells), not the number of jobs.
//!
//! Tables keyed by the UTC day of the jobs' start (`started_at / 86400`):
//! `rollup_runner_days` (per label set: jobs a runner took, their runner
//! groups and their exact queue-time histogram, whole seconds → jobs,
//! packed: `packed`), `rollup_runner_minutes` (per
//! repository, workflow, job key name and label set: completed jobs and
//! runner minutes; each row also names its cell's id in
//! `runner_minute_cells`, so a window sums per id and names each cell
//! once), and, per UTC hour, `rollup_runner_peaks` (the peak
//! concurrency of the finished jobs, each counted until the end of the UTC
//! day after its start: `crate::metrics::runner_parts`). The days the fold
//! treats as recent (the day of its `through` and the day before) are
//! also kept per UTC hour of the start (`rollup_runner_hours`,
//! `rollup_runner_hour_minutes`, and every hour's latest start or end in
//! `rollup_runner_hour_latest`; the fold deletes older days' hours).
//!
//! Freshness, as the summary's roll-ups (`crate::store::rollups`, whose
//! fold transaction and `folded_through` these share): the fold recomputes
//! from the jobs every day holding the start of a job written since the
//! previous fold, or that a job's start left (`jobs.moved_from`, set by the
//! ingest `UPDATE`), or that has roll-up rows but no `rollup_runner_folded`
//! row (retention deletes that row for every day whose jobs it deletes;
//! rows folded before migration 0029 have none), and the peaks of those
//! days and the days after. It records per day folded the latest start or
//! end of its jobs (`rollup_runner_folded.latest`). A reader takes a day
//! from the roll-ups when it is *clean* ([`RunnerView::clean`]): folded,
//! its `latest` before the read's `now` (so today, too, equals a scan of
//! its jobs up to now), and no job written after `folded_through` or a
//! `moved_from` still set holds its start; of a recent day not clean, every
//! hour that is clean ([`RunnerView::hour_clean`]: folded hourly, its
//! `latest` before `now`, no job written since the fold starting in it, no
//! start left its day); the other hours are scanned. Without a recent fold every job
//! of the window is scanned; the runner figures with a repository or
//! provider filter scan too (the minutes read the roll-ups: their cells
//! keep repository and provider). Jobs queued or running now are always
//! read live (`jobs_waiting`), and an hour holding a running job's start,
//! or after an hour not clean (from the day before), has its peaks
//! computed from its jobs and those crossing into it.
//!
//! This module owns these tables; it must not know HTTP or payloads.
//! Files: `fold` (recomputing stale days), `read` (a window's inputs),
//! `packed` (the histogram's bytes), `retention` (deleting the minute
//! cells no row names).

pub(super) mod fold;
mod packed;
mod read;
mod retention;

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;

use super::rollups::STALE_AFTER_SECONDS;
use super::{MetricReads, StoreError};
use crate::metrics::runner_parts::{DAY, HOUR};

/// The runner roll-up tables keyed by `day`.
pub(super) const DAY_TABLES: [&str; 3] =
    ["rollup_runner_days", "rollup_runner_minutes", "rollup_runner_folded"];
/// The runner roll-up table keyed by `hour`.
pub(super) const HOUR_TABLE: &str = "rollup_runner_peaks";
/// The hourly runner roll-ups of recent days, keyed by `hour`.
pub(super) const HOURLY_TABLES: [&str; 3] =
    ["rollup_runner_hours", "rollup_runner_hour_minutes", "rollup_runner_hour_latest"];

/// Hours whose runner roll-ups a job write after `$1` (and at or before
/// `$2`) made stale (the hour of its start, `moved = 0`), and days its
/// start left (`moved = 1`).
const DIRTY: &str = "SELECT started_at / 3600 AS unit, 0 AS moved FROM jobs \
     WHERE changed_at > $1 AND changed_at <= $2 AND started_at IS NOT NULL \
     UNION SELECT moved_from AS unit, 1 AS moved FROM jobs WHERE moved_from IS NOT NULL AND changed_at <= $2";

/// What job writes made stale: (hours of their start, days a start left).
async fn dirty_units<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    after: i64,
    through: i64,
) -> Result<(BTreeSet<i64>, BTreeSet<i64>), StoreError> {
    let rows = sqlx::query(DIRTY).bind(after).bind(through).fetch_all(executor).await?;
    let (mut hours, mut moved) = (BTreeSet::new(), BTreeSet::new());
    for row in rows {
        let unit = row.try_get::<i64, _>("unit")?;
        if row.try_get::<i64, _>("moved")? == 1 {
            moved.insert(unit)
        } else {
            hours.insert(unit)
        };
    }
    Ok((hours, moved))
}

/// Days whose runner roll-ups a job write after `after` (and at or before
/// `through`) made stale: the day of its start, and the day its start left.
async fn dirty_days<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    after: i64,
    through: i64,
) -> Result<BTreeSet<i64>, StoreError> {
    let (hours, moved) = dirty_units(executor, after, through).await?;
    Ok(days_of(&hours, &moved))
}

/// The days stale hours and moved starts make stale: the days a start
/// left and the days of the stale hours.
fn days_of(hours: &BTreeSet<i64>, moved: &BTreeSet<i64>) -> BTreeSet<i64> {
    let mut days = moved.clone();
    days.extend(hours.iter().map(|h| h.div_euclid(DAY / HOUR)));
    days
}

/// What a reader knows of the runner roll-ups' freshness.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerView {
    /// Days whose roll-ups may be stale (a job written since the last fold
    /// starts in it, or its start left it).
    pub dirty: BTreeSet<i64>,
    /// Hours holding the start of a job written since the last fold.
    pub dirty_hours: BTreeSet<i64>,
    /// Days a job's start left since the last fold (all their hours stale).
    pub moved: BTreeSet<i64>,
    /// Per folded day: the latest start or end of its jobs when folded.
    pub folded: BTreeMap<i64, i64>,
    /// Per hour of a day folded hourly: the latest start or end of the
    /// jobs started in it when folded (none: the hour's start).
    pub hours: BTreeMap<i64, i64>,
}

impl RunnerView {
    /// Whether `day`'s roll-ups equal a scan of the jobs started that day
    /// before `now`: folded, nothing of it at or after `now`, not dirty.
    pub fn clean(&self, day: i64, now: i64) -> bool {
        !self.dirty.contains(&day) && self.folded.get(&day).is_some_and(|latest| *latest < now)
    }

    /// Whether the jobs started in `hour` (Unix seconds / 3600) before
    /// `now` are known from the roll-ups: its day is clean, or its day is
    /// folded (and no start left it) and the hour was folded hourly,
    /// nothing of it at or after `now`, not dirty.
    pub fn hour_clean(&self, hour: i64, now: i64) -> bool {
        let day = hour.div_euclid(DAY / HOUR);
        self.clean(day, now)
            || (self.folded.contains_key(&day)
                && !self.moved.contains(&day)
                && !self.dirty_hours.contains(&hour)
                && self.hours.get(&hour).is_some_and(|latest| *latest < now))
    }
}

impl MetricReads<'_> {
    /// The runner roll-ups' freshness as of `now` (Unix seconds), or `None`
    /// when they were not folded within [`STALE_AFTER_SECONDS`] (or never).
    pub async fn runner_rollup_view(&self, now: i64) -> Result<Option<RunnerView>, StoreError> {
        let folded: Option<i64> = sqlx::query("SELECT folded_through FROM rollup_state WHERE id = 1")
            .fetch_optional(&self.read)
            .await?
            .map(|row| row.try_get::<Option<i64>, _>("folded_through"))
            .transpose()?
            .flatten();
        let Some(folded) = folded.filter(|f| *f >= now - STALE_AFTER_SECONDS) else { return Ok(None) };
        let (dirty_hours, moved) = dirty_units(&self.read, folded, i64::MAX).await?;
        let dirty = days_of(&dirty_hours, &moved);
        let latest = |sql: &'static str| async move {
            let rows = sqlx::query(sql).fetch_all(&self.read).await?;
            rows.iter()
                .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?)))
                .collect::<Result<BTreeMap<i64, i64>, StoreError>>()
        };
        let folded = latest("SELECT day, latest FROM rollup_runner_folded").await?;
        let hours = latest("SELECT hour, latest FROM rollup_runner_hour_latest").await?;
        Ok(Some(RunnerView { dirty, dirty_hours, moved, folded, hours }))
    }
}
