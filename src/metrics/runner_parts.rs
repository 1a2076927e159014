//! The parts the runner figures (`crate::metrics::runners`) are assembled
//! from, whether every job is scanned or whole UTC days come from the
//! runner roll-ups (`crate::store::runner_rollups`): per label set and day
//! a [`DayTally`] (jobs, exact queue-time histogram, runner groups), per
//! label set and hour the peak concurrency of finished jobs, and the jobs
//! read one by one ([`JobSpan`]s: raw days, and every job queued or
//! running now). Pure; owns the assembly, not the definitions' prose
//! (module doc of `crate::metrics::runners`) and no I/O.
//!
//! Exactness: a day's (or an hour's) tally is a sum over its jobs, so
//! rolled-up days and hours and scanned hours add up to the scan of the
//! window. An hour's peak is not a sum; a finished job counts only until
//! the end of the UTC day after its start ([`concurrency_cutoff`]), so an
//! hour's finished peak depends only on the jobs started from the start of
//! the day before up to the hour's end, and the jobs running now (read
//! live) add a constant to every hour after their start: an hour whose
//! peak is rolled up is its rolled peak plus the running jobs started by
//! the hour's first instant. An hour holding a running job's start never
//! has its peak rolled up (the reader ensures it).

use std::collections::{BTreeMap, BTreeSet};

use super::concurrency::{Interval, hourly_peaks};
use super::ratio::round3;
use super::runners::{DayFigures, HourPeak, JobSpan, LabelSetFigures, Waiting, is_self_hosted};
use super::tally::Histogram;
use crate::domain::BuildStatus;
use crate::domain::time::{format_timestamp, from_unix};

/// Seconds in a UTC day.
pub const DAY: i64 = 86_400;
/// Seconds in an hour.
pub const HOUR: i64 = 3_600;

/// Where a finished job's running interval is cut for peak concurrency:
/// the end of the UTC day after the day of its start (`started`).
pub fn concurrency_cutoff(started: i64) -> i64 {
    (started.div_euclid(DAY) + 2) * DAY
}

/// A job's running interval for peak concurrency, as of `now`: from its
/// start to its end (running now: to `now`), a finished one cut at `now`
/// and at [`concurrency_cutoff`]. `None` for a job no runner took.
pub fn interval(span: &JobSpan, now: i64) -> Option<Interval> {
    if span.status == BuildStatus::Skipped || !span.has_started() {
        return None;
    }
    let start = span.started_at?;
    let end = match span.status {
        BuildStatus::Running => now,
        _ => span.completed_at?.min(now).min(concurrency_cutoff(start)),
    };
    Some(Interval { start, end })
}

/// One label set's jobs of one UTC day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayTally {
    /// Jobs a runner took (`in_progress` or `completed`).
    pub jobs: u64,
    /// Their queue times (whole seconds → jobs).
    pub queues: Histogram,
    /// The runner groups that ran them.
    pub groups: BTreeSet<String>,
}

impl DayTally {
    /// Counts `span` when a runner took it (not skipped).
    pub fn add(&mut self, span: &JobSpan) {
        if span.status == BuildStatus::Skipped || !span.has_started() || span.started_at.is_none() {
            return;
        }
        self.jobs += 1;
        if let Some(group) = &span.runner_group {
            self.groups.insert(group.clone());
        }
        if let Some(queue) = span.queue_seconds() {
            self.queues.add(queue, 1);
        }
    }

    pub fn merge(&mut self, other: &DayTally) {
        self.jobs += other.jobs;
        self.queues.merge(&other.queues);
        self.groups.extend(other.groups.iter().cloned());
    }
}

/// What the roll-ups answer for a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolledRunners {
    /// Days whose tallies come from `days`, not from the spans.
    pub days_rolled: BTreeSet<i64>,
    /// Hours (Unix seconds / 3600) of other days whose tallies come from
    /// `days` (added into their day's), not from the spans.
    pub hours_rolled: BTreeSet<i64>,
    /// Per label set and day: rolled-up tallies (a label set with a row
    /// for the day before the window or later is listed).
    pub days: BTreeMap<Vec<String>, BTreeMap<i64, DayTally>>,
    /// Hours whose peaks come from `peaks` (plus the running jobs).
    pub peak_hours: BTreeSet<i64>,
    /// Per label set and hour (Unix seconds / 3600): the finished jobs' peak.
    pub peaks: BTreeMap<Vec<String>, BTreeMap<i64, u32>>,
}

#[derive(Default)]
struct Acc<'a> {
    days: BTreeMap<i64, DayTally>,
    queued_now: u64,
    longest: Option<&'a JobSpan>,
    running_now: u64,
    intervals: Vec<Interval>,
    running: Vec<Interval>,
}

/// The figures per label set for the window `[from, now)` (`from` at a UTC
/// midnight) from `rolled` and `spans`: the jobs of the days not rolled up
/// (and of the day before the window, for concurrency), and every job
/// queued or running now (a job given twice counts once). Ordered by
/// queued now, then jobs, descending, then labels.
pub fn figures_from(rolled: &RolledRunners, spans: &[JobSpan], from: i64, now: i64) -> Vec<LabelSetFigures> {
    let mut sets: BTreeMap<Vec<String>, Acc<'_>> = BTreeMap::new();
    let from_day = from.div_euclid(DAY);
    for (labels, days) in &rolled.days {
        let acc = sets.entry(labels.clone()).or_default();
        for (day, tally) in days.range(from_day..) {
            acc.days.entry(*day).or_default().merge(tally);
        }
    }
    let mut seen = BTreeSet::new();
    for span in spans.iter().filter(|s| s.status != BuildStatus::Skipped) {
        if !seen.insert(span.id) {
            continue;
        }
        let acc = sets.entry(span.label_set()).or_default();
        if span.is_waiting_for_runner() {
            acc.queued_now += 1;
            let earlier = |best: &JobSpan| span.created_at.unwrap_or(now) < best.created_at.unwrap_or(now);
            if acc.longest.is_none_or(earlier) {
                acc.longest = Some(span);
            }
        }
        if span.status == BuildStatus::Running && !span.run_finished {
            acc.running_now += 1;
        }
        if let Some(interval) = interval(span, now) {
            acc.intervals.push(interval);
            if span.status == BuildStatus::Running {
                acc.running.push(interval);
            }
        }
        let Some(started) = span.started_at.filter(|s| *s >= from && *s < now) else { continue };
        let day = started.div_euclid(DAY);
        if !rolled.days_rolled.contains(&day) && !rolled.hours_rolled.contains(&started.div_euclid(HOUR)) {
            acc.days.entry(day).or_default().add(span);
        }
    }
    let hours = usize::try_from((now - from).div_euclid(HOUR) + 1).unwrap_or(0);
    let mut out: Vec<LabelSetFigures> = sets
        .into_iter()
        .map(|(labels, acc)| {
            let mut peaks = hourly_peaks(&acc.intervals, from, hours);
            let rolled_peaks = rolled.peaks.get(&labels);
            for (i, peak) in peaks.iter_mut().enumerate() {
                let start = from + i as i64 * HOUR;
                if !rolled.peak_hours.contains(&start.div_euclid(HOUR)) {
                    continue;
                }
                let finished =
                    rolled_peaks.and_then(|p| p.get(&start.div_euclid(HOUR))).copied().unwrap_or(0);
                let running = acc.running.iter().filter(|r| r.start <= start && r.end > start).count();
                *peak = finished.saturating_add(u32::try_from(running).unwrap_or(u32::MAX));
            }
            finish(labels, acc, peaks, from, now)
        })
        .collect();
    out.sort_by(|a, b| {
        b.queued_now.cmp(&a.queued_now).then(b.jobs.cmp(&a.jobs)).then_with(|| a.labels.cmp(&b.labels))
    });
    out
}

fn pct(histogram: &Histogram, p: f64) -> Option<f64> {
    histogram.percentile(p).map(round3)
}

fn finish(labels: Vec<String>, acc: Acc<'_>, peaks: Vec<u32>, from: i64, now: i64) -> LabelSetFigures {
    let hourly: Vec<HourPeak> = peaks
        .iter()
        .enumerate()
        .filter_map(|(i, peak)| {
            let start = from_unix(from + i as i64 * HOUR)?;
            Some(HourPeak { start: format_timestamp(start), peak_concurrency: *peak })
        })
        .collect();
    let mut all = DayTally::default();
    for tally in acc.days.values() {
        all.merge(tally);
    }
    let days = peaks.len().div_ceil(24);
    let daily = (0..days)
        .filter_map(|d| {
            let day = from.div_euclid(DAY) + d as i64;
            let tally = acc.days.get(&day).cloned().unwrap_or_default();
            let peak = peaks.iter().skip(d * 24).take(24).copied().max().unwrap_or(0);
            Some(DayFigures {
                date: from_unix(day * DAY)?.format("%Y-%m-%d").to_string(),
                jobs: tally.jobs,
                queue_p50_seconds: pct(&tally.queues, 0.5),
                queue_p95_seconds: pct(&tally.queues, 0.95),
                peak_concurrency: peak,
            })
        })
        .collect();
    let longest_waiting = acc.longest.map(|span| Waiting {
        age_seconds: span.created_at.map_or(0, |created| (now - created).max(0)),
        queued_at: span.created_at.and_then(from_unix).map(format_timestamp).unwrap_or_default(),
        job: span.name.clone(),
        repo: span.repo.clone(),
        build_id: span.build_id,
        url: span.url.clone(),
    });
    LabelSetFigures {
        self_hosted: is_self_hosted(&labels),
        labels,
        runner_groups: all.groups.into_iter().collect(),
        jobs: all.jobs,
        queue_p50_seconds: pct(&all.queues, 0.5),
        queue_p95_seconds: pct(&all.queues, 0.95),
        queue_max_seconds: all.queues.iter().last().map(|(seconds, _)| seconds),
        queued_now: acc.queued_now,
        longest_waiting,
        running_now: acc.running_now,
        peak_concurrency: peaks.iter().copied().max().unwrap_or(0),
        hourly,
        daily,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: i64, status: BuildStatus, started: i64, completed: Option<i64>) -> JobSpan {
        JobSpan {
            id,
            build_id: 1,
            repo: "o/r".into(),
            workflow: None,
            branch: None,
            event: None,
            provider: "github".into(),
            name: None,
            labels: vec!["linux".into()],
            runner_group: None,
            status,
            provider_status: if completed.is_some() { "completed" } else { "in_progress" }.into(),
            created_at: Some(started),
            started_at: Some(started),
            completed_at: completed,
            url: None,
            run_finished: false,
        }
    }

    #[test]
    fn a_finished_job_counts_until_the_end_of_the_day_after_its_start() {
        // Started day 0 23:00, finished day 2 03:00 → cut at day 2 00:00.
        let long = span(1, BuildStatus::Success, 23 * HOUR, Some(2 * DAY + 3 * HOUR));
        assert_eq!(interval(&long, i64::MAX), Some(Interval { start: 23 * HOUR, end: 2 * DAY }));
        // Running now: until now, however long.
        let running = span(2, BuildStatus::Running, HOUR, None);
        assert_eq!(interval(&running, 5 * DAY), Some(Interval { start: HOUR, end: 5 * DAY }));
    }

    #[test]
    fn a_rolled_up_hour_is_its_finished_peak_plus_the_jobs_running_since_before_it() {
        // Day 1 rolled up: hour 10 has a finished peak of 2; a job running
        // since day 0 adds 1 to every hour of day 1 → 3 at 10:00, 1 at 11:00.
        let labels = vec!["linux".to_owned()];
        let mut rolled = RolledRunners::default();
        rolled.days_rolled.insert(1);
        rolled.peak_hours.extend(DAY / HOUR..2 * DAY / HOUR);
        rolled.peaks.entry(labels.clone()).or_default().insert(DAY / HOUR + 10, 2);
        let spans = [span(9, BuildStatus::Running, 5 * HOUR, None)];
        let figures = figures_from(&rolled, &spans, DAY, 2 * DAY + 60);
        let hourly: Vec<u32> = figures[0].hourly.iter().map(|h| h.peak_concurrency).collect();
        assert_eq!((hourly[10], hourly[11], hourly[24]), (3, 1, 1));
        assert_eq!((figures[0].running_now, figures[0].peak_concurrency), (1, 3));
    }
}
