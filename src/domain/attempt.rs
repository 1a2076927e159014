//! [`RunAttempt`]: one attempt of one workflow run, the unit stored as a
//! build row (`builds` table) and answered by `/api/builds`.

use chrono::{DateTime, Utc};

use super::job::Job;
use super::keys::{BranchName, RepoName};
use super::status::{BuildStatus, Conclusion, ProviderKind, RunStatus};
use super::time::elapsed_seconds;

/// What is known about one attempt of one workflow run.
///
/// Identity: (`provider`, `repo`, `run_id`, `run_attempt`). Field meanings follow
/// GitHub's `workflow_run` object
/// (<https://docs.github.com/en/webhooks/webhook-events-and-payloads#workflow_run>):
/// `created_at` is when attempt 1 was created, `started_at` is `run_started_at`
/// of *this* attempt (falling back to `created_at` when an older payload lacks
/// it), `updated_at` is the provider's last change. All timestamps are UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct RunAttempt {
    pub provider: ProviderKind,
    /// `owner/name`.
    pub repo: RepoName,
    /// The provider's run id (GitHub `workflow_run.id`, GitLab pipeline id), as text.
    pub run_id: String,
    /// 1-based attempt number (`run_attempt`; 1 when an older payload lacks it).
    pub run_attempt: i64,
    pub workflow: Option<String>,
    pub workflow_id: Option<i64>,
    pub run_number: Option<i64>,
    /// Triggering event (`push`, `pull_request`, …).
    pub event: Option<String>,
    pub branch: Option<BranchName>,
    pub commit_sha: Option<String>,
    /// Login of the triggering actor (else the actor).
    pub triggered_by: Option<String>,
    /// Link to the run on the provider's site.
    pub url: Option<String>,
    /// Raw provider status (`requested`, `queued`, `pending`, `waiting`,
    /// `in_progress`, `completed`, or anything newer).
    pub provider_status: RunStatus,
    /// Raw provider conclusion; `None` until completed.
    pub conclusion: Option<Conclusion>,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Earliest `started_at` of this attempt's jobs that have started.
    pub first_job_started_at: Option<DateTime<Utc>>,
}

impl RunAttempt {
    /// The normalised status (see [`BuildStatus::from_provider`]).
    pub fn status(&self) -> BuildStatus {
        BuildStatus::from_provider(&self.provider_status, self.conclusion.as_ref())
    }

    /// Where lists and windows place the attempt in time: this attempt's
    /// start, else (known only from its jobs) its earliest job start; `None`
    /// while nothing has started.
    pub fn placed_at(&self) -> Option<DateTime<Utc>> {
        self.started_at.or(self.first_job_started_at)
    }

    /// Whether the provider reports the attempt as `completed`.
    pub fn is_completed(&self) -> bool {
        self.provider_status.is_completed()
    }

    /// Completion time: the provider's `updated_at` of the completed attempt;
    /// `None` until completed.
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        if self.is_completed() { self.updated_at } else { None }
    }

    /// `duration_seconds`: [`RunAttempt::finished_at`] − `started_at` (this
    /// attempt's `run_started_at`), in seconds; `None` until completed; clamped
    /// to 0 when the provider's clocks disagree.
    pub fn duration_seconds(&self) -> Option<i64> {
        elapsed_seconds(self.started_at, self.finished_at())
    }

    /// `queue_seconds`: how long the attempt waited before its first job
    /// started: earliest started job's `started_at` − `started_at`, in
    /// seconds, clamped to 0; `None` until a job of this attempt has started.
    pub fn queue_seconds(&self) -> Option<i64> {
        elapsed_seconds(self.started_at, self.first_job_started_at)
    }

    /// The least that a job delivery tells about its run attempt, used to
    /// create the attempt's row before the run itself has been seen: a job
    /// that is queued or waiting implies a run at least as far; a job that is
    /// running or done implies a run `in_progress`. It carries no
    /// `updated_at`, so any real run delivery of the same rank replaces it.
    pub fn implied_by_job(job: &Job) -> RunAttempt {
        let provider_status = match job.provider_status {
            RunStatus::Waiting => RunStatus::Waiting,
            RunStatus::Running => RunStatus::Running,
            RunStatus::InProgress | RunStatus::Completed => RunStatus::InProgress,
            _ => RunStatus::Queued,
        };
        RunAttempt {
            provider: job.provider,
            repo: job.repo.clone(),
            run_id: job.run_id.clone(),
            run_attempt: job.run_attempt,
            workflow: job.workflow.clone(),
            workflow_id: None,
            run_number: None,
            event: None,
            branch: job.branch.clone(),
            commit_sha: job.commit_sha.clone(),
            triggered_by: None,
            url: None,
            provider_status,
            conclusion: None,
            created_at: None,
            started_at: None,
            updated_at: None,
            first_job_started_at: if job.has_started() { job.started_at } else { None },
        }
    }
}
