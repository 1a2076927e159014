//! The window read behind `/api/insights/jobs` (the list): tallies per job
//! key from the packed day spans (`super::spans`) for every whole, clean
//! day of the window and the hourly packed roll-up (`super::packed`) for
//! the other whole, clean hours, plus raw scans of the rest — the part of an
//! hour at each edge, and every dirty day (a job or run attempt written
//! since the last fold, or a day up to the earliest stored start) — which
//! is exactly what one raw scan of the window gives. A branch filter, or no
//! recent fold, reads raw only.

use std::collections::HashSet;

use sqlx::{AssertSqlSafe, Row};

use super::packed::Accumulator;
use super::read::{Bind, Grain, JobFilter, fetch, filter_sql, raw_window};
use super::spans::{day_spans, read_spans};
use crate::metrics::jobs::JobWindow;
use crate::store::rollups::{DAY, RollupView};
use crate::store::{JobInsights, StoreError};

/// Seconds in an hour.
pub(super) const HOUR: i64 = 3600;
/// Stands for "no upper bound": an hour boundary far beyond any timestamp.
const OPEN_END: i64 = i64::MAX / 4 / DAY * DAY;

/// `[start, end)` spans.
pub type Spans = Vec<(i64, i64)>;

/// `(raw spans of seconds, packed spans of hours)` of `[start, end)`:
/// whole hours on days after `view.min_day` that are not dirty come
/// packed; the rest raw. Pure.
pub fn hour_plan(start: i64, end: i64, view: &RollupView) -> (Spans, Spans) {
    let (mut raw, mut packed): (Spans, Spans) = (Vec::new(), Vec::new());
    let push = |spans: &mut Vec<(i64, i64)>, a: i64, b: i64| {
        if a >= b {
            return;
        }
        match spans.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => spans.push((a, b)),
        }
    };
    let first = start.div_euclid(HOUR) + i64::from(start.rem_euclid(HOUR) != 0);
    let last = end.div_euclid(HOUR); // exclusive
    if first >= last {
        push(&mut raw, start, end);
        return (raw, packed);
    }
    push(&mut raw, start, first * HOUR);
    let per_day = DAY / HOUR;
    let mut hour = first;
    while hour < last {
        let day = hour.div_euclid(per_day);
        let day_end = ((day + 1) * per_day).min(last);
        if day > view.min_day && !view.dirty.contains(&day) {
            push(&mut packed, hour, day_end);
        } else {
            push(&mut raw, hour * HOUR, day_end * HOUR);
        }
        hour = day_end;
    }
    push(&mut raw, last * HOUR, end);
    (raw, packed)
}

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
            return self.job_window(start, end, filter, Grain::Key, None).await;
        };
        let planned_end = end.unwrap_or(now.div_euclid(HOUR) * HOUR);
        let (mut raw, packed) = hour_plan(start, planned_end.max(start), view);
        if end.is_none() {
            let from = planned_end.max(start);
            match raw.last_mut() {
                Some(last) if last.1 == from => last.1 = OPEN_END,
                _ => raw.push((from, OPEN_END)),
            }
        }
        let mut conn = self.read.acquire().await?;
        let keys = allowed_keys(&mut conn, filter).await?;
        let keep = |key: i64| keys.as_ref().is_none_or(|keys| keys.contains(&key));
        let mut sums = Accumulator::default();
        let (days, hours) = split_days(&packed);
        read_spans(&mut conn, &days, with_steps, &mut sums, &keep).await?;
        let columns = if with_steps { "jobs, steps" } else { "jobs" };
        let sql = format!("SELECT {columns} FROM rollup_job_hours WHERE hour >= $1 AND hour < $2");
        for &(first, last) in &hours {
            let rows =
                sqlx::query(AssertSqlSafe(sql.clone())).bind(first).bind(last).fetch_all(&mut *conn).await?;
            for row in &rows {
                let steps = if with_steps { Some(row.try_get::<&[u8], _>("steps")?) } else { None };
                sums.add(row.try_get::<&[u8], _>("jobs")?, steps, &keep)?;
            }
        }
        let mut window = sums.into_window();
        let mut rest = raw_window(&mut conn, &raw, &[], filter, Grain::Key).await?;
        if !with_steps {
            rest.steps.clear();
        }
        window.merge(rest);
        window.jobs.retain(|_, tally| !tally.is_empty());
        window.steps.retain(|_, tally| tally.runs != 0 || tally.durations.count() != 0);
        Ok(window)
    }
}

/// The packed hour spans split into aligned day spans (`(first_day,
/// days)`, `super::spans`) for their whole days and the hour spans left at
/// their ends. Pure.
pub fn split_days(packed: &[(i64, i64)]) -> (Spans, Spans) {
    let per_day = DAY / HOUR;
    let (mut days, mut hours) = (Vec::new(), Vec::new());
    for &(first, last) in packed {
        let (day_first, day_end) =
            (first.div_euclid(per_day) + i64::from(first.rem_euclid(per_day) != 0), last.div_euclid(per_day));
        if day_first >= day_end {
            hours.push((first, last));
            continue;
        }
        if first < day_first * per_day {
            hours.push((first, day_first * per_day));
        }
        days.extend(day_spans(day_first, day_end));
        if day_end * per_day < last {
            hours.push((day_end * per_day, last));
        }
    }
    (days, hours)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn view(min_day: i64, dirty: &[i64]) -> RollupView {
        RollupView { min_day, dirty: dirty.iter().copied().collect() }
    }

    #[test]
    fn whole_clean_hours_are_packed_edges_and_dirty_days_raw() {
        // Day 10 at 05:30 to day 12 at 07:15, day 11 dirty.
        let start = 10 * DAY + 5 * HOUR + 1800;
        let end = 12 * DAY + 7 * HOUR + 900;
        let (raw, packed) = hour_plan(start, end, &view(0, &[11]));
        assert_eq!(raw, vec![(start, 10 * DAY + 6 * HOUR), (11 * DAY, 12 * DAY), (12 * DAY + 7 * HOUR, end)]);
        assert_eq!(packed, vec![(10 * 24 + 6, 11 * 24), (12 * 24, 12 * 24 + 7)]);
        // Days up to the earliest stored start are raw.
        let (raw, packed) = hour_plan(start, end, &view(11, &[]));
        assert_eq!(raw, vec![(start, 12 * DAY), (12 * DAY + 7 * HOUR, end)]);
        assert_eq!(packed, vec![(12 * 24, 12 * 24 + 7)]);
        // Inside one hour: raw.
        assert_eq!(hour_plan(start, start + 60, &view(0, &[])), (vec![(start, start + 60)], vec![]));
        // Aligned on hours: nothing raw.
        assert_eq!(hour_plan(10 * DAY, 10 * DAY + 2 * HOUR, &view(0, &[])), (vec![], vec![(240, 242)]));
    }

    #[test]
    fn whole_days_of_packed_hours_are_read_as_day_spans() {
        // Hours 10 d 06:00 – 11 d 00:00 (no whole day), 12 d 07:00 – 16 d 03:00.
        let packed = [(10 * 24 + 6, 11 * 24), (12 * 24 + 7, 16 * 24 + 3)];
        let (days, hours) = split_days(&packed);
        assert_eq!(days, vec![(13, 1), (14, 2)]);
        assert_eq!(hours, vec![(10 * 24 + 6, 11 * 24), (12 * 24 + 7, 13 * 24), (16 * 24, 16 * 24 + 3)]);
        assert_eq!(split_days(&[(24, 48)]), (vec![(1, 1)], vec![]));
    }
}
