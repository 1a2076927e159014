//! `/api/metrics/summary`: definitions and arithmetic.
//!
//! Definitions (also in the README, "Metrics"):
//! - **window**: the run attempts whose start (`run_started_at` of that
//!   attempt, else `created_at`; for an attempt known only from its jobs,
//!   its earliest job start) is within the last `window_days` × 86 400 s.
//!   With `repo` / `branch`, only that repository's / branch's attempts, for
//!   every figure below (also `running_now`, `last_build_status`, …).
//! - **total_builds**: attempts in the window, any status but
//!   `tests_reported` (an attempt known only from a test-results upload:
//!   neither running nor finished, counted in no figure until a real
//!   delivery for it arrives).
//! - **completed_builds**: attempts whose provider status is `completed`,
//!   whatever the conclusion.
//! - **success_count / failure_count**: normalised `success` / `failed`
//!   (`failure`, `timed_out`, `startup_failure`); **cancelled_count**,
//!   **skipped_count**, **in_progress_count** (`running`), **queued_count**,
//!   **neutral_count**, **action_required_count**, **stale_count**,
//!   **unknown_count**: the other normalised statuses.
//! - **success_rate** = success ÷ (success + failed); **failure_rate** =
//!   failed ÷ (success + failed); 0–1; `null` when nothing succeeded or
//!   failed. Cancelled, skipped, neutral, stale, action_required and
//!   unfinished attempts are in neither rate.
//! - **avg / p50 / p95_build_time_seconds**: mean and type-7 percentiles
//!   (see [`super::percentile`]) of `duration_seconds` over completed
//!   success and failed attempts; `null` with no such attempt.
//! - **last_build_status**: normalised status of the attempt with the latest
//!   start, over all time; **last_updated**: when an attempt was last written.
//! - Averages and percentiles are rounded to 0.001 s (floating-point noise
//!   such as 95.49999999999999 is not a real difference).
//! - **median_queue_seconds**: type-7 median of `queue_seconds` of the
//!   window's attempts that have one, whatever their status.
//! - **running_now / queued_now**: attempts whose normalised status is
//!   `running` / `queued` now, over all time (not only the window).
//! - **previous**: the figures of `crate::metrics::timeseries` (counts,
//!   rates, p50/p95 build time, median queue) for the window of the same
//!   length just before this one, `[start − window_days, start)`, so the page
//!   can show the change.
//! - **by_repo**: the same counts, rate and mean per repository, with the
//!   status of that repository's latest attempt.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ratio::{ratio, round3};
use super::timeseries::Figures;
use crate::domain::BuildStatus;
use crate::domain::time::format_timestamp;

/// The summary answer. Durations in seconds; rates 0–1; timestamps RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub window_days: u32,
    pub total_builds: i64,
    pub completed_builds: i64,
    pub success_count: i64,
    pub failure_count: i64,
    pub cancelled_count: i64,
    pub skipped_count: i64,
    pub in_progress_count: i64,
    pub queued_count: i64,
    pub neutral_count: i64,
    pub action_required_count: i64,
    pub stale_count: i64,
    pub unknown_count: i64,
    pub success_rate: Option<f64>,
    pub failure_rate: Option<f64>,
    pub avg_build_time_seconds: Option<f64>,
    pub p50_build_time_seconds: Option<f64>,
    pub p95_build_time_seconds: Option<f64>,
    pub last_build_status: Option<BuildStatus>,
    pub last_updated: Option<String>,
    pub median_queue_seconds: Option<f64>,
    pub running_now: i64,
    pub queued_now: i64,
    /// Start of this window (RFC 3339 UTC); set by the caller.
    pub window_start: Option<String>,
    /// The previous window's figures; set by the caller.
    pub previous: Option<PreviousWindow>,
    pub by_repo: Vec<RepoSummary>,
}

/// The window of the same length just before the summary's, `[start, end)`
/// (RFC 3339 UTC), and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PreviousWindow {
    pub window_start: String,
    pub window_end: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One repository's line of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RepoSummary {
    pub repo: String,
    pub total_builds: i64,
    pub success_count: i64,
    pub failure_count: i64,
    pub success_rate: Option<f64>,
    pub avg_build_time_seconds: Option<f64>,
    pub last_build_status: Option<BuildStatus>,
}

/// Per-repository aggregates over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoAggregate {
    pub repo: String,
    pub total: i64,
    pub success: i64,
    pub failed: i64,
    /// Sum and count of `duration_seconds` of completed success/failed attempts.
    pub duration_sum: i64,
    pub duration_count: i64,
    /// Normalised status of the repository's latest attempt.
    pub last_status: Option<BuildStatus>,
}

/// Everything the summary is computed from, but the percentiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryInputs {
    /// Attempts in the window by normalised status.
    pub by_status: HashMap<BuildStatus, i64>,
    /// Attempts in the window whose provider status is `completed`.
    pub completed: i64,
    /// Count and sum of `duration_seconds` of completed success/failed
    /// attempts in the window (the build-time population).
    pub duration_count: i64,
    pub duration_sum: i64,
    /// Status of the attempt with the latest start, over all time.
    pub last_status: Option<BuildStatus>,
    /// When any attempt was last written.
    pub last_updated: Option<DateTime<Utc>>,
    /// Repositories in the window, by name.
    pub by_repo: Vec<RepoAggregate>,
    /// Type-7 median of `queue_seconds` of the window's attempts that have one.
    pub median_queue_seconds: Option<f64>,
    /// Attempts whose normalised status is `running` / `queued` now, over all time.
    pub running_now: i64,
    pub queued_now: i64,
}

/// The p50 and p95 build times, already interpolated (type 7, see
/// [`super::percentile`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BuildTimePercentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
}

/// Builds the summary from the store's raw inputs and the percentiles.
pub fn summarize(window_days: u32, inputs: &SummaryInputs, percentiles: BuildTimePercentiles) -> Summary {
    let count = |s: BuildStatus| inputs.by_status.get(&s).copied().unwrap_or(0);
    let (success, failed) = (count(BuildStatus::Success), count(BuildStatus::Failed));
    let mean = ratio(inputs.duration_sum, inputs.duration_count);
    Summary {
        window_days,
        total_builds: inputs
            .by_status
            .iter()
            .filter(|(status, _)| **status != BuildStatus::TestsReported)
            .map(|(_, n)| n)
            .sum(),
        completed_builds: inputs.completed,
        success_count: success,
        failure_count: failed,
        cancelled_count: count(BuildStatus::Cancelled),
        skipped_count: count(BuildStatus::Skipped),
        in_progress_count: count(BuildStatus::Running),
        queued_count: count(BuildStatus::Queued),
        neutral_count: count(BuildStatus::Neutral),
        action_required_count: count(BuildStatus::ActionRequired),
        stale_count: count(BuildStatus::Stale),
        unknown_count: count(BuildStatus::Unknown),
        success_rate: ratio(success, success + failed),
        failure_rate: ratio(failed, success + failed),
        avg_build_time_seconds: mean.map(round3),
        p50_build_time_seconds: percentiles.p50.map(round3),
        p95_build_time_seconds: percentiles.p95.map(round3),
        last_build_status: inputs.last_status,
        last_updated: inputs.last_updated.map(format_timestamp),
        median_queue_seconds: inputs.median_queue_seconds.map(round3),
        running_now: inputs.running_now,
        queued_now: inputs.queued_now,
        window_start: None,
        previous: None,
        by_repo: inputs
            .by_repo
            .iter()
            .map(|r| RepoSummary {
                repo: r.repo.clone(),
                total_builds: r.total,
                success_count: r.success,
                failure_count: r.failed,
                success_rate: ratio(r.success, r.success + r.failed),
                avg_build_time_seconds: ratio(r.duration_sum, r.duration_count).map(round3),
                last_build_status: r.last_status,
            })
            .collect(),
    }
}

/// Start of a window of `window_days` days ending at `now`.
pub fn window_start(now: DateTime<Utc>, window_days: u32) -> DateTime<Utc> {
    now - chrono::Duration::days(i64::from(window_days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_dataset() {
        // 5 success (60, 120, 180, 240, 300 s), 1 failure (600 s), 4 skipped,
        // 2 running, 1 cancelled. Worked by hand:
        // success_rate = 5/6, failure_rate = 1/6, completed = 5+1+4+1 = 11,
        // mean = (60+120+180+240+300+600)/6 = 1500/6 = 250,
        // p50: sorted [60,120,180,240,300,600], h = 5·0.5 = 2.5 → 180 + 0.5·60 = 210,
        // p95: h = 5·0.95 = 4.75 → 300 + 0.75·300 = 525.
        let inputs = SummaryInputs {
            by_status: [
                (BuildStatus::Success, 5),
                (BuildStatus::Failed, 1),
                (BuildStatus::Skipped, 4),
                (BuildStatus::Running, 2),
                (BuildStatus::Cancelled, 1),
            ]
            .into_iter()
            .collect(),
            completed: 11,
            duration_count: 6,
            duration_sum: 1500,
            last_status: Some(BuildStatus::Running),
            last_updated: None,
            by_repo: vec![RepoAggregate {
                repo: "o/r".into(),
                total: 13,
                success: 5,
                failed: 1,
                duration_sum: 1500,
                duration_count: 6,
                last_status: Some(BuildStatus::Running),
            }],
            ..SummaryInputs::default()
        };
        let mut durations = crate::metrics::tally::Histogram::default();
        for seconds in [60, 120, 180, 240, 300, 600] {
            durations.add(seconds, 1);
        }
        let percentiles =
            BuildTimePercentiles { p50: durations.percentile(0.50), p95: durations.percentile(0.95) };
        let s = summarize(7, &inputs, percentiles);
        assert_eq!(s.total_builds, 13);
        assert_eq!(s.completed_builds, 11);
        assert_eq!(s.success_rate, Some(5.0 / 6.0));
        assert_eq!(s.failure_rate, Some(1.0 / 6.0));
        assert_eq!(s.avg_build_time_seconds, Some(250.0));
        assert_eq!(s.p50_build_time_seconds, Some(210.0));
        assert_eq!(s.p95_build_time_seconds, Some(525.0));
        assert_eq!(s.by_repo[0].success_rate, Some(5.0 / 6.0));
        assert_eq!(s.by_repo[0].avg_build_time_seconds, Some(250.0));
    }

    #[test]
    fn no_finished_attempts_means_null_rates_not_zero() {
        let inputs = SummaryInputs {
            by_status: [(BuildStatus::Running, 2), (BuildStatus::Cancelled, 3)].into_iter().collect(),
            ..SummaryInputs::default()
        };
        let s = summarize(7, &inputs, BuildTimePercentiles::default());
        assert_eq!(s.success_rate, None);
        assert_eq!(s.failure_rate, None);
        assert_eq!(s.avg_build_time_seconds, None);
        assert_eq!(s.p95_build_time_seconds, None);
        assert_eq!(s.total_builds, 5);
    }
}
