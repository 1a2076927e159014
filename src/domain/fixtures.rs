//! Test builders for the domain types (compiled for unit tests only): one
//! run attempt and one job of `o/r` run `1`, attempt 1, with the fields the
//! tests vary as arguments. Tests change other fields with struct update.

use chrono::{DateTime, Utc};

use super::{Conclusion, Job, ProviderKind, RunAttempt, RunStatus};

/// A run attempt of workflow `CI` (run number 7, push to `main` at `abc`)
/// created and started at `started`, last updated at `updated`.
pub fn run(
    status: &str,
    conclusion: Option<&str>,
    started: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
) -> RunAttempt {
    RunAttempt {
        provider: ProviderKind::GitHub,
        repo: "o/r".into(),
        run_id: "1".into(),
        run_attempt: 1,
        workflow: Some("CI".into()),
        workflow_id: None,
        run_number: Some(7),
        event: Some("push".into()),
        branch: Some("main".into()),
        commit_sha: Some("abc".into()),
        triggered_by: None,
        url: None,
        provider_status: RunStatus::parse(status),
        conclusion: conclusion.map(Conclusion::parse),
        created_at: started,
        started_at: started,
        updated_at: updated,
        first_job_started_at: None,
    }
}

/// Job `9` named `build` of that run attempt, queued at `created` and
/// started at `started`; no workflow, branch, runner or labels.
pub fn job(status: &str, created: Option<DateTime<Utc>>, started: Option<DateTime<Utc>>) -> Job {
    Job {
        provider: ProviderKind::GitHub,
        repo: "o/r".into(),
        run_id: "1".into(),
        run_attempt: 1,
        job_id: "9".into(),
        name: Some("build".into()),
        workflow: None,
        branch: None,
        commit_sha: None,
        provider_status: RunStatus::parse(status),
        conclusion: None,
        runner_name: None,
        runner_group: None,
        labels: Vec::new(),
        url: None,
        stage: None,
        failure_reason: None,
        allow_failure: None,
        queued_duration_ms: None,
        created_at: created,
        started_at: started,
        completed_at: None,
        steps: Vec::new(),
    }
}
