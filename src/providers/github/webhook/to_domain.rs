//! Payload objects → domain types, with the defaults the foundation issue
//! sets for fields older payloads lack (`run_attempt` → 1, `run_started_at` →
//! `created_at`) and one tolerant timestamp parser for every time field.

use chrono::{DateTime, Utc};

use super::payload::{
    Repository, StepObject, WorkflowJobEvent, WorkflowJobObject, WorkflowRunEvent, WorkflowRunObject,
};
use crate::domain::time::parse_timestamp;
use crate::domain::{BranchName, Conclusion, Job, ProviderKind, RunAttempt, RunStatus, Step};
use crate::providers::PayloadError;

fn missing(what: &str) -> PayloadError {
    PayloadError(format!("the payload has no {what}"))
}

fn timestamp(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, PayloadError> {
    match value {
        None => Ok(None),
        Some(text) => parse_timestamp(text)
            .map(Some)
            .map_err(|err| PayloadError(format!("{field} is not an RFC 3339 timestamp ({text:?}): {err}"))),
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

fn repo_name(repository: Option<&Repository>) -> Option<String> {
    repository
        .and_then(|r| r.full_name.as_deref())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

/// `https://api.github.com/repos/{owner}/{repo}/actions/runs/{id}` → `owner/repo`.
fn repo_from_run_url(url: Option<&str>) -> Option<String> {
    let rest = url?.split("/repos/").nth(1)?;
    let mut parts = rest.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    (!owner.is_empty() && !name.is_empty()).then(|| format!("{owner}/{name}"))
}

fn attempt_number(value: Option<i64>, field: &str) -> Result<i64, PayloadError> {
    match value {
        None => Ok(1),
        Some(n) if n >= 1 => Ok(n),
        Some(n) => Err(PayloadError(format!("{field} must be 1 or more, got {n}"))),
    }
}

/// `workflow_run` webhook → [`RunAttempt`].
pub(super) fn run_from_event(event: WorkflowRunEvent) -> Result<RunAttempt, PayloadError> {
    let run = event.workflow_run.ok_or_else(|| missing("workflow_run object"))?;
    let repo = repo_name(event.repository.as_ref())
        .or_else(|| repo_name(run.repository.as_ref()))
        .ok_or_else(|| missing("repository.full_name"))?;
    let mut attempt = run_in_repo(run, repo, event.workflow.and_then(|w| w.name))?;
    attempt.triggered_by = attempt.triggered_by.or_else(|| non_empty(event.sender.and_then(|s| s.login)));
    Ok(attempt)
}

/// A workflow run object from the REST API (`GET
/// /repos/{owner}/{repo}/actions/runs`, `…/runs/{id}/attempts/{n}`; same
/// shape as the webhook's) → [`RunAttempt`] of `repo`, the repository it was
/// asked for.
pub fn run_from_rest(run: WorkflowRunObject, repo: &str) -> Result<RunAttempt, PayloadError> {
    let repo = repo_name(run.repository.as_ref()).unwrap_or_else(|| repo.to_owned());
    run_in_repo(run, repo, None)
}

/// A job object from the REST API (`GET …/runs/{id}/attempts/{n}/jobs`) →
/// [`Job`] of `repo`. `run_attempt` is the attempt whose jobs were asked
/// for: answers from before 2022 carry no `run_attempt` of their own.
pub fn job_from_rest(mut job: WorkflowJobObject, repo: &str, run_attempt: i64) -> Result<Job, PayloadError> {
    job.run_attempt = Some(job.run_attempt.unwrap_or(run_attempt));
    job_in_repo(job, repo.to_owned())
}

fn run_in_repo(
    run: WorkflowRunObject,
    repo: String,
    workflow_name: Option<String>,
) -> Result<RunAttempt, PayloadError> {
    let id = run.id.ok_or_else(|| missing("workflow_run.id"))?;
    let provider_status =
        run.status.filter(|s| !s.is_empty()).ok_or_else(|| missing("workflow_run.status"))?;
    let created_at = timestamp("workflow_run.created_at", run.created_at.as_deref())?;
    let run_started_at = timestamp("workflow_run.run_started_at", run.run_started_at.as_deref())?;
    Ok(RunAttempt {
        provider: ProviderKind::GitHub,
        repo: repo.into(),
        run_id: id.to_string(),
        run_attempt: attempt_number(run.run_attempt, "workflow_run.run_attempt")?,
        workflow: non_empty(run.name).or_else(|| non_empty(workflow_name)),
        workflow_id: run.workflow_id,
        run_number: run.run_number,
        event: run.event,
        branch: run.head_branch.map(BranchName::from),
        commit_sha: non_empty(run.head_sha).or_else(|| non_empty(run.head_commit.and_then(|c| c.id))),
        triggered_by: run.triggering_actor.and_then(|a| a.login).or_else(|| run.actor.and_then(|a| a.login)),
        url: run.html_url,
        provider_status: RunStatus::parse(&provider_status),
        conclusion: run.conclusion.as_deref().map(Conclusion::parse),
        created_at,
        started_at: run_started_at.or(created_at),
        updated_at: timestamp("workflow_run.updated_at", run.updated_at.as_deref())?,
        first_job_started_at: None,
    })
}

/// `workflow_job` webhook → [`Job`].
pub(super) fn job_from_event(event: WorkflowJobEvent) -> Result<Job, PayloadError> {
    let job = event.workflow_job.ok_or_else(|| missing("workflow_job object"))?;
    let repo = repo_name(event.repository.as_ref())
        .or_else(|| repo_from_run_url(job.run_url.as_deref()))
        .ok_or_else(|| missing("repository.full_name"))?;
    job_in_repo(job, repo)
}

fn job_in_repo(job: WorkflowJobObject, repo: String) -> Result<Job, PayloadError> {
    let id = job.id.ok_or_else(|| missing("workflow_job.id"))?;
    let run_id = job.run_id.ok_or_else(|| missing("workflow_job.run_id"))?;
    let provider_status =
        job.status.filter(|s| !s.is_empty()).ok_or_else(|| missing("workflow_job.status"))?;
    Ok(Job {
        provider: ProviderKind::GitHub,
        repo: repo.into(),
        run_id: run_id.to_string(),
        run_attempt: attempt_number(job.run_attempt, "workflow_job.run_attempt")?,
        job_id: id.to_string(),
        name: job.name,
        workflow: job.workflow_name,
        branch: job.head_branch.map(BranchName::from),
        commit_sha: job.head_sha,
        provider_status: RunStatus::parse(&provider_status),
        conclusion: job.conclusion.as_deref().map(Conclusion::parse),
        runner_name: job.runner_name.filter(|r| !r.is_empty()),
        runner_group: job.runner_group_name.filter(|g| !g.is_empty()),
        labels: job.labels.unwrap_or_default(),
        url: job.html_url,
        stage: None,
        failure_reason: None,
        allow_failure: None,
        queued_duration_ms: None,
        created_at: timestamp("workflow_job.created_at", job.created_at.as_deref())?,
        started_at: timestamp("workflow_job.started_at", job.started_at.as_deref())?,
        completed_at: timestamp("workflow_job.completed_at", job.completed_at.as_deref())?,
        steps: steps(job.steps.unwrap_or_default())?,
    })
}

/// A job's `steps`, merged by number (a number listed twice is one step,
/// see `crate::domain::step::merge_steps`). A step without a number or a
/// status, or with a number below 1, is refused.
fn steps(objects: Vec<StepObject>) -> Result<Vec<Step>, PayloadError> {
    let mut steps = Vec::with_capacity(objects.len());
    for step in objects {
        let number = match step.number {
            Some(n) if n >= 1 => n,
            Some(n) => {
                return Err(PayloadError(format!("workflow_job.steps[].number must be 1 or more, got {n}")));
            }
            None => return Err(missing("workflow_job.steps[].number")),
        };
        let status =
            step.status.filter(|s| !s.is_empty()).ok_or_else(|| missing("workflow_job.steps[].status"))?;
        steps.push(Step {
            number,
            name: step.name,
            provider_status: RunStatus::parse(&status),
            conclusion: step.conclusion.as_deref().map(Conclusion::parse),
            started_at: timestamp("workflow_job.steps[].started_at", step.started_at.as_deref())?,
            completed_at: timestamp("workflow_job.steps[].completed_at", step.completed_at.as_deref())?,
        });
    }
    Ok(crate::domain::step::merge_steps(&[], &steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_comes_from_the_run_url_when_the_payload_has_none() {
        assert_eq!(
            repo_from_run_url(Some("https://api.github.com/repos/octo-org/example/actions/runs/1")),
            Some("octo-org/example".to_string())
        );
        assert_eq!(repo_from_run_url(Some("https://example.com/x")), None);
        assert_eq!(repo_from_run_url(None), None);
    }

    #[test]
    fn attempt_defaults_to_one_and_refuses_zero() {
        assert_eq!(attempt_number(None, "x"), Ok(1));
        assert_eq!(attempt_number(Some(3), "x"), Ok(3));
        assert!(attempt_number(Some(0), "x").is_err());
    }
}
