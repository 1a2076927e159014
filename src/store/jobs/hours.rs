//! The plan of a job-list window at hour grain (pure): which `sort_at`
//! spans are scanned raw, which UTC hours come packed (`super::packed`;
//! their whole days as day spans, `super::spans`), and which spans are
//! subtracted from a packed edge hour — the summary's day plan
//! (`crate::store::rollups::plan`) one grain finer.
//!
//! An hour is packed when its day is after the earliest stored start's
//! and the hour is clean: the view's stale hours
//! ([`RollupView::hours`]) when known, else its stale days. An edge hour
//! more than half inside the window is its packed row minus the part
//! outside, so no edge scans more than half an hour. An open-ended window
//! plans through `now`'s hour (packed when nothing was written to it
//! since the fold) and scans the rest raw.

use crate::store::rollups::{DAY, RollupView};

/// Seconds in an hour.
pub(super) const HOUR: i64 = 3600;

/// `[start, end)` spans.
pub type Spans = Vec<(i64, i64)>;

/// Stands for "no upper bound": an hour boundary far beyond any timestamp.
const OPEN_END: i64 = i64::MAX / 4 / DAY * DAY;

/// How a window is read: `raw` spans of seconds scanned, `packed` spans
/// of hours read, `subtract` spans of seconds scanned and taken off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourPlan {
    pub raw: Spans,
    pub subtract: Spans,
    pub packed: Spans,
}

fn push(spans: &mut Spans, a: i64, b: i64) {
    if a >= b {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.1 == a => last.1 = b,
        _ => spans.push((a, b)),
    }
}

/// Whether hour `hour`'s packed row may be read.
fn clean(hour: i64, view: &RollupView) -> bool {
    let day = hour.div_euclid(DAY / HOUR);
    day > view.min_day
        && match &view.hours {
            Some(hours) => !hours.contains(&hour),
            None => !view.dirty.contains(&day),
        }
}

/// The plan of `[start, end)` (`end` `None`: no upper bound, planned
/// through `now`'s hour).
pub fn hour_plan(start: i64, end: Option<i64>, now: i64, view: &RollupView) -> HourPlan {
    let mut plan = HourPlan::default();
    let bound = end.unwrap_or((now.div_euclid(HOUR) + 1) * HOUR).max(start);
    let first = start.div_euclid(HOUR) + i64::from(start.rem_euclid(HOUR) != 0);
    let last = bound.div_euclid(HOUR); // exclusive
    if first > last {
        push(&mut plan.raw, start, bound);
    } else {
        let lead = first - 1;
        if start > lead * HOUR && first * HOUR - start > HOUR / 2 && clean(lead, view) {
            push(&mut plan.packed, lead, first);
            push(&mut plan.subtract, lead * HOUR, start);
        } else {
            push(&mut plan.raw, start, first * HOUR);
        }
        for hour in first..last {
            if clean(hour, view) {
                push(&mut plan.packed, hour, hour + 1);
            } else {
                push(&mut plan.raw, hour * HOUR, (hour + 1) * HOUR);
            }
        }
        if bound > last * HOUR && bound - last * HOUR > HOUR / 2 && clean(last, view) {
            push(&mut plan.packed, last, last + 1);
            push(&mut plan.subtract, bound, (last + 1) * HOUR);
        } else {
            push(&mut plan.raw, last * HOUR, bound);
        }
    }
    if end.is_none() {
        push(&mut plan.raw, bound, OPEN_END);
    }
    plan
}

/// The packed hour spans split into aligned day spans (`(first_day,
/// days)`, `super::spans`) for their whole days and the hour spans left at
/// their ends.
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
        days.extend(super::spans::day_spans(day_first, day_end));
        if day_end * per_day < last {
            hours.push((day_end * per_day, last));
        }
    }
    (days, hours)
}

/// How the packed hours of a plan are read: aligned day spans, hour rows
/// added, and hour rows taken off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedReads {
    /// `(first_day, days)` spans (`super::spans`).
    pub days: Spans,
    /// Spans of hours added.
    pub hours: Spans,
    /// Spans of hours taken off.
    pub minus_hours: Spans,
}

/// The reads of `packed` (spans of hours): whole days as day spans; the
/// hours of a day more than half of it as the day's row minus the rest's
/// hours when every hour of the day is clean, else as hours; hours are read
/// as aligned hour spans and hour rows (`super::hour_spans`).
pub fn packed_reads(packed: &[(i64, i64)], view: &RollupView) -> PackedReads {
    let per_day = DAY / HOUR;
    let (days, parts) = split_days(packed);
    let mut reads = PackedReads { days, ..PackedReads::default() };
    for (mut first, last) in parts {
        while first < last {
            let day = first.div_euclid(per_day);
            let (day_first, day_end) = (day * per_day, (day + 1) * per_day);
            let end = last.min(day_end);
            if (end - first) * 2 > per_day && (day_first..day_end).all(|hour| clean(hour, view)) {
                reads.days.push((day, 1));
                push(&mut reads.minus_hours, day_first, first);
                push(&mut reads.minus_hours, end, day_end);
            } else {
                push(&mut reads.hours, first, end);
            }
            first = end;
        }
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(min_day: i64, dirty: &[i64], hours: Option<&[i64]>) -> RollupView {
        RollupView {
            min_day,
            dirty: dirty.iter().copied().collect(),
            hours: hours.map(|h| h.iter().copied().collect()),
            ..RollupView::default()
        }
    }

    #[test]
    fn whole_clean_hours_are_packed_edges_and_dirty_days_raw() {
        // Day 10 at 05:40 to day 12 at 07:15, day 11 dirty: the lead edge
        // (20 min) and the trailing one (15 min) are scanned.
        let start = 10 * DAY + 5 * HOUR + 2400;
        let end = 12 * DAY + 7 * HOUR + 900;
        let plan = hour_plan(start, Some(end), 0, &view(0, &[11], None));
        assert_eq!(
            plan.raw,
            vec![(start, 10 * DAY + 6 * HOUR), (11 * DAY, 12 * DAY), (12 * DAY + 7 * HOUR, end)]
        );
        assert_eq!(plan.packed, vec![(10 * 24 + 6, 11 * 24), (12 * 24, 12 * 24 + 7)]);
        assert!(plan.subtract.is_empty());
        // Days up to the earliest stored start are raw.
        let plan = hour_plan(start, Some(end), 0, &view(11, &[], None));
        assert_eq!(plan.raw, vec![(start, 12 * DAY), (12 * DAY + 7 * HOUR, end)]);
        assert_eq!(plan.packed, vec![(12 * 24, 12 * 24 + 7)]);
        // Inside one hour: raw.
        assert_eq!(hour_plan(start, Some(start + 60), 0, &view(0, &[], None)).raw, vec![(start, start + 60)]);
        // Aligned on hours: nothing raw.
        let plan = hour_plan(10 * DAY, Some(10 * DAY + 2 * HOUR), 0, &view(0, &[], None));
        assert_eq!((plan.raw, plan.packed), (vec![], vec![(240, 242)]));
    }

    #[test]
    fn an_edge_hour_mostly_inside_is_its_packed_row_minus_the_rest() {
        // 05:10 to 07:50 on day 10: hours 5 and 7 packed, 05:00–05:10 and
        // 07:50–08:00 subtracted.
        let start = 10 * DAY + 5 * HOUR + 600;
        let end = 10 * DAY + 7 * HOUR + 3000;
        let plan = hour_plan(start, Some(end), 0, &view(0, &[], None));
        assert_eq!(plan.packed, vec![(245, 248)]);
        assert_eq!(plan.subtract, vec![(10 * DAY + 5 * HOUR, start), (end, 10 * DAY + 8 * HOUR)]);
        assert!(plan.raw.is_empty());
        // A stale edge hour is scanned instead.
        let plan = hour_plan(start, Some(end), 0, &view(0, &[10], Some(&[245])));
        assert_eq!(plan.raw, vec![(start, 10 * DAY + 6 * HOUR)]);
        assert_eq!(plan.packed, vec![(246, 248)]);
        assert_eq!(plan.subtract, vec![(end, 10 * DAY + 8 * HOUR)]);
    }

    #[test]
    fn stale_hours_when_known_narrow_a_dirty_day() {
        // Day 10 dirty through hour 250 only: the rest of the day is packed.
        let plan = hour_plan(10 * DAY, Some(11 * DAY), 0, &view(0, &[10], Some(&[250])));
        assert_eq!(plan.packed, vec![(240, 250), (251, 264)]);
        assert_eq!(plan.raw, vec![(250 * HOUR, 251 * HOUR)]);
    }

    #[test]
    fn an_open_window_packs_the_clean_current_hour_and_scans_beyond() {
        let now = 10 * DAY + 5 * HOUR + 600;
        let plan = hour_plan(9 * DAY, None, now, &view(0, &[], None));
        assert_eq!(plan.packed, vec![(216, 246)]);
        assert_eq!(plan.raw, vec![(246 * HOUR, OPEN_END)]);
        // Written to since the fold: the current hour is scanned.
        let plan = hour_plan(9 * DAY, None, now, &view(0, &[10], Some(&[245])));
        assert_eq!(plan.packed, vec![(216, 245)]);
        assert_eq!(plan.raw, vec![(245 * HOUR, OPEN_END)]);
    }

    #[test]
    fn most_of_a_clean_day_is_its_row_minus_the_other_hours() {
        // Hours 10 d 06:00 – 12 d 03:00: day 10 as its row minus 00:00–06:00,
        // day 11 whole, day 12 (3 hours) as hour rows.
        let reads = packed_reads(&[(246, 291)], &view(0, &[], None));
        assert_eq!(reads.days, vec![(11, 1), (10, 1)]);
        assert_eq!(reads.minus_hours, vec![(240, 246)]);
        assert_eq!(reads.hours, vec![(288, 291)]);
        // With a stale hour on day 10 (not in the span): its hours are read.
        let reads = packed_reads(&[(246, 291)], &view(0, &[10], Some(&[241])));
        assert_eq!(reads.days, vec![(11, 1)]);
        assert_eq!(reads.hours, vec![(246, 264), (288, 291)]);
        assert!(reads.minus_hours.is_empty());
        // Half a day or less: hour rows. Several spans in one day.
        let reads = packed_reads(&[(240, 243), (244, 252), (253, 262)], &view(0, &[], None));
        assert_eq!(reads.hours, vec![(240, 243), (244, 252), (253, 262)]);
        // 14 hours and 4 in one day: the day minus the 10 others, plus the 4.
        let reads = packed_reads(&[(240, 254), (256, 260)], &view(0, &[], None));
        assert_eq!(reads.days, vec![(10, 1)]);
        assert_eq!(reads.minus_hours, vec![(254, 264)]);
        assert_eq!(reads.hours, vec![(256, 260)]);
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
