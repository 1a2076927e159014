//! The window read behind `/api/insights/jobs` (the list), by the window's
//! hour plan (`super::hours`): tallies per job key from the packed day
//! spans (`super::spans`) for every whole, clean day of the window (and a
//! clean day mostly inside, minus its other hours) and the packed hour
//! spans and hours (`super::hour_spans`, `super::packed`) for the other
//! clean hours, plus
//! raw scans of the rest — part of an hour at each edge, every stale hour
//! (a job or run attempt written since the last fold), the days up to the
//! earliest stored start — minus the part of a packed edge hour outside
//! the window — and the runs the packed rows leave out
//! ([`RollupView::unpacked`]: still going at the fold, or new since), read
//! by id where their hour is packed (on a connection of their own, at the
//! same time as the rest); which is exactly what one raw scan of
//! the window gives (a step's `number`, the lowest seen, may come from a
//! packed edge hour's part outside). A branch filter, or no recent fold,
//! reads raw only.

use std::collections::HashSet;

use sqlx::Row;

use super::hour_spans::read_hours;
use super::hours::{HOUR, hour_plan, packed_reads};
use super::packed::Accumulator;
use super::read::{Grain, JobFilter, Runs, filter_sql, raw_scan};
use super::spans::read_spans;
use super::sql::{Bind, fetch};
use crate::metrics::jobs::JobWindow;
use crate::store::rollups::RollupView;
use crate::store::{JobInsights, StoreError};

impl JobInsights<'_> {
    /// The tallies per job key (day 0, matrix '') of the jobs whose run
    /// started in `[start, end)` (`end` `None`: no upper bound) matching
    /// `filter`, steps included when `with_steps`; packed hours where
    /// `view` allows (never with a branch filter), raw scans elsewhere.
    /// `now` bounds the packed part of an open-ended window.
    pub async fn job_list_window(
        &self,
        start: i64,
        end: Option<i64>,
        filter: &JobFilter,
        view: Option<&RollupView>,
        now: i64,
        with_steps: bool,
    ) -> Result<JobWindow, StoreError> {
        let view = if filter.branch.is_none() { view } else { None };
        let Some(view) = view else {
            return self.job_window((start, end), filter, Grain::Key, with_steps, None).await;
        };
        let plan = hour_plan(start, end, now, view);
        // The runs in no packed row (`RollupView::unpacked`): not taken off
        // with an edge hour's outside part, and read by id where their
        // hour is packed and they start inside the window.
        let within = |spans: &[(i64, i64)], at: i64| spans.iter().any(|&(a, b)| a <= at && at < b);
        let in_packed = |at: i64| {
            at >= start && end.is_none_or(|end| at < end) && within(&plan.packed, at.div_euclid(HOUR))
        };
        let unpacked = &view.unpacked;
        let ids: Vec<i64> = unpacked.iter().filter(|&(_, &at)| in_packed(at)).map(|(&id, _)| id).collect();
        // Read by id on a connection of their own, while the packed rows
        // and raw spans are read (and decoded) on another.
        let by_id = async {
            if ids.is_empty() {
                return Ok(JobWindow::default());
            }
            let mut conn = self.read.acquire().await?;
            let bucket = |at: i64, _| in_packed(at).then_some(0);
            let mut scanned =
                raw_scan(&mut conn, Runs::Ids(&ids), filter, Grain::Key, with_steps, bucket).await?;
            Ok::<_, StoreError>(scanned.remove(&0).unwrap_or_default())
        };
        let packed = async {
            let mut conn = self.read.acquire().await?;
            let keys = allowed_keys(&mut conn, filter).await?;
            let keep = |key: i64| keys.as_ref().is_none_or(|keys| keys.contains(&key));
            let mut sums = Accumulator::default();
            let reads = packed_reads(&plan.packed, view);
            read_spans(&mut conn, &reads.days, with_steps, &mut sums, &keep).await?;
            read_hours(&mut conn, &reads.hours, with_steps, 1, &mut sums, &keep).await?;
            read_hours(&mut conn, &reads.minus_hours, with_steps, -1, &mut sums, &keep).await?;
            let mut window = sums.into_window();
            let runs = Runs::Spans { add: &plan.raw, subtract: &plan.subtract };
            let bucket =
                |at: i64, id: i64| (!(unpacked.contains_key(&id) && within(&plan.subtract, at))).then_some(0);
            let mut scanned = raw_scan(&mut conn, runs, filter, Grain::Key, with_steps, bucket).await?;
            window.merge(scanned.remove(&0).unwrap_or_default());
            Ok::<_, StoreError>(window)
        };
        let (mut window, read_by_id) = tokio::try_join!(packed, by_id)?;
        window.merge(read_by_id);
        window.jobs.retain(|_, tally| !tally.is_empty());
        window.steps.retain(|_, tally| tally.runs != 0 || tally.durations.count() != 0);
        Ok(window)
    }
}

/// The ids of the keys `filter`'s key attributes allow; `None` when it
/// names none (every key).
async fn allowed_keys(
    conn: &mut sqlx::AnyConnection,
    filter: &JobFilter,
) -> Result<Option<HashSet<i64>>, StoreError> {
    let mut binds: Vec<Bind> = Vec::new();
    let where_ = filter_sql(filter, false, &mut binds);
    if binds.is_empty() {
        return Ok(None);
    }
    let rows = fetch(conn, format!("SELECT k.id FROM job_keys k WHERE 1 = 1{where_}"), &binds).await?;
    Ok(Some(rows.iter().map(|row| row.try_get::<i64, _>("id")).collect::<Result<_, _>>()?))
}
