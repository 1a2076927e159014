//! Row ↔ domain mapping: the column lists, how domain values are bound, and
//! how rows decode (Unix seconds ↔ UTC timestamps, labels as a JSON array).

use chrono::{DateTime, Utc};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::StoreError;
use crate::domain::time::from_unix;
use crate::domain::{BranchName, Conclusion, Job, ProviderKind, RepoName, RunAttempt, RunStatus};

/// `builds` columns read into a [`RunAttempt`], in [`run_from_row`] order.
macro_rules! build_columns {
    () => {
        "id, provider_id, repo, external_id, run_attempt, workflow, workflow_id, run_number, \
         event, branch, commit_sha, triggered_by, url, provider_status, conclusion, created_at, \
         started_at, updated_at, first_job_started_at"
    };
}
pub(super) use build_columns;

/// `jobs` columns read into a [`Job`] (joined with its build `b`).
macro_rules! job_columns {
    () => {
        "j.id, j.build_id, j.provider_id, b.repo, b.external_id, b.run_attempt, j.external_id, \
         j.name, j.workflow, j.branch, j.commit_sha, j.provider_status, j.conclusion, \
         j.runner_name, j.labels, j.url, j.created_at, j.started_at, j.completed_at, \
         j.stage, j.failure_reason, j.allow_failure, j.queued_duration_ms, j.runner_group"
    };
}
pub(super) use job_columns;

pub(super) fn unix(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(|t| t.timestamp())
}

fn ts(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(column)?.and_then(from_unix))
}

/// The `providers.id` of each kind (migrations 0001 and 0009): GitHub 1,
/// the generic build API's kinds from 10 upward.
pub(super) fn provider_id(provider: ProviderKind) -> i64 {
    match provider {
        ProviderKind::GitHub => 1,
        ProviderKind::GitLab => 2,
        ProviderKind::Jenkins => 10,
        ProviderKind::Buildkite => 11,
        ProviderKind::CircleCi => 12,
        ProviderKind::AzurePipelines => 13,
        ProviderKind::BitbucketPipelines => 14,
        ProviderKind::TeamCity => 15,
        ProviderKind::Drone => 16,
        ProviderKind::Woodpecker => 17,
        ProviderKind::Travis => 18,
        ProviderKind::Other => 19,
    }
}

pub(super) fn provider_from_id(id: i64) -> Result<ProviderKind, StoreError> {
    ProviderKind::ALL
        .into_iter()
        .find(|kind| provider_id(*kind) == id)
        .ok_or_else(|| StoreError::Config(format!("unknown provider id {id} in the database")))
}

/// Decodes a `build_columns!()` row into (`id`, [`RunAttempt`]).
pub(super) fn run_from_row(row: &AnyRow) -> Result<(i64, RunAttempt), StoreError> {
    let attempt = RunAttempt {
        provider: provider_from_id(row.try_get("provider_id")?)?,
        repo: RepoName::from(row.try_get::<String, _>("repo")?),
        run_id: row.try_get("external_id")?,
        run_attempt: row.try_get("run_attempt")?,
        workflow: row.try_get("workflow")?,
        workflow_id: row.try_get("workflow_id")?,
        run_number: row.try_get("run_number")?,
        event: row.try_get("event")?,
        branch: row.try_get::<Option<String>, _>("branch")?.map(BranchName::from),
        commit_sha: row.try_get("commit_sha")?,
        triggered_by: row.try_get("triggered_by")?,
        url: row.try_get("url")?,
        provider_status: RunStatus::parse(row.try_get("provider_status")?),
        conclusion: row.try_get::<Option<&str>, _>("conclusion")?.map(Conclusion::parse),
        created_at: ts(row, "created_at")?,
        started_at: ts(row, "started_at")?,
        updated_at: ts(row, "updated_at")?,
        first_job_started_at: ts(row, "first_job_started_at")?,
    };
    Ok((row.try_get("id")?, attempt))
}

/// Decodes a `job_columns!()` row into (`id`, `build_id`, [`Job`]).
pub(super) fn job_from_row(row: &AnyRow) -> Result<(i64, i64, Job), StoreError> {
    let labels: String = row.try_get("labels")?;
    let job = Job {
        provider: provider_from_id(row.try_get("provider_id")?)?,
        repo: RepoName::from(row.try_get::<String, _>("repo")?),
        run_id: row.try_get(4)?,
        run_attempt: row.try_get("run_attempt")?,
        job_id: row.try_get(6)?,
        name: row.try_get("name")?,
        workflow: row.try_get("workflow")?,
        branch: row.try_get::<Option<String>, _>("branch")?.map(BranchName::from),
        commit_sha: row.try_get("commit_sha")?,
        provider_status: RunStatus::parse(row.try_get("provider_status")?),
        conclusion: row.try_get::<Option<&str>, _>("conclusion")?.map(Conclusion::parse),
        runner_name: row.try_get("runner_name")?,
        runner_group: row.try_get("runner_group")?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        url: row.try_get("url")?,
        stage: row.try_get("stage")?,
        failure_reason: row.try_get("failure_reason")?,
        allow_failure: row.try_get::<Option<i64>, _>("allow_failure")?.map(|flag| flag != 0),
        queued_duration_ms: row.try_get("queued_duration_ms")?,
        created_at: ts(row, "created_at")?,
        started_at: ts(row, "started_at")?,
        completed_at: ts(row, "completed_at")?,
        steps: Vec::new(),
    };
    Ok((row.try_get("id")?, row.try_get("build_id")?, job))
}

/// Binds the mutable columns of a build, in this order: workflow, workflow_id,
/// run_number, event, branch, commit_sha, triggered_by, url, provider_status,
/// conclusion, status, created_at, started_at, updated_at, finished_at,
/// first_job_started_at, duration_seconds, sort_at, changed_at.
pub(super) fn bind_run<'q>(
    query: Query<'q, Any, AnyArguments>,
    run: &RunAttempt,
    changed_at: i64,
) -> Query<'q, Any, AnyArguments> {
    query
        .bind(run.workflow.clone())
        .bind(run.workflow_id)
        .bind(run.run_number)
        .bind(run.event.clone())
        .bind(run.branch.as_ref().map(|b| b.as_str().to_owned()))
        .bind(run.commit_sha.clone())
        .bind(run.triggered_by.clone())
        .bind(run.url.clone())
        .bind(run.provider_status.as_str().to_owned())
        .bind(run.conclusion.as_ref().map(|c| c.as_str().to_owned()))
        .bind(run.status().as_str())
        .bind(unix(run.created_at))
        .bind(unix(run.started_at))
        .bind(unix(run.updated_at))
        .bind(unix(run.finished_at()))
        .bind(unix(run.first_job_started_at))
        .bind(run.duration_seconds())
        // sort_at, the attempt's start: `run_started_at` (else `created_at`,
        // see the parser), else — known only from its jobs — its earliest
        // job start; 0 when none has started.
        .bind(unix(run.placed_at()).unwrap_or(0))
        .bind(changed_at)
}

/// Binds the mutable columns of a job, in this order: name, workflow, branch,
/// commit_sha, provider_status, conclusion, status, runner_name, labels, url,
/// created_at, started_at, completed_at, changed_at, stage, failure_reason,
/// allow_failure, queued_duration_ms, runner_group.
pub(super) fn bind_job<'q>(
    query: Query<'q, Any, AnyArguments>,
    job: &Job,
    changed_at: i64,
) -> Query<'q, Any, AnyArguments> {
    query
        .bind(job.name.clone())
        .bind(job.workflow.clone())
        .bind(job.branch.as_ref().map(|b| b.as_str().to_owned()))
        .bind(job.commit_sha.clone())
        .bind(job.provider_status.as_str().to_owned())
        .bind(job.conclusion.as_ref().map(|c| c.as_str().to_owned()))
        .bind(job.status().as_str())
        .bind(job.runner_name.clone())
        .bind(serde_json::to_string(&job.labels).unwrap_or_else(|_| "[]".into()))
        .bind(job.url.clone())
        .bind(unix(job.created_at))
        .bind(unix(job.started_at))
        .bind(unix(job.completed_at))
        .bind(changed_at)
        .bind(job.stage.clone())
        .bind(job.failure_reason.clone())
        .bind(job.allow_failure.map(i64::from))
        .bind(job.queued_duration_ms)
        .bind(job.runner_group.clone())
}
