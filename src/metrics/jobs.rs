//! Job insights (`/api/insights/jobs`): what one job key's jobs add up to
//! in a window, and the figures answered from that. Pure.
//!
//! Definitions (also in the README's *Job insights* table):
//!
//! - **membership**: a job is in the window holding its run attempt's start
//!   (the summary's window rule), and belongs to its job key
//!   (`crate::domain::job_key`).
//! - **carried over**: a job of attempt n > 1 that completed before that
//!   attempt started — a re-run's unchanged job, which belongs to the
//!   earlier attempt. Left out of every figure.
//! - **skipped** jobs (and steps) are in no figure: not runs, not failures,
//!   not durations, not queue times.
//! - `runs`: jobs of the key, any other status (still queued and running
//!   included).
//! - `failure_rate`: failed ÷ (success + failed), the summary's rule.
//! - duration p50/p95: type-7 percentiles (`super::percentile`) of
//!   `completed_at − started_at` (clamped to 0) of success and failed jobs.
//! - queue p50/p95: type-7 percentiles of `started_at − created_at`
//!   (clamped to 0) of jobs a runner picked up (in progress or completed);
//!   still-queued jobs have no queue time yet and are not in them.
//! - `runner_seconds`: the sum of `completed_at − started_at` (clamped to
//!   0) of completed jobs, whatever their conclusion.
//! - `slowest_step`: the step name with the highest p50 duration (steps
//!   grouped by name; success and failed steps).
//! - `change`: figure now − figure of the window of the same length just
//!   before (null when either is null).
//!
//! Counts and histograms add up (and subtract), so a window's tally is the
//! sum of daily roll-ups and raw edges, exactly as one scan.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::ratio::{ratio, round3};
use super::tally::Histogram;
use crate::domain::BuildStatus;

/// One stored job as the figures see it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFacts {
    pub status: BuildStatus,
    /// A runner picked it up (provider status `in_progress` or `completed`).
    pub started: bool,
    pub completed: bool,
    /// `started_at − created_at`, clamped to 0, when both are known.
    pub queue_seconds: Option<i64>,
    /// `completed_at − started_at`, clamped to 0, when both are known.
    pub run_seconds: Option<i64>,
    pub carried_over: bool,
}

impl JobFacts {
    /// Whether the job is in the figures at all (see the module doc).
    pub fn counted(&self) -> bool {
        !self.carried_over && self.status != BuildStatus::Skipped
    }
}

/// What the jobs of one key add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobTally {
    pub runs: i64,
    /// success + failed.
    pub conclusive: i64,
    pub failed: i64,
    pub runner_seconds: i64,
    pub durations: Histogram,
    pub queues: Histogram,
}

impl JobTally {
    /// Adds one job `sign` times (1, or −1 to take it away).
    pub fn add_job(&mut self, job: &JobFacts, sign: i64) {
        if !job.counted() {
            return;
        }
        self.runs += sign;
        let conclusive = matches!(job.status, BuildStatus::Success | BuildStatus::Failed);
        if conclusive {
            self.conclusive += sign;
            self.failed += sign * i64::from(job.status == BuildStatus::Failed);
        }
        if let (true, Some(seconds)) = (job.completed, job.run_seconds) {
            self.runner_seconds += sign * seconds;
            if conclusive {
                self.durations.add(seconds, sign);
            }
        }
        if let (true, Some(seconds)) = (job.started, job.queue_seconds) {
            self.queues.add(seconds, sign);
        }
    }

    pub fn merge(&mut self, other: &JobTally) {
        self.runs += other.runs;
        self.conclusive += other.conclusive;
        self.failed += other.failed;
        self.runner_seconds += other.runner_seconds;
        self.durations.merge(&other.durations);
        self.queues.merge(&other.queues);
    }

    pub fn is_empty(&self) -> bool {
        *self == JobTally::default()
    }

    pub fn figures(&self) -> JobFigures {
        let pct = |h: &Histogram, p: f64| h.percentile(p).map(round3);
        JobFigures {
            runs: self.runs,
            failed: self.failed,
            failure_rate: ratio(self.failed, self.conclusive).map(round3),
            p50_duration_seconds: pct(&self.durations, 0.50),
            p95_duration_seconds: pct(&self.durations, 0.95),
            p50_queue_seconds: pct(&self.queues, 0.50),
            p95_queue_seconds: pct(&self.queues, 0.95),
            runner_seconds: self.runner_seconds,
        }
    }
}

/// One stored step of a counted job, as the figures see it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFacts {
    pub status: BuildStatus,
    /// `completed_at − started_at`, clamped to 0, once completed.
    pub seconds: Option<i64>,
}

/// What the steps of one name (within one key) add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepTally {
    /// The lowest step number seen under this name (for ordering).
    pub number: Option<i64>,
    /// Steps, skipped ones excepted.
    pub runs: i64,
    pub failed: i64,
    /// Durations of success and failed steps.
    pub durations: Histogram,
}

impl StepTally {
    /// Adds one step `sign` times; skipped steps are in no figure.
    pub fn add_step(&mut self, number: i64, step: &StepFacts, sign: i64) {
        if step.status == BuildStatus::Skipped {
            return;
        }
        self.note_number(number);
        self.runs += sign;
        let conclusive = matches!(step.status, BuildStatus::Success | BuildStatus::Failed);
        self.failed += sign * i64::from(step.status == BuildStatus::Failed);
        if let (true, Some(seconds)) = (conclusive, step.seconds) {
            self.durations.add(seconds, sign);
        }
    }

    pub fn note_number(&mut self, number: i64) {
        self.number = Some(self.number.map_or(number, |n| n.min(number)));
    }

    pub fn merge(&mut self, other: &StepTally) {
        if let Some(n) = other.number {
            self.note_number(n);
        }
        self.runs += other.runs;
        self.failed += other.failed;
        self.durations.merge(&other.durations);
    }

    pub fn figures(&self, name: &str) -> StepFigures {
        StepFigures {
            name: name.to_owned(),
            number: self.number,
            runs: self.runs,
            failed: self.failed,
            failure_rate: ratio(self.failed, self.runs).map(round3),
            p50_duration_seconds: self.durations.percentile(0.50).map(round3),
            p95_duration_seconds: self.durations.percentile(0.95).map(round3),
        }
    }
}

/// The figures of a set of jobs (definitions in the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobFigures {
    pub runs: i64,
    pub failed: i64,
    /// failed ÷ (success + failed), 0–1; null when both are 0.
    pub failure_rate: Option<f64>,
    pub p50_duration_seconds: Option<f64>,
    pub p95_duration_seconds: Option<f64>,
    pub p50_queue_seconds: Option<f64>,
    pub p95_queue_seconds: Option<f64>,
    pub runner_seconds: i64,
}

/// Figure now − figure of the previous window (null when either is null).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobChange {
    pub runs: i64,
    pub failure_rate: Option<f64>,
    pub p50_duration_seconds: Option<f64>,
    pub p95_duration_seconds: Option<f64>,
    pub p50_queue_seconds: Option<f64>,
    pub p95_queue_seconds: Option<f64>,
    pub runner_seconds: i64,
}

impl JobFigures {
    pub fn change_from(&self, previous: &JobFigures) -> JobChange {
        let delta = |now: Option<f64>, before: Option<f64>| Some(round3(now? - before?));
        JobChange {
            runs: self.runs - previous.runs,
            failure_rate: delta(self.failure_rate, previous.failure_rate),
            p50_duration_seconds: delta(self.p50_duration_seconds, previous.p50_duration_seconds),
            p95_duration_seconds: delta(self.p95_duration_seconds, previous.p95_duration_seconds),
            p50_queue_seconds: delta(self.p50_queue_seconds, previous.p50_queue_seconds),
            p95_queue_seconds: delta(self.p95_queue_seconds, previous.p95_queue_seconds),
            runner_seconds: self.runner_seconds - previous.runner_seconds,
        }
    }
}

/// One step name's figures within a job key.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StepFigures {
    pub name: String,
    /// The lowest step number seen under this name.
    pub number: Option<i64>,
    /// Steps, skipped ones excepted.
    pub runs: i64,
    pub failed: i64,
    /// failed ÷ runs; null with no runs.
    pub failure_rate: Option<f64>,
    pub p50_duration_seconds: Option<f64>,
    pub p95_duration_seconds: Option<f64>,
}

/// The step with the highest p50 duration (ties: the lower step number,
/// then the name); `None` when no step has a duration.
pub fn slowest_step(steps: &BTreeMap<String, StepTally>) -> Option<StepFigures> {
    steps.iter().map(|(name, tally)| tally.figures(name)).filter(|f| f.p50_duration_seconds.is_some()).max_by(
        |a, b| {
            a.p50_duration_seconds
                .partial_cmp(&b.p50_duration_seconds)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| b.number.cmp(&a.number))
                .then_with(|| b.name.cmp(&a.name))
        },
    )
}

/// Where a [`JobTally`] belongs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobCell {
    /// UTC day number (0 when a read groups by key only).
    pub day: i64,
    pub key_id: i64,
    /// Matrix values, '' for none (always '' when grouped by key only).
    pub matrix: String,
}

/// Tallies of a window: jobs per [`JobCell`], steps per (key, step name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobWindow {
    pub jobs: HashMap<JobCell, JobTally>,
    pub steps: HashMap<(i64, String), StepTally>,
}

impl JobWindow {
    pub fn merge(&mut self, other: JobWindow) {
        for (cell, tally) in other.jobs {
            self.jobs.entry(cell).or_default().merge(&tally);
        }
        for (key, tally) in other.steps {
            self.steps.entry(key).or_default().merge(&tally);
        }
    }
}
