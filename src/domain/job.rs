//! [`Job`]: one job of one run attempt (GitHub `workflow_job`, a GitLab job)
//! with its steps, stored in the `jobs` and `steps` tables and answered
//! inside `/api/builds/{id}`.

use chrono::{DateTime, Utc};

use super::keys::{BranchName, RepoName};
use super::status::{BuildStatus, Conclusion, ProviderKind, RunStatus};
use super::step::Step;
use super::time::elapsed_seconds;

/// What is known about one job. Identity: (`provider`, `job_id`); it belongs
/// to the run attempt (`repo`, `run_id`, `run_attempt`). Fields follow GitHub's
/// `workflow_job` object
/// (<https://docs.github.com/en/webhooks/webhook-events-and-payloads#workflow_job>).
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub provider: ProviderKind,
    pub repo: RepoName,
    pub run_id: String,
    pub run_attempt: i64,
    /// The provider's job id, as text.
    pub job_id: String,
    pub name: Option<String>,
    /// Workflow name (`workflow_name`), used to fill in a run not seen yet.
    pub workflow: Option<String>,
    pub branch: Option<BranchName>,
    pub commit_sha: Option<String>,
    /// Raw provider status (`queued`, `waiting`, `in_progress`, `completed`, …).
    pub provider_status: RunStatus,
    pub conclusion: Option<Conclusion>,
    pub runner_name: Option<String>,
    /// The runner group that ran (or will run) the job (`runner_group_name`;
    /// GitHub-hosted runners are in the group `GitHub Actions`). GitLab and
    /// generic providers leave it empty.
    pub runner_group: Option<String>,
    /// Runner labels requested by the job (`runs-on`).
    pub labels: Vec<String>,
    pub url: Option<String>,
    /// The stage the job belongs to (GitLab `stage`); `None` for GitHub.
    pub stage: Option<String>,
    /// Why a failed job failed, as the provider names it (GitLab
    /// `failure_reason`, e.g. `script_failure`).
    pub failure_reason: Option<String>,
    /// Whether the job may fail without failing its run (GitLab
    /// `allow_failure`); `None` when the provider does not say.
    pub allow_failure: Option<bool>,
    /// The provider's own queue time in milliseconds (GitLab
    /// `queued_duration`, reported in seconds with a fraction), kept as
    /// reported; `queue_seconds` is computed from the timestamps instead.
    pub queued_duration_ms: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The job's steps by number (empty when the provider has none or none
    /// is known yet; see [`crate::domain::step::merge_steps`]).
    pub steps: Vec<Step>,
}

impl Job {
    /// The normalised status (see [`BuildStatus::from_provider`]).
    pub fn status(&self) -> BuildStatus {
        BuildStatus::from_provider(&self.provider_status, self.conclusion.as_ref())
    }

    /// Whether a runner has picked the job up (`in_progress`, `running` or
    /// `completed`). GitHub fills `started_at` already while a job is
    /// queued, so the timestamp alone does not tell.
    pub fn has_started(&self) -> bool {
        self.provider_status.has_started()
    }

    /// `queue_seconds`: `started_at − created_at` once the job has started,
    /// in seconds, clamped to 0; `None` before it starts or when either
    /// timestamp is unknown (REST answers from 2021 lack `created_at`).
    pub fn queue_seconds(&self) -> Option<i64> {
        if self.has_started() { elapsed_seconds(self.created_at, self.started_at) } else { None }
    }

    /// `duration_seconds`: `completed_at − started_at` once completed, in
    /// seconds, clamped to 0; `None` before.
    pub fn duration_seconds(&self) -> Option<i64> {
        if self.provider_status.is_completed() {
            elapsed_seconds(self.started_at, self.completed_at)
        } else {
            None
        }
    }

    /// Whether the job asked for a self-hosted runner: one of its labels is
    /// `self-hosted` (compared without regard to ASCII case, as GitHub
    /// matches labels). Every other job runs on a provider-hosted runner.
    /// GitHub requires the `self-hosted` label on every self-hosted runner
    /// (<https://docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/using-self-hosted-runners-in-a-workflow>).
    pub fn is_self_hosted(&self) -> bool {
        self.labels.iter().any(|label| label.eq_ignore_ascii_case("self-hosted"))
    }

    /// `completed_at`, answered as `finished_at`, only once completed.
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        if self.provider_status.is_completed() { self.completed_at } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;

    #[test]
    fn self_hosted_is_the_self_hosted_label_in_any_case() {
        let mut job = fixtures::job("queued", None, None);
        assert!(!job.is_self_hosted(), "no labels: hosted");
        job.labels = vec!["ubuntu-latest".into()];
        assert!(!job.is_self_hosted());
        job.labels = vec!["linux".into(), "Self-Hosted".into(), "x64".into()];
        assert!(job.is_self_hosted());
    }
}
