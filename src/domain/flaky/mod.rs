//! Flaky detection: which failures of a workflow on one commit turned out
//! not to be real, found in the run attempts and jobs of one *commit
//! group* (the attempts of one workflow on one commit SHA, across runs,
//! plus every attempt of their runs). Pure; the store calls [`detect`]
//! inside the write transaction whenever a group's attempts or jobs change
//! and keeps what it answers in a small table of its own.
//!
//! Only conclusive results count: an attempt or job whose normalised
//! status is `failed` is a failure, `success` a success; `cancelled`,
//! `skipped`, `neutral` and the rest are neither (a cancelled attempt is
//! not a failure), and they are passed over when looking for "the next"
//! result. GitLab's retries arrive here already as run attempts
//! (`domain::tries`: a retried job's try number is its attempt), so one rule
//! covers a GitHub re-run and a GitLab retry.
//!
//! Definitions (the README's definitions table repeats them):
//! - **Passed on retry** ([`Kind::Retry`]): in one run, a failed attempt
//!   followed by a successful attempt, with no other conclusive attempt
//!   between them (by `run_attempt`). One occurrence per such pair; it names
//!   the failed and the passing attempt.
//! - **Flaky job** ([`Kind::Job`]): in one run, a job (same job key and
//!   full name, matrix values included) failed in one attempt and
//!   succeeded in the next attempt in which it has a conclusive result —
//!   "re-run failed jobs" (carried-over successful jobs never failed, so
//!   they are not flaky), or a retried GitLab job that succeeded. One
//!   occurrence per such pair.
//! - **Same commit, different result** ([`Kind::Commit`]): one workflow on
//!   one commit SHA has both failed and successful attempts, in one run or
//!   across runs (a push and a pull_request run). One occurrence per
//!   (workflow, SHA); it names the latest failed and the latest successful
//!   attempt. Attempts without a SHA or workflow are never in one.
//!
//! **Wasted runner time** (whole seconds): a job's runner time is
//! `completed_at − started_at` (0 when either is missing or the clock
//! skewed backwards). For a flaky job, the runner time of every failed try
//! of that job since its previous success up to the passing one. For an
//! attempt (passed on retry, and each failed attempt of a commit
//! occurrence), the runner time of its failed jobs — what had to run again
//! — or, when no job of it is stored, its own duration.
//!
//! Seen at: the start (`sort_at`) of the passing attempt (retry, job) or the
//! latest start among the commit's attempts (commit).
//!
//! Must not know SQL, HTTP or providers.

use std::collections::BTreeMap;

/// What flaky pattern an occurrence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Passed on retry.
    Retry,
    /// Flaky job.
    Job,
    /// Same commit, different result.
    Commit,
}

impl Kind {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Retry => "retry",
            Kind::Job => "job",
            Kind::Commit => "commit",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "retry" => Some(Kind::Retry),
            "job" => Some(Kind::Job),
            "commit" => Some(Kind::Commit),
            _ => None,
        }
    }
}

/// A conclusive result, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Failed,
    Passed,
    /// Cancelled, skipped, neutral, still running…: neither.
    Other,
}

impl Outcome {
    /// The outcome of a normalised status name (`domain::BuildStatus`).
    pub fn of_status(status: &str) -> Outcome {
        match status {
            "failed" => Outcome::Failed,
            "success" => Outcome::Passed,
            _ => Outcome::Other,
        }
    }
}

/// A stored run attempt of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFacts {
    pub build_id: i64,
    pub run_id: String,
    pub run_attempt: i64,
    /// `None` when unknown.
    pub workflow: Option<String>,
    pub commit_sha: Option<String>,
    pub branch: Option<String>,
    pub outcome: Outcome,
    pub duration_seconds: Option<i64>,
    pub sort_at: i64,
}

/// A stored job of one of the group's attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFacts {
    pub job_id: i64,
    pub build_id: i64,
    /// `None`: a job without a name (no key), never flaky.
    pub key_id: Option<i64>,
    pub name: Option<String>,
    pub outcome: Outcome,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
}

impl JobFacts {
    /// Runner time in whole seconds (0 when unknown or skewed).
    pub fn runner_seconds(&self) -> i64 {
        match (self.started_at, self.completed_at) {
            (Some(start), Some(end)) if end > start => end - start,
            _ => 0,
        }
    }
}

/// One flaky occurrence (see the module for each kind).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Occurrence {
    pub kind: Kind,
    /// The run (retry, job); '' for a commit occurrence.
    pub run_id: String,
    pub workflow: String,
    pub commit_sha: Option<String>,
    pub branch: Option<String>,
    /// The job key (job only).
    pub key_id: Option<i64>,
    /// The job's full name (job only).
    pub job_name: Option<String>,
    /// The passing attempt (the latest successful one for a commit).
    pub build_id: i64,
    /// The failed attempt paired with it (the latest failed one for a commit).
    pub failed_build_id: i64,
    /// The passing and the failed job (job only).
    pub job_id: Option<i64>,
    pub failed_job_id: Option<i64>,
    /// Failed attempts or tries the occurrence stands for.
    pub failures: i64,
    pub wasted_seconds: i64,
    pub seen_at: i64,
}

/// The failed-job runner time of `attempt`, or its duration when none of
/// its jobs is stored (see the module).
fn attempt_waste(attempt: &AttemptFacts, jobs: &[JobFacts]) -> i64 {
    let mut own = jobs.iter().filter(|j| j.build_id == attempt.build_id).peekable();
    if own.peek().is_none() {
        return attempt.duration_seconds.unwrap_or(0).max(0);
    }
    own.filter(|j| j.outcome == Outcome::Failed).map(JobFacts::runner_seconds).sum()
}

/// Every flaky occurrence in one group's `attempts` and `jobs` (jobs of
/// attempts not given are ignored), in a stable order. Repeated rows (the
/// same build or job id twice) count once.
pub fn detect(attempts: &[AttemptFacts], jobs: &[JobFacts]) -> Vec<Occurrence> {
    let mut attempts: Vec<AttemptFacts> = attempts.to_vec();
    attempts
        .sort_by(|a, b| (&a.run_id, a.run_attempt, a.build_id).cmp(&(&b.run_id, b.run_attempt, b.build_id)));
    attempts.dedup_by_key(|a| a.build_id);
    let mut jobs: Vec<JobFacts> =
        jobs.iter().filter(|j| attempts.iter().any(|a| a.build_id == j.build_id)).cloned().collect();
    jobs.sort_by_key(|j| j.job_id);
    jobs.dedup_by_key(|j| j.job_id);

    let mut found = Vec::new();
    let mut runs: BTreeMap<&str, Vec<&AttemptFacts>> = BTreeMap::new();
    for attempt in &attempts {
        runs.entry(attempt.run_id.as_str()).or_default().push(attempt);
    }
    for run in runs.values() {
        retries(run, &jobs, &mut found);
        flaky_jobs(run, &jobs, &mut found);
    }
    commits(&attempts, &jobs, &mut found);
    found.sort();
    found
}

fn workflow_of(attempt: &AttemptFacts) -> String {
    attempt.workflow.clone().unwrap_or_default()
}

/// Passed on retry within one run (attempts in `run_attempt` order).
fn retries(run: &[&AttemptFacts], jobs: &[JobFacts], found: &mut Vec<Occurrence>) {
    let conclusive: Vec<&&AttemptFacts> = run.iter().filter(|a| a.outcome != Outcome::Other).collect();
    let mut failed_since_pass: Vec<&AttemptFacts> = Vec::new();
    for attempt in conclusive {
        match attempt.outcome {
            Outcome::Failed => failed_since_pass.push(attempt),
            Outcome::Passed => {
                if let Some(last_failed) = failed_since_pass.last() {
                    found.push(Occurrence {
                        kind: Kind::Retry,
                        run_id: attempt.run_id.clone(),
                        workflow: workflow_of(attempt),
                        commit_sha: attempt.commit_sha.clone(),
                        branch: attempt.branch.clone(),
                        key_id: None,
                        job_name: None,
                        build_id: attempt.build_id,
                        failed_build_id: last_failed.build_id,
                        job_id: None,
                        failed_job_id: None,
                        failures: failed_since_pass.len() as i64,
                        wasted_seconds: failed_since_pass.iter().map(|a| attempt_waste(a, jobs)).sum(),
                        seen_at: attempt.sort_at,
                    });
                }
                failed_since_pass.clear();
            }
            Outcome::Other => {}
        }
    }
}

/// Flaky jobs within one run: per (key, full name), its conclusive tries
/// in attempt order.
fn flaky_jobs(run: &[&AttemptFacts], jobs: &[JobFacts], found: &mut Vec<Occurrence>) {
    let order: BTreeMap<i64, &AttemptFacts> = run.iter().map(|a| (a.build_id, *a)).collect();
    let mut tries: BTreeMap<(i64, &str), Vec<(&AttemptFacts, &JobFacts)>> = BTreeMap::new();
    for job in jobs {
        let (Some(key), Some(name), Some(attempt)) =
            (job.key_id, job.name.as_deref(), order.get(&job.build_id))
        else {
            continue;
        };
        if job.outcome != Outcome::Other {
            tries.entry((key, name)).or_default().push((attempt, job));
        }
    }
    for ((key, name), mut list) in tries {
        list.sort_by_key(|(attempt, job)| (attempt.run_attempt, job.job_id));
        let mut failed_since_pass: Vec<&JobFacts> = Vec::new();
        for (attempt, job) in list {
            match job.outcome {
                Outcome::Failed => failed_since_pass.push(job),
                Outcome::Passed => {
                    if let Some(last_failed) = failed_since_pass.last() {
                        found.push(Occurrence {
                            kind: Kind::Job,
                            run_id: attempt.run_id.clone(),
                            workflow: workflow_of(attempt),
                            commit_sha: attempt.commit_sha.clone(),
                            branch: attempt.branch.clone(),
                            key_id: Some(key),
                            job_name: Some(name.to_string()),
                            build_id: attempt.build_id,
                            failed_build_id: last_failed.build_id,
                            job_id: Some(job.job_id),
                            failed_job_id: Some(last_failed.job_id),
                            failures: failed_since_pass.len() as i64,
                            wasted_seconds: failed_since_pass.iter().map(|j| j.runner_seconds()).sum(),
                            seen_at: attempt.sort_at,
                        });
                    }
                    failed_since_pass.clear();
                }
                Outcome::Other => {}
            }
        }
    }
}

/// Same commit, different result: per (workflow, SHA) across runs.
fn commits(attempts: &[AttemptFacts], jobs: &[JobFacts], found: &mut Vec<Occurrence>) {
    let mut groups: BTreeMap<(&str, &str), Vec<&AttemptFacts>> = BTreeMap::new();
    for attempt in attempts {
        if let (Some(workflow), Some(sha)) = (attempt.workflow.as_deref(), attempt.commit_sha.as_deref()) {
            groups.entry((workflow, sha)).or_default().push(attempt);
        }
    }
    for ((workflow, sha), list) in groups {
        let latest = |outcome: Outcome| {
            list.iter()
                .filter(|a| a.outcome == outcome)
                .max_by_key(|a| (a.sort_at, a.run_attempt, a.build_id))
        };
        let (Some(failed), Some(passed)) = (latest(Outcome::Failed), latest(Outcome::Passed)) else {
            continue;
        };
        let failures: Vec<&&AttemptFacts> = list.iter().filter(|a| a.outcome == Outcome::Failed).collect();
        found.push(Occurrence {
            kind: Kind::Commit,
            run_id: String::new(),
            workflow: workflow.to_string(),
            commit_sha: Some(sha.to_string()),
            branch: passed.branch.clone().or_else(|| failed.branch.clone()),
            key_id: None,
            job_name: None,
            build_id: passed.build_id,
            failed_build_id: failed.build_id,
            job_id: None,
            failed_job_id: None,
            failures: failures.len() as i64,
            wasted_seconds: failures.iter().map(|a| attempt_waste(a, jobs)).sum(),
            seen_at: list.iter().map(|a| a.sort_at).max().unwrap_or(0),
        });
    }
}

#[cfg(test)]
mod tests;
