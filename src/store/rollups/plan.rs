//! The plan of a window: which `sort_at` spans are scanned raw, which
//! days come from their roll-ups, and which spans are subtracted from a
//! rolled-up edge day. Pure.

use super::{DAY, OPEN_END, RollupView};

/// How a window is answered: the attempts of the raw `[start, end)` spans
/// of `sort_at` (Unix seconds), plus the roll-ups of the `[first, end)`
/// spans of days, minus the attempts of the `subtract` spans (an edge day
/// more than half inside the window is its roll-up minus the part outside,
/// so no edge scans more than half a day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub raw: Vec<(i64, i64)>,
    pub rollup_days: Vec<(i64, i64)>,
    pub subtract: Vec<(i64, i64)>,
}

pub(super) fn push_span(spans: &mut Vec<(i64, i64)>, start: i64, end: i64) {
    if start >= end {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.1 == start => last.1 = end,
        _ => spans.push((start, end)),
    }
}

/// Splits the window `[start, end)` (`end` `None`: no upper bound) into
/// raw spans and clean roll-up day spans; without a view, one raw span.
pub fn plan(start: i64, end: Option<i64>, view: Option<&RollupView>) -> Plan {
    let end = end.unwrap_or(OPEN_END);
    let mut plan = Plan::default();
    let Some(view) = view else {
        push_span(&mut plan.raw, start, end);
        return plan;
    };
    let first = start.div_euclid(DAY) + i64::from(start.rem_euclid(DAY) != 0);
    let first = first.max(view.min_day.saturating_add(1));
    let last = end.div_euclid(DAY); // exclusive
    if first >= last {
        push_span(&mut plan.raw, start, end);
        return plan;
    }
    let usable = |day: i64| day > view.min_day && !view.dirty.contains(&day);
    // Leading edge: the day holding `start`, when most of it is inside.
    let lead = first - 1;
    if start > lead * DAY && first * DAY - start > DAY / 2 && usable(lead) {
        push_span(&mut plan.rollup_days, lead, first);
        push_span(&mut plan.subtract, lead * DAY, start);
    } else {
        push_span(&mut plan.raw, start, first * DAY);
    }
    let mut next = first;
    for &day in view.dirty.range(first..last) {
        push_span(&mut plan.rollup_days, next, day);
        push_span(&mut plan.raw, day * DAY, (day + 1) * DAY);
        next = day + 1;
    }
    push_span(&mut plan.rollup_days, next, last);
    // Trailing edge: the day holding `end`, likewise.
    if end > last * DAY && end - last * DAY > DAY / 2 && usable(last) {
        push_span(&mut plan.rollup_days, last, last + 1);
        push_span(&mut plan.subtract, end, (last + 1) * DAY);
    } else {
        push_span(&mut plan.raw, last * DAY, end);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(min_day: i64, dirty: &[i64]) -> RollupView {
        RollupView { min_day, dirty: dirty.iter().copied().collect(), ..RollupView::default() }
    }

    #[test]
    fn without_a_view_the_whole_window_is_raw() {
        let p = plan(1000, Some(5000), None);
        assert_eq!(p.raw, vec![(1000, 5000)]);
        assert!(p.rollup_days.is_empty());
    }

    #[test]
    fn edges_and_dirty_days_are_raw_whole_clean_days_rolled_up() {
        // From day 10 at 18:00 to day 15 at 12:00; day 12 dirty. Both edges
        // hold at most half their day: scanned.
        let start = 10 * DAY + 18 * 3600;
        let end = 15 * DAY + 12 * 3600;
        let p = plan(start, Some(end), Some(&view(0, &[12, 40])));
        assert_eq!(p.raw, vec![(start, 11 * DAY), (12 * DAY, 13 * DAY), (15 * DAY, end)]);
        assert_eq!(p.rollup_days, vec![(11, 12), (13, 15)]);
        assert!(p.subtract.is_empty());
    }

    #[test]
    fn an_edge_day_mostly_inside_is_its_rollup_minus_the_rest() {
        // From day 10 at 06:00 (18 h inside) to day 15 at 20:00 (20 h inside):
        // both edge days rolled up, and the 6 h before / 4 h after subtracted.
        let start = 10 * DAY + 6 * 3600;
        let end = 15 * DAY + 20 * 3600;
        let p = plan(start, Some(end), Some(&view(0, &[])));
        assert!(p.raw.is_empty(), "{p:?}");
        assert_eq!(p.rollup_days, vec![(10, 16)]);
        assert_eq!(p.subtract, vec![(10 * DAY, start), (end, 16 * DAY)]);
        // A dirty edge day is scanned instead.
        let p = plan(start, Some(end), Some(&view(0, &[10])));
        assert_eq!(p.raw, vec![(start, 11 * DAY)]);
        assert_eq!(p.subtract, vec![(end, 16 * DAY)]);
    }

    #[test]
    fn a_window_starting_at_midnight_has_no_leading_raw_span() {
        let p = plan(10 * DAY, Some(12 * DAY), Some(&view(0, &[])));
        assert!(p.raw.is_empty());
        assert_eq!(p.rollup_days, vec![(10, 12)]);
    }

    #[test]
    fn days_up_to_the_earliest_stored_day_are_raw() {
        // Retention may have deleted part of day 11: days ≤ 11 are scanned.
        let p = plan(10 * DAY + 1, Some(14 * DAY), Some(&view(11, &[])));
        assert_eq!(p.raw, vec![(10 * DAY + 1, 12 * DAY)]);
        assert_eq!(p.rollup_days, vec![(12, 14)]);
    }

    #[test]
    fn an_open_end_rolls_up_every_clean_day_after_the_start() {
        let now_day = 20_000;
        let start = now_day * DAY - 3 * DAY + 5;
        let p = plan(start, None, Some(&view(0, &[now_day])));
        // The first day is all but 5 s inside: its roll-up minus those 5 s.
        assert_eq!(p.subtract, vec![((now_day - 3) * DAY, start)]);
        assert_eq!(p.raw, vec![(now_day * DAY, (now_day + 1) * DAY)]);
        assert_eq!(p.rollup_days, vec![(now_day - 3, now_day), (now_day + 1, OPEN_END / DAY)]);
    }

    #[test]
    fn a_window_inside_one_day_is_raw() {
        let p = plan(10 * DAY + 5, Some(10 * DAY + 500), Some(&view(0, &[])));
        assert_eq!(p.raw, vec![(10 * DAY + 5, 10 * DAY + 500)]);
        assert!(p.rollup_days.is_empty());
    }
}
