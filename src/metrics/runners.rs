//! Runners and queues (`GET /api/insights/runners`): per runner label set,
//! how many jobs ran, how long they waited for a runner, what waits and
//! runs now, and how many ran at once. Pure arithmetic over the jobs the
//! store selects ([`JobSpan`]); no I/O. Must not know SQL or HTTP.
//!
//! Definitions (also in the README's *Runners and queues* table):
//! - **label set**: a job's requested runner labels (`runs-on`), compared
//!   without ASCII case (GitHub matches labels so), lowercased, sorted and
//!   deduplicated; one row per label set. **Self-hosted** when a label is
//!   `self-hosted` ([`crate::domain::Job::is_self_hosted`]), provider-hosted
//!   otherwise. A row lists the **runner groups** that ran its jobs in the
//!   window: a queued job has no runner group until a runner takes it, so
//!   the group cannot split the live queue from the history.
//! - **window**: the `window_days` UTC calendar days ending with today (the
//!   day in progress), `[from, now)`.
//! - **jobs**: jobs that started (a runner took them: `in_progress` or
//!   `completed`) within the window, skipped jobs excluded (they never
//!   reach a runner). A re-run's carried-over jobs keep their job id and so
//!   their row in the earlier attempt: they count once, there.
//! - **queue time**: `started_at − created_at` of those jobs, clamped to 0
//!   (skewed clocks), as [`crate::domain::Job::queue_seconds`]; p50/p95 are
//!   type-7 percentiles ([`crate::metrics::percentile`]), max the largest;
//!   rounded to 0.001 s. Jobs without `created_at` have no queue time.
//! - **queued now**: jobs whose normalised status is `queued` (whatever
//!   their start), except `waiting` ones (held by a deployment protection
//!   rule, not by a lack of runners); the **longest-waiting** one has the
//!   earliest `created_at`, its age is `now − created_at` (clamped to 0).
//!   Never part of the percentiles. A job of a run attempt that has
//!   finished is not queued now (a lost final delivery, a GitLab `created`
//!   job left in a finished pipeline): it will never get a runner.
//! - **running now**: jobs whose normalised status is `running`, in a run
//!   attempt that has not finished.
//! - **peak concurrency**: per UTC hour of the window, the most jobs of the
//!   label set running at one instant ([`crate::metrics::concurrency`]); a
//!   job runs from `started_at` to `completed_at` (running now: to `now`).
//!   Jobs started up to [`LOOKBACK_SECONDS`] before the window are read so
//!   that those still running at its start count.
//! - **series**: `hourly` peak concurrency, and `daily` (UTC days) jobs,
//!   queue p50/p95 and peak concurrency (the largest hourly peak).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::concurrency::{Interval, hourly_peaks};
use super::percentile::percentile;
use super::ratio::round3;
use crate::domain::BuildStatus;
use crate::domain::time::{format_timestamp, from_unix};

/// How far before the window's start running jobs are looked for (24 h:
/// GitHub-hosted jobs are stopped after 6 h; a self-hosted job running
/// longer than this before the window is counted only if it is still running).
pub const LOOKBACK_SECONDS: i64 = 86_400;

/// What the figures need of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpan {
    pub id: i64,
    pub build_id: i64,
    pub repo: String,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    /// The run's triggering event (`push`, …).
    pub event: Option<String>,
    /// The provider's kind (`github`, `gitlab`, …).
    pub provider: String,
    pub name: Option<String>,
    pub labels: Vec<String>,
    pub runner_group: Option<String>,
    pub status: BuildStatus,
    /// The raw provider status (`queued`, `waiting`, `in_progress`, …).
    pub provider_status: String,
    pub created_at: Option<i64>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub url: Option<String>,
    /// Its run attempt has finished (`success`, `failed`, `cancelled`, …):
    /// a job still `queued` or `running` in it never gets or holds a runner.
    pub run_finished: bool,
}

impl JobSpan {
    /// Whether a runner took the job (`in_progress` or `completed`).
    pub fn has_started(&self) -> bool {
        matches!(self.provider_status.as_str(), "in_progress" | "completed")
    }

    /// Queue time (see the module doc): once started, clamped to 0.
    pub fn queue_seconds(&self) -> Option<i64> {
        if !self.has_started() {
            return None;
        }
        Some((self.started_at? - self.created_at?).max(0))
    }

    /// Run time once completed, `completed_at − started_at` clamped to 0.
    pub fn duration_seconds(&self) -> Option<i64> {
        if self.provider_status != "completed" {
            return None;
        }
        Some((self.completed_at? - self.started_at?).max(0))
    }

    /// The label set (see the module doc).
    pub fn label_set(&self) -> Vec<String> {
        let set: BTreeSet<String> = self.labels.iter().map(|l| l.to_ascii_lowercase()).collect();
        set.into_iter().collect()
    }

    /// Waiting for a runner now: `queued`, not held by an approval.
    pub fn is_waiting_for_runner(&self) -> bool {
        self.status == BuildStatus::Queued && self.provider_status != "waiting" && !self.run_finished
    }
}

/// Whether a label set asks for a self-hosted runner.
pub fn is_self_hosted(label_set: &[String]) -> bool {
    label_set.iter().any(|l| l == "self-hosted")
}

/// The job that has waited longest for a runner.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Waiting {
    /// Seconds since it was queued.
    pub age_seconds: i64,
    pub queued_at: String,
    pub job: Option<String>,
    pub repo: String,
    /// The dashboard's build (`/api/builds/{id}`).
    pub build_id: i64,
    /// The job's page at the provider.
    pub url: Option<String>,
}

/// One hour of the concurrency series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HourPeak {
    /// The hour's start (UTC).
    pub start: String,
    pub peak_concurrency: u32,
}

/// One UTC day of the series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayFigures {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub jobs: u64,
    pub queue_p50_seconds: Option<f64>,
    pub queue_p95_seconds: Option<f64>,
    pub peak_concurrency: u32,
}

/// The figures of one label set.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LabelSetFigures {
    /// Sorted, lowercased labels (empty: the job asked for none).
    pub labels: Vec<String>,
    pub self_hosted: bool,
    /// Runner groups that ran its jobs in the window, sorted.
    pub runner_groups: Vec<String>,
    pub jobs: u64,
    pub queue_p50_seconds: Option<f64>,
    pub queue_p95_seconds: Option<f64>,
    pub queue_max_seconds: Option<i64>,
    pub queued_now: u64,
    pub longest_waiting: Option<Waiting>,
    pub running_now: u64,
    /// The largest hourly peak of the window.
    pub peak_concurrency: u32,
    pub hourly: Vec<HourPeak>,
    pub daily: Vec<DayFigures>,
}

#[derive(Default)]
struct Acc<'a> {
    groups: BTreeSet<String>,
    queues: Vec<f64>,
    daily_queues: BTreeMap<i64, Vec<f64>>,
    daily_jobs: BTreeMap<i64, u64>,
    jobs: u64,
    queued_now: u64,
    longest: Option<&'a JobSpan>,
    running_now: u64,
    intervals: Vec<Interval>,
}

/// The figures per label set for the window `[from, now)` (`from` at a UTC
/// midnight), from `spans`: the jobs that started since `from −
/// LOOKBACK_SECONDS` and every job queued or running now (a job in both is
/// counted once). Ordered by queued now, then jobs, descending, then labels.
pub fn figures(spans: &[JobSpan], from: i64, now: i64) -> Vec<LabelSetFigures> {
    let mut sets: BTreeMap<Vec<String>, Acc<'_>> = BTreeMap::new();
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
        if !span.has_started() {
            continue;
        }
        let Some(started) = span.started_at else { continue };
        let end = match span.status {
            BuildStatus::Running => Some(now),
            _ => span.completed_at,
        };
        if let Some(end) = end {
            acc.intervals.push(Interval { start: started, end: end.min(now) });
        }
        if started < from || started >= now {
            continue;
        }
        acc.jobs += 1;
        let day = started.div_euclid(86_400);
        *acc.daily_jobs.entry(day).or_default() += 1;
        if let Some(group) = &span.runner_group {
            acc.groups.insert(group.clone());
        }
        if let Some(queue) = span.queue_seconds() {
            acc.queues.push(queue as f64);
            acc.daily_queues.entry(day).or_default().push(queue as f64);
        }
    }
    let hours = usize::try_from((now - from).div_euclid(3600) + 1).unwrap_or(0);
    let mut out: Vec<LabelSetFigures> =
        sets.into_iter().map(|(labels, acc)| finish(labels, acc, from, now, hours)).collect();
    out.sort_by(|a, b| {
        b.queued_now.cmp(&a.queued_now).then(b.jobs.cmp(&a.jobs)).then_with(|| a.labels.cmp(&b.labels))
    });
    out
}

fn pct(sorted: &[f64], p: f64) -> Option<f64> {
    percentile(sorted, p).map(round3)
}

fn finish(labels: Vec<String>, mut acc: Acc<'_>, from: i64, now: i64, hours: usize) -> LabelSetFigures {
    acc.queues.sort_by(f64::total_cmp);
    let peaks = hourly_peaks(&acc.intervals, from, hours);
    let hourly: Vec<HourPeak> = peaks
        .iter()
        .enumerate()
        .filter_map(|(i, peak)| {
            let start = from_unix(from + i as i64 * 3600)?;
            Some(HourPeak { start: format_timestamp(start), peak_concurrency: *peak })
        })
        .collect();
    let days = hours.div_ceil(24);
    let daily = (0..days)
        .filter_map(|d| {
            let day = from.div_euclid(86_400) + d as i64;
            let mut queues = acc.daily_queues.remove(&day).unwrap_or_default();
            queues.sort_by(f64::total_cmp);
            let peak = peaks.iter().skip(d * 24).take(24).copied().max().unwrap_or(0);
            Some(DayFigures {
                date: from_unix(day * 86_400)?.format("%Y-%m-%d").to_string(),
                jobs: acc.daily_jobs.get(&day).copied().unwrap_or(0),
                queue_p50_seconds: pct(&queues, 0.5),
                queue_p95_seconds: pct(&queues, 0.95),
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
        runner_groups: acc.groups.into_iter().collect(),
        jobs: acc.jobs,
        queue_p50_seconds: pct(&acc.queues, 0.5),
        queue_p95_seconds: pct(&acc.queues, 0.95),
        queue_max_seconds: acc.queues.last().map(|q| *q as i64),
        queued_now: acc.queued_now,
        longest_waiting,
        running_now: acc.running_now,
        peak_concurrency: peaks.iter().copied().max().unwrap_or(0),
        hourly,
        daily,
    }
}
