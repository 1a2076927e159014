//! Flaky insights: a window's flaky occurrences (`crate::domain::flaky`
//! defines each kind) summed per workflow and per job key, ranked by
//! wasted runner time. Pure.
//!
//! Per **workflow** (provider, repository, workflow):
//! - `occurrences`: its same-commit-different-result occurrences, plus
//!   passed-on-retry occurrences of runs without a SHA (those cannot form a
//!   commit occurrence); `passed_on_retry` and `flaky_jobs` count those
//!   kinds on their own (a run that passed on retry is also a commit with
//!   different results, so the kinds overlap and are not added up).
//! - `flaky_failures`: the failed attempts those occurrences stand for;
//!   `wasted_seconds`: their wasted runner time (each failed attempt once).
//! - `flaky_rate` = `flaky_failures` ÷ `attempts`, the workflow's
//!   conclusive (success or failed) attempts that started in the window;
//!   at most 1 (an occurrence seen in the window may stand for a failure
//!   that started before it); none when there are no such attempts.
//!
//! Per **job key**: `occurrences` (flaky-job occurrences), `flaky_failures`
//! (failed tries they stand for), `wasted_seconds`, and `flaky_rate` =
//! `flaky_failures` ÷ the conclusive attempts of its workflow (the share
//! of the workflow's attempts in which this job failed before passing).
//!
//! Both: `last_seen` (latest occurrence, of any kind for a workflow), `examples` (the 3 latest, newest
//! first). Ranked by wasted time, then occurrences, then last seen (all
//! descending), then name.

use std::collections::{BTreeMap, HashMap};

use chrono::DateTime;
use serde::Serialize;

use super::ratio::{ratio, round3};
use crate::domain::ProviderKind;
use crate::domain::flaky::{Kind, Occurrence};
use crate::domain::time::format_timestamp;

/// One stored occurrence with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlakyRow {
    pub provider: ProviderKind,
    pub repo: String,
    pub occurrence: Occurrence,
}

/// A window's occurrences and what their figures need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlakyWindow {
    pub rows: Vec<FlakyRow>,
    /// Job key id → its name (without matrix values).
    pub key_names: HashMap<i64, String>,
    /// (provider, repo, workflow) → conclusive attempts started in the
    /// window, for the workflows in `rows`.
    pub attempts: HashMap<(ProviderKind, String, String), i64>,
}

/// An example build of a line: the failed and the passing attempt.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FlakyExample {
    /// `retry`, `job` or `commit`.
    pub kind: String,
    pub build_id: i64,
    pub failed_build_id: i64,
    pub commit_sha: Option<String>,
    pub branch: Option<String>,
    /// The job's full name (matrix values included), for a flaky job.
    pub job_name: Option<String>,
    pub seen_at: String,
}

/// One workflow's flaky figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowFlaky {
    pub provider_kind: String,
    pub repo: String,
    /// `None` when the attempts' workflow is unknown.
    pub workflow: Option<String>,
    pub occurrences: i64,
    pub passed_on_retry: i64,
    pub flaky_jobs: i64,
    pub flaky_failures: i64,
    pub attempts: i64,
    pub flaky_rate: Option<f64>,
    pub wasted_seconds: i64,
    pub last_seen: String,
    pub examples: Vec<FlakyExample>,
}

/// One job key's flaky figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobFlaky {
    /// The job key's id (as in `/api/insights/jobs/{key}`).
    pub key: i64,
    pub provider_kind: String,
    pub repo: String,
    pub workflow: Option<String>,
    /// The job key's name (without matrix values).
    pub name: String,
    pub occurrences: i64,
    pub flaky_failures: i64,
    pub attempts: i64,
    pub flaky_rate: Option<f64>,
    pub wasted_seconds: i64,
    pub last_seen: String,
    pub examples: Vec<FlakyExample>,
}

fn time(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).map(format_timestamp).unwrap_or_default()
}

fn example(o: &Occurrence) -> FlakyExample {
    FlakyExample {
        kind: o.kind.as_str().into(),
        build_id: o.build_id,
        failed_build_id: o.failed_build_id,
        commit_sha: o.commit_sha.clone(),
        branch: o.branch.clone(),
        job_name: o.job_name.clone(),
        seen_at: time(o.seen_at),
    }
}

/// Sums of one line.
#[derive(Default)]
struct Sums<'a> {
    occurrences: i64,
    passed_on_retry: i64,
    flaky_jobs: i64,
    failures: i64,
    wasted: i64,
    last_seen: i64,
    counted: Vec<&'a Occurrence>,
}

impl<'a> Sums<'a> {
    fn count(&mut self, o: &'a Occurrence) {
        self.occurrences += 1;
        self.failures += o.failures;
        self.wasted += o.wasted_seconds;
        self.last_seen = self.last_seen.max(o.seen_at);
        self.counted.push(o);
    }

    fn examples(&self) -> Vec<FlakyExample> {
        let mut latest = self.counted.clone();
        latest.sort_by_key(|o| std::cmp::Reverse((o.seen_at, o.build_id)));
        latest.iter().take(3).map(|o| example(o)).collect()
    }
}

fn rate(failures: i64, attempts: i64) -> Option<f64> {
    ratio(failures, attempts).map(|r| round3(r.min(1.0)))
}

/// The workflow and job key lines of `window` (see the module), ranked.
pub fn report(window: &FlakyWindow) -> (Vec<WorkflowFlaky>, Vec<JobFlaky>) {
    type WorkflowKey = (ProviderKind, String, String);
    let mut workflows: BTreeMap<WorkflowKey, Sums> = BTreeMap::new();
    let mut jobs: BTreeMap<(i64, WorkflowKey), Sums> = BTreeMap::new();
    for row in &window.rows {
        let o = &row.occurrence;
        let key = (row.provider, row.repo.clone(), o.workflow.clone());
        let line = workflows.entry(key.clone()).or_default();
        // A workflow's last seen is its latest occurrence of any kind.
        line.last_seen = line.last_seen.max(o.seen_at);
        match o.kind {
            Kind::Commit => line.count(o),
            Kind::Retry => {
                line.passed_on_retry += 1;
                if o.commit_sha.is_none() {
                    line.count(o);
                }
            }
            Kind::Job => {
                line.flaky_jobs += 1;
                if let Some(id) = o.key_id {
                    jobs.entry((id, key)).or_default().count(o);
                }
            }
        }
    }
    let attempts = |key: &WorkflowKey| window.attempts.get(key).copied().unwrap_or(0);
    let workflow = |w: &str| (!w.is_empty()).then(|| w.to_string());
    let mut workflow_lines: Vec<WorkflowFlaky> = workflows
        .iter()
        .map(|(key, sums)| WorkflowFlaky {
            provider_kind: key.0.kind().into(),
            repo: key.1.clone(),
            workflow: workflow(&key.2),
            occurrences: sums.occurrences,
            passed_on_retry: sums.passed_on_retry,
            flaky_jobs: sums.flaky_jobs,
            flaky_failures: sums.failures,
            attempts: attempts(key),
            flaky_rate: rate(sums.failures, attempts(key)),
            wasted_seconds: sums.wasted,
            last_seen: time(sums.last_seen),
            examples: sums.examples(),
        })
        .collect();
    let mut job_lines: Vec<JobFlaky> = jobs
        .iter()
        .map(|((id, key), sums)| JobFlaky {
            key: *id,
            provider_kind: key.0.kind().into(),
            repo: key.1.clone(),
            workflow: workflow(&key.2),
            name: window.key_names.get(id).cloned().unwrap_or_default(),
            occurrences: sums.occurrences,
            flaky_failures: sums.failures,
            attempts: attempts(key),
            flaky_rate: rate(sums.failures, attempts(key)),
            wasted_seconds: sums.wasted,
            last_seen: time(sums.last_seen),
            examples: sums.examples(),
        })
        .collect();
    workflow_lines.sort_by(|a, b| {
        (b.wasted_seconds, b.occurrences, &b.last_seen)
            .cmp(&(a.wasted_seconds, a.occurrences, &a.last_seen))
            .then_with(|| (&a.repo, &a.workflow).cmp(&(&b.repo, &b.workflow)))
    });
    job_lines.sort_by(|a, b| {
        (b.wasted_seconds, b.occurrences, &b.last_seen)
            .cmp(&(a.wasted_seconds, a.occurrences, &a.last_seen))
            .then_with(|| (&a.repo, &a.name, a.key).cmp(&(&b.repo, &b.name, b.key)))
    });
    (workflow_lines, job_lines)
}
