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
//! first: by seen at, then passing attempt, then the other fields, so
//! equal times rank the same whatever order the occurrences are read in).
//! Ranked by wasted time, then occurrences, then last seen (all
//! descending), then name.
//!
//! The figures of a line are sums, maxima and a top 3 ([`LineSums`]), so
//! the sums of parts of a window (the per-day roll-up `store::flaky` keeps,
//! and the occurrences of the window's partial days) merge into exactly
//! the sums of the whole window ([`LineSums::merge`]).

use std::collections::{BTreeMap, HashMap};

use chrono::DateTime;
use serde::{Deserialize, Serialize};

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

/// Which line of the report: a workflow's (`key` `None`) or a job key's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineKey {
    pub provider: ProviderKind,
    pub repo: String,
    /// '' when unknown.
    pub workflow: String,
    pub key: Option<i64>,
}

/// An example as kept for ranking: newest first is the reverse of this
/// order (seen at, then passing attempt, then the rest).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExampleFacts {
    #[serde(rename = "t")]
    pub seen_at: i64,
    #[serde(rename = "b")]
    pub build_id: i64,
    #[serde(rename = "f")]
    pub failed_build_id: i64,
    #[serde(rename = "k")]
    pub kind: String,
    #[serde(rename = "s")]
    pub commit_sha: Option<String>,
    #[serde(rename = "r")]
    pub branch: Option<String>,
    #[serde(rename = "j")]
    pub job_name: Option<String>,
}

impl ExampleFacts {
    fn of(o: &Occurrence) -> ExampleFacts {
        ExampleFacts {
            seen_at: o.seen_at,
            build_id: o.build_id,
            failed_build_id: o.failed_build_id,
            kind: o.kind.as_str().into(),
            commit_sha: o.commit_sha.clone(),
            branch: o.branch.clone(),
            job_name: o.job_name.clone(),
        }
    }

    fn example(&self) -> FlakyExample {
        FlakyExample {
            kind: self.kind.clone(),
            build_id: self.build_id,
            failed_build_id: self.failed_build_id,
            commit_sha: self.commit_sha.clone(),
            branch: self.branch.clone(),
            job_name: self.job_name.clone(),
            seen_at: time(self.seen_at),
        }
    }
}

/// How many examples a line shows.
const EXAMPLES: usize = 3;

/// The mergeable figures of one line over some occurrences (see the module).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineSums {
    /// Counted occurrences (commit, SHA-less retry; flaky jobs on a job line).
    pub occurrences: i64,
    pub passed_on_retry: i64,
    pub flaky_jobs: i64,
    pub failures: i64,
    pub wasted_seconds: i64,
    /// Latest occurrence (of any kind on a workflow line); 0 when none.
    pub last_seen: i64,
    /// The latest counted occurrences, newest first, at most 3.
    pub examples: Vec<ExampleFacts>,
}

impl LineSums {
    fn count(&mut self, o: &Occurrence) {
        self.occurrences += 1;
        self.failures += o.failures;
        self.wasted_seconds += o.wasted_seconds;
        self.last_seen = self.last_seen.max(o.seen_at);
        self.examples.push(ExampleFacts::of(o));
        self.keep_latest();
    }

    fn keep_latest(&mut self) {
        self.examples.sort_by(|a, b| b.cmp(a));
        self.examples.truncate(EXAMPLES);
    }

    /// Adds the figures of other occurrences of the same line.
    pub fn merge(&mut self, other: LineSums) {
        self.occurrences += other.occurrences;
        self.passed_on_retry += other.passed_on_retry;
        self.flaky_jobs += other.flaky_jobs;
        self.failures += other.failures;
        self.wasted_seconds += other.wasted_seconds;
        self.last_seen = self.last_seen.max(other.last_seen);
        self.examples.extend(other.examples);
        self.keep_latest();
    }
}

/// The lines of some occurrences.
pub type Lines = BTreeMap<LineKey, LineSums>;

/// Adds occurrence `o` of `provider` and `repo` to its workflow line and,
/// for a flaky job, its job key's line (see the module).
pub fn add_occurrence(lines: &mut Lines, provider: ProviderKind, repo: &str, o: &Occurrence) {
    let key = LineKey { provider, repo: repo.to_string(), workflow: o.workflow.clone(), key: None };
    let line = lines.entry(key.clone()).or_default();
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
                lines.entry(LineKey { key: Some(id), ..key }).or_default().count(o);
            }
        }
    }
}

/// A window's lines and what their figures need (the read behind
/// `/api/insights/flaky`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlakyLines {
    pub lines: Lines,
    /// Job key id → its name (without matrix values).
    pub key_names: HashMap<i64, String>,
    /// (provider, repo, workflow) → conclusive attempts started in the
    /// window, for the workflows in `lines`.
    pub attempts: HashMap<(ProviderKind, String, String), i64>,
}

impl FlakyLines {
    /// The lines of a window's occurrences.
    pub fn of(window: &FlakyWindow) -> FlakyLines {
        let mut lines = Lines::new();
        for row in &window.rows {
            add_occurrence(&mut lines, row.provider, &row.repo, &row.occurrence);
        }
        FlakyLines { lines, key_names: window.key_names.clone(), attempts: window.attempts.clone() }
    }
}

fn rate(failures: i64, attempts: i64) -> Option<f64> {
    ratio(failures, attempts).map(|r| round3(r.min(1.0)))
}

/// The workflow and job key lines of `window` (see the module), ranked.
pub fn report(window: &FlakyWindow) -> (Vec<WorkflowFlaky>, Vec<JobFlaky>) {
    report_lines(&FlakyLines::of(window))
}

/// The workflow and job key lines of a window's merged lines, ranked.
pub fn report_lines(window: &FlakyLines) -> (Vec<WorkflowFlaky>, Vec<JobFlaky>) {
    let attempts = |key: &LineKey| {
        window.attempts.get(&(key.provider, key.repo.clone(), key.workflow.clone())).copied().unwrap_or(0)
    };
    let workflow = |w: &str| (!w.is_empty()).then(|| w.to_string());
    let examples = |sums: &LineSums| sums.examples.iter().map(ExampleFacts::example).collect();
    let mut workflow_lines = Vec::new();
    let mut job_lines = Vec::new();
    for (key, sums) in &window.lines {
        match key.key {
            None => workflow_lines.push(WorkflowFlaky {
                provider_kind: key.provider.kind().into(),
                repo: key.repo.clone(),
                workflow: workflow(&key.workflow),
                occurrences: sums.occurrences,
                passed_on_retry: sums.passed_on_retry,
                flaky_jobs: sums.flaky_jobs,
                flaky_failures: sums.failures,
                attempts: attempts(key),
                flaky_rate: rate(sums.failures, attempts(key)),
                wasted_seconds: sums.wasted_seconds,
                last_seen: time(sums.last_seen),
                examples: examples(sums),
            }),
            Some(id) => job_lines.push(JobFlaky {
                key: id,
                provider_kind: key.provider.kind().into(),
                repo: key.repo.clone(),
                workflow: workflow(&key.workflow),
                name: window.key_names.get(&id).cloned().unwrap_or_default(),
                occurrences: sums.occurrences,
                flaky_failures: sums.failures,
                attempts: attempts(key),
                flaky_rate: rate(sums.failures, attempts(key)),
                wasted_seconds: sums.wasted_seconds,
                last_seen: time(sums.last_seen),
                examples: examples(sums),
            }),
        }
    }
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
