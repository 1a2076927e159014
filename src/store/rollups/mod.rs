//! Daily roll-ups behind `/api/metrics/summary`, so its cost is bounded by
//! the number of days, not the number of attempts in the window.
//!
//! Three tables keyed by UTC day (`sort_at / 86400`): `rollup_counts` (per
//! repository and status: attempts, completed, timed, duration sum),
//! `rollup_durations` and `rollup_queues` (exact histograms, whole seconds →
//! attempts). A window is answered as the merge ([`crate::metrics::tally::Tally::merge`]) of
//!
//! - the roll-ups of the whole days inside it that are *clean*, and
//! - raw scans of everything else: the partial day at each edge, and every
//!   *dirty* day,
//!
//! which is exactly what one scan of the window would give.
//!
//! Freshness, without touching the ingest path beyond one expression: the
//! `rollups` job ([`crate::store::MetricReads::fold_rollups`], run on one replica) recomputes,
//! from the attempts themselves, every day that has an attempt changed
//! since the previous fold (`changed_at`), or that an attempt's start moved
//! out of (`builds.moved_from`, set by the ingest `UPDATE`), and records the
//! time it folded through in `rollup_state`. It folds only changes at least
//! [`FOLD_MARGIN_SECONDS`] old, so a transaction that took its timestamp
//! earlier has committed by then. A reader treats as dirty every day with an
//! attempt changed after that time or a `moved_from` still set, and every
//! day up to the earliest stored attempt's day (retention deletes from the
//! start). Without a recent fold ([`STALE_AFTER_SECONDS`]), or with a
//! repository/branch filter, the whole window is scanned.
//!
//! This module owns the roll-up tables; it must not know HTTP or payloads.

//! Files: `plan` (which spans are raw, rolled up or subtracted; pure),
//! `read` (a window's tally from the plan), `fold` (recomputing the
//! roll-ups of stale days).

mod fold;
mod plan;
mod read;

use std::collections::{BTreeMap, BTreeSet};

pub use plan::{Plan, plan};

/// Seconds in a UTC day.
pub const DAY: i64 = 86_400;
/// The fold leaves changes younger than this for the next fold.
pub const FOLD_MARGIN_SECONDS: i64 = 60;
/// Roll-ups last folded longer ago than this are not read.
pub const STALE_AFTER_SECONDS: i64 = 900;
/// The PostgreSQL advisory lock key of the fold ("cicd_rol" in ASCII: above
/// any `hashtext` key, which the alert checks lock; `super::xact_lock`).
pub const FOLD_LOCK: i64 = 0x6369_6364_5f72_6f6c;

/// Holds the fold's lock until the transaction on `conn` ends: on
/// PostgreSQL an advisory lock, so two folds, or a fold and the trim of the
/// runner minute cells ([`crate::store::Store::delete_unused_minute_cells`]),
/// never interleave; SQLite's write transactions (`BEGIN IMMEDIATE`) are
/// serial already.
pub(in crate::store) async fn lock_folds(
    conn: &mut sqlx::AnyConnection,
    backend: super::Backend,
) -> Result<(), super::StoreError> {
    super::xact_lock::lock_until_commit(conn, backend, super::xact_lock::LockKey::Number(FOLD_LOCK)).await
}

/// Stands for "no upper bound" in spans: a midnight far beyond any timestamp.
const OPEN_END: i64 = i64::MAX / 4 / DAY * DAY;

/// What a reader knows of the roll-ups' freshness.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupView {
    /// Day of the earliest stored start; roll-ups of it and before are not used.
    pub min_day: i64,
    /// Days whose roll-ups may be stale.
    pub dirty: BTreeSet<i64>,
    /// When known (the job roll-ups' view), the UTC hours (`sort_at /
    /// 3600`) whose hourly roll-up may be stale: finer than `dirty`, which
    /// holds their days. `None`: every hour of a dirty day.
    pub hours: Option<BTreeSet<i64>>,
    /// With `hours`: the runs in no packed hourly row (left out by the
    /// fold as still going, or written since by a run it never saw), by
    /// id, with their start; read by id where their hour is packed.
    pub unpacked: BTreeMap<i64, i64>,
}

/// In the population of build times: completed success/failed with a duration.
const TIMED: &str = "status IN ('success', 'failed') AND duration_seconds IS NOT NULL";
/// Queue time, clamped to 0 (as `RunAttempt::queue_seconds`).
const QUEUE: &str =
    "CASE WHEN first_job_started_at > started_at THEN first_job_started_at - started_at ELSE 0 END";
const QUEUED: &str = "started_at IS NOT NULL AND first_job_started_at IS NOT NULL";

fn counts_select(from: &str) -> String {
    format!(
        "repo, status, COUNT(*) AS attempts, \
         CAST(SUM(CASE WHEN provider_status = 'completed' THEN 1 ELSE 0 END) AS BIGINT) AS completed, \
         CAST(SUM(CASE WHEN {TIMED} THEN 1 ELSE 0 END) AS BIGINT) AS timed, \
         CAST(SUM(CASE WHEN {TIMED} THEN duration_seconds ELSE 0 END) AS BIGINT) AS duration_sum FROM {from}"
    )
}

/// The UTC days whose roll-ups a write in `(changed_after, through]`
/// (Unix seconds, bound as `$1`, `$2`) made stale: the day an attempt
/// starts in, and the day it moved from.
const DIRTY_DAYS: &str = "SELECT sort_at / 86400 AS day FROM builds \
     WHERE changed_at > $1 AND changed_at <= $2 AND sort_at > 0 \
     UNION SELECT moved_from AS day FROM builds WHERE moved_from IS NOT NULL AND changed_at <= $2";

/// The UTC day of the earliest start (`min_start`, Unix seconds), or past
/// the end of time when nothing has started.
fn earliest_day(min_start: Option<i64>) -> i64 {
    min_start.map_or(OPEN_END / DAY, |s| s.div_euclid(DAY))
}
