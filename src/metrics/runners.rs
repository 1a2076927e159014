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
//!   job runs from `started_at` to `completed_at` (running now: to `now`),
//!   but a finished job counts only until the end of the UTC day after the
//!   day it started ([`crate::metrics::runner_parts::concurrency_cutoff`]:
//!   so the hours of a day depend only on the jobs started that day and
//!   the day before, and can be rolled up). Jobs started up to
//!   [`LOOKBACK_SECONDS`] (the day) before the window are read so that
//!   those still running at its start count.
//! - **series**: `hourly` peak concurrency, and `daily` (UTC days) jobs,
//!   queue p50/p95 and peak concurrency (the largest hourly peak).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::domain::BuildStatus;

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
