//! Answer shapes of `/api/builds` and `/api/builds/{id}`. Field names stay
//! compatible with the reference design; timestamps are RFC 3339 UTC (`Z`,
//! whole seconds); durations are seconds.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::time::format_timestamp;
use crate::domain::{BuildStatus, Step};
use crate::store::{BuildRecord, JobRecord};

fn ts(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(format_timestamp)
}

/// One run attempt (`Build`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Build)]
pub struct BuildJson {
    pub id: i64,
    /// `"github"`.
    #[schema(value_type = String)]
    pub provider_kind: &'static str,
    /// `"GitHub Actions"`.
    #[schema(value_type = String)]
    pub provider_name: &'static str,
    /// The provider's run id, as text.
    pub external_id: String,
    /// `owner/name`.
    pub repo: String,
    pub workflow: Option<String>,
    pub workflow_id: Option<i64>,
    pub run_number: Option<i64>,
    pub run_attempt: i64,
    pub event: Option<String>,
    pub branch: Option<String>,
    pub commit_sha: Option<String>,
    pub triggered_by: Option<String>,
    pub url: Option<String>,
    /// Normalised status (see `BuildStatus`).
    pub status: BuildStatus,
    /// Raw provider status.
    pub provider_status: String,
    /// Raw provider conclusion.
    pub conclusion: Option<String>,
    pub created_at: Option<String>,
    /// The run's own start (`run_started_at`), RFC 3339 UTC; null until a
    /// run delivery (or poll) brings it.
    pub started_at: Option<String>,
    /// When the attempt's earliest job started, RFC 3339 UTC, from its jobs'
    /// deliveries. Lists and windows place an attempt at `started_at`, else
    /// at this.
    pub first_job_started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_seconds: Option<i64>,
    pub queue_seconds: Option<i64>,
    /// `true` when this attempt is the failed or the passing attempt of a
    /// flaky occurrence (passed on retry, or same commit, different
    /// result; README, *Flaky*); absent from live events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flaky: Option<bool>,
}

impl From<&BuildRecord> for BuildJson {
    fn from(record: &BuildRecord) -> Self {
        let a = &record.attempt;
        BuildJson {
            id: record.id,
            provider_kind: a.provider.kind(),
            provider_name: a.provider.display_name(),
            external_id: a.run_id.clone(),
            repo: a.repo.to_string(),
            workflow: a.workflow.clone(),
            workflow_id: a.workflow_id,
            run_number: a.run_number,
            run_attempt: a.run_attempt,
            event: a.event.clone(),
            branch: a.branch.as_ref().map(|b| b.to_string()),
            commit_sha: a.commit_sha.clone(),
            triggered_by: a.triggered_by.clone(),
            url: a.url.clone(),
            status: a.status(),
            provider_status: a.provider_status.as_str().to_owned(),
            conclusion: a.conclusion.as_ref().map(|c| c.as_str().to_owned()),
            created_at: ts(a.created_at),
            started_at: ts(a.started_at),
            first_job_started_at: ts(a.first_job_started_at),
            finished_at: ts(a.finished_at()),
            duration_seconds: a.duration_seconds(),
            queue_seconds: a.queue_seconds(),
            flaky: None,
        }
    }
}

/// One job inside `/api/builds/{id}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Job)]
pub struct JobJson {
    pub id: i64,
    pub external_id: String,
    pub name: Option<String>,
    pub status: BuildStatus,
    pub provider_status: String,
    pub conclusion: Option<String>,
    pub runner_name: Option<String>,
    /// The runner group (GitHub `runner_group_name`), when known.
    pub runner_group: Option<String>,
    /// `true` when a label is `self-hosted` (see README, *Runners*).
    pub self_hosted: bool,
    pub labels: Vec<String>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub queue_seconds: Option<i64>,
    pub duration_seconds: Option<i64>,
    pub url: Option<String>,
    /// The job's stage (GitLab); null for GitHub.
    pub stage: Option<String>,
    /// Why a failed job failed, as the provider names it (GitLab
    /// `failure_reason`, e.g. `script_failure`); null otherwise.
    pub failure_reason: Option<String>,
    /// Whether the job may fail without failing its pipeline (GitLab
    /// `allow_failure`); null when the provider does not say.
    pub allow_failure: Option<bool>,
    /// The provider's own queue time in seconds, as reported (GitLab
    /// `queued_duration`, to the millisecond); `queue_seconds` is computed
    /// from the timestamps instead.
    pub queued_duration: Option<f64>,
    /// The job's steps by number (empty when the provider reports none).
    pub steps: Vec<StepJson>,
    /// `true` when this job is the failed or the passing try of a flaky job
    /// (README, *Flaky*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flaky: Option<bool>,
}

/// One step of a job inside `/api/builds/{id}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Step)]
pub struct StepJson {
    /// 1-based position in the job.
    pub number: i64,
    pub name: Option<String>,
    pub status: BuildStatus,
    pub provider_status: String,
    pub conclusion: Option<String>,
    pub started_at: Option<String>,
    /// When it completed, once completed.
    pub finished_at: Option<String>,
    /// `finished_at − started_at` in seconds, clamped to 0, once completed.
    pub duration_seconds: Option<i64>,
}

impl From<&Step> for StepJson {
    fn from(s: &Step) -> Self {
        StepJson {
            number: s.number,
            name: s.name.clone(),
            status: s.status(),
            provider_status: s.provider_status.as_str().to_owned(),
            conclusion: s.conclusion.as_ref().map(|c| c.as_str().to_owned()),
            started_at: ts(s.started_at),
            finished_at: ts(if s.provider_status.is_completed() { s.completed_at } else { None }),
            duration_seconds: s.duration_seconds(),
        }
    }
}

impl From<&JobRecord> for JobJson {
    fn from(record: &JobRecord) -> Self {
        let j = &record.job;
        JobJson {
            id: record.id,
            external_id: j.job_id.clone(),
            name: j.name.clone(),
            status: j.status(),
            provider_status: j.provider_status.as_str().to_owned(),
            conclusion: j.conclusion.as_ref().map(|c| c.as_str().to_owned()),
            runner_name: j.runner_name.clone(),
            runner_group: j.runner_group.clone(),
            self_hosted: j.is_self_hosted(),
            labels: j.labels.clone(),
            created_at: ts(j.created_at),
            started_at: ts(j.started_at),
            finished_at: ts(j.finished_at()),
            queue_seconds: j.queue_seconds(),
            duration_seconds: j.duration_seconds(),
            url: j.url.clone(),
            stage: j.stage.clone(),
            failure_reason: j.failure_reason.clone(),
            allow_failure: j.allow_failure,
            queued_duration: j.queued_duration_ms.map(|ms| ms as f64 / 1000.0),
            steps: j.steps.iter().map(StepJson::from).collect(),
            flaky: None,
        }
    }
}

/// `/api/builds` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BuildPage)]
pub struct BuildListJson {
    pub builds: Vec<BuildJson>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `/api/builds/{id}` answer: the build plus its jobs.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BuildDetail)]
pub struct BuildDetailJson {
    #[serde(flatten)]
    pub build: BuildJson,
    pub jobs: Vec<JobJson>,
    /// Each failed job's reason: failed step, error lines (plain text),
    /// signature, class, "same error in N other builds".
    pub failures: Vec<crate::store::failures::BuildFailure>,
}
