//! Peak concurrency per hour: the largest number of jobs running at one
//! instant within each UTC hour, by a sweep over the jobs' start and end
//! events. Pure arithmetic; the caller picks the jobs (see
//! `crate::metrics::runners`).
//!
//! Definition: a job runs over the half-open interval `[started, ended)`
//! (Unix seconds), so a job ending at the instant another starts does not
//! overlap it, and a job of zero seconds never runs. The count at instant
//! `t` is the number of intervals holding `t`; an hour `[h, h + 3600)`'s
//! peak is the largest count at any instant of it. The count only rises at
//! a start, so the peak is the count at `h` or right after a start inside
//! the hour: sweeping the events in time order (ends before starts at the
//! same second) visits exactly those instants.

/// One job's running interval, `[start, end)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start: i64,
    pub end: i64,
}

/// The peak count of each of `hours` consecutive hours starting at `from`
/// (which the caller aligns to an hour), from `intervals` in any order.
/// Intervals with `end ≤ start` are left out (they never run).
pub fn hourly_peaks(intervals: &[Interval], from: i64, hours: usize) -> Vec<u32> {
    let mut events: Vec<(i64, i32)> = Vec::with_capacity(intervals.len() * 2);
    for interval in intervals.iter().filter(|i| i.end > i.start) {
        events.push((interval.start, 1));
        events.push((interval.end, -1));
    }
    // Ends (−1) sort before starts (+1) at the same second: half-open intervals.
    events.sort_unstable();
    let mut peaks = Vec::with_capacity(hours);
    let mut count: i64 = 0;
    let mut next = 0;
    for hour in 0..hours {
        let start = from + hour as i64 * 3600;
        let end = start + 3600;
        // Everything up to and including the hour's first instant.
        while next < events.len() && events[next].0 <= start {
            count += i64::from(events[next].1);
            next += 1;
        }
        let mut peak = count;
        while next < events.len() && events[next].0 < end {
            count += i64::from(events[next].1);
            peak = peak.max(count);
            next += 1;
        }
        peaks.push(u32::try_from(peak.max(0)).unwrap_or(u32::MAX));
    }
    peaks
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    fn iv(start: i64, end: i64) -> Interval {
        Interval { start, end }
    }

    #[test]
    fn a_peak_across_an_hour_boundary_counts_in_both_hours() {
        // Hours 0 and 1. A runs 0:50–1:10, B 1:05–1:20, C 0:10–0:20.
        // Hour 0: C alone (1), then A alone (1) → peak 1.
        // Hour 1: at 1:00 A runs (1); at 1:05 B starts → 2 → peak 2.
        let jobs = [iv(50 * 60, H + 10 * 60), iv(H + 5 * 60, H + 20 * 60), iv(10 * 60, 20 * 60)];
        assert_eq!(hourly_peaks(&jobs, 0, 2), vec![1, 2]);
    }

    #[test]
    fn touching_intervals_do_not_overlap_and_empty_ones_never_run() {
        // A 0:00–0:30 and B 0:30–0:40 touch: at 0:30 only B runs → peak 1.
        // C has zero length, D ends before it starts (skewed clocks): neither counts.
        let jobs = [iv(0, 1800), iv(1800, 2400), iv(600, 600), iv(900, 300)];
        assert_eq!(hourly_peaks(&jobs, 0, 1), vec![1]);
    }

    #[test]
    fn a_job_running_through_an_hour_counts_there_and_earlier_starts_carry_in() {
        // A 23:00 the day before → 2:30 (started before the first hour);
        // B 0:15–0:45, C 0:30–0:35 → hour 0 peak 3 (at 0:30), hour 1 peak 1,
        // hour 2 peak 1 (A until 2:30), hour 3 peak 0.
        let jobs = [iv(-H, 2 * H + 1800), iv(900, 2700), iv(1800, 2100)];
        assert_eq!(hourly_peaks(&jobs, 0, 4), vec![3, 1, 1, 0]);
    }
}
