//! GitLab REST objects → domain changes: a pipeline and its jobs (retried
//! ones included) become run attempts and jobs, the same rows GitLab's
//! webhooks give (the mapping is the README's *GitLab CI mapping*). Pure.
//!
//! **Retries are attempts** (`domain::tries`): a job's try number is 1 +
//! the pipeline's jobs of the same name with a smaller id, which the
//! `include_retried=true` listing shows; the pipeline's current state and
//! its jobs go to the store as one [`TriedRun`], which places them.
//!
//! A webhook-fed dashboard saw each earlier attempt finish (the Pipeline
//! Hook of the failed pipeline, before the retry); a poll after the retry
//! sees only the current state. So each earlier attempt `k` is also sent
//! as a completed run attempt built from its own jobs
//! ([`earlier_attempt`]): `failed` when one of its jobs that may not fail
//! failed, else `canceled` when one was cancelled, else `success`; it
//! starts when its earliest job was created (as `domain::tries` rule 5
//! places a hook's attempt) and its `updated_at` is its latest job finish
//! (a Pipeline Hook's is the pipeline's finish).
//!
//! Statuses and timestamps follow the webhooks' rules
//! (`providers::gitlab::to_domain`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::models::{Job as ApiJob, Pipeline};
use crate::domain::tries::try_number;
use crate::domain::{
    BranchName, Change, Conclusion, Job, ProviderKind, RepoName, RunAttempt, RunStatus, TriedRun,
};
use crate::providers::gitlab::to_domain::timestamp;

pub use crate::providers::gitlab::to_domain::DEFAULT_WORKFLOW;

/// A GitLab status word as the domain's raw status and conclusion (the
/// webhooks' rule, `providers::gitlab::to_domain::status`); a missing one
/// reads as `created`.
pub fn status(text: Option<&str>) -> (RunStatus, Option<Conclusion>) {
    crate::providers::gitlab::to_domain::status(text.unwrap_or("created"))
}

fn time(text: &Option<String>) -> Option<DateTime<Utc>> {
    text.as_deref().and_then(|t| timestamp(t).ok())
}

/// The try number of each job id (`domain::tries` rule 1 over the listing).
pub fn try_numbers(jobs: &[ApiJob]) -> HashMap<i64, i64> {
    let ids: Vec<(String, Option<&str>)> =
        jobs.iter().map(|j| (j.id.to_string(), j.name.as_deref())).collect();
    ids.iter()
        .map(|(id, name)| {
            let tries = try_number(id, *name, ids.iter().map(|(i, n)| (i.as_str(), *n)));
            (id.parse().unwrap_or_default(), tries)
        })
        .collect()
}

/// An earlier attempt's conclusion from its jobs (see the module).
pub fn attempt_conclusion(jobs: &[&Job]) -> Conclusion {
    let blocking = |j: &&&Job| j.allow_failure != Some(true);
    if jobs.iter().filter(blocking).any(|j| j.conclusion == Some(Conclusion::Failed)) {
        Conclusion::Failed
    } else if jobs.iter().any(|j| j.conclusion == Some(Conclusion::Canceled)) {
        Conclusion::Canceled
    } else {
        Conclusion::Success
    }
}

fn job(api: &ApiJob, pipeline: &Pipeline, repo: &RepoName, attempt: i64) -> Job {
    let (provider_status, conclusion) = status(api.status.as_deref());
    let failure_reason = api.failure_reason.clone().filter(|_| conclusion == Some(Conclusion::Failed));
    Job {
        provider: ProviderKind::GitLab,
        repo: repo.clone(),
        run_id: pipeline.id.to_string(),
        run_attempt: attempt,
        job_id: api.id.to_string(),
        name: api.name.clone(),
        workflow: Some(pipeline.name.clone().unwrap_or_else(|| DEFAULT_WORKFLOW.to_owned())),
        branch: pipeline.git_ref.clone().or_else(|| api.git_ref.clone()).map(BranchName::from),
        commit_sha: pipeline.sha.clone().or_else(|| api.commit.as_ref().and_then(|c| c.id.clone())),
        completed_at: if provider_status.is_completed() { time(&api.finished_at) } else { None },
        provider_status,
        conclusion,
        runner_name: api.runner.as_ref().and_then(|r| r.description.clone()),
        labels: api.tag_list.clone(),
        url: api.web_url.clone(),
        stage: api.stage.clone(),
        failure_reason,
        allow_failure: Some(api.allow_failure),
        queued_duration_ms: api.queued_duration.map(|s| (s * 1000.0).round() as i64),
        steps: Vec::new(),
        runner_group: None,
        created_at: time(&api.created_at),
        started_at: time(&api.started_at),
    }
}

fn run(pipeline: &Pipeline, repo: &RepoName) -> RunAttempt {
    let (provider_status, conclusion) = status(pipeline.status.as_deref());
    RunAttempt {
        provider: ProviderKind::GitLab,
        repo: repo.clone(),
        run_id: pipeline.id.to_string(),
        run_attempt: 1,
        workflow: Some(pipeline.name.clone().unwrap_or_else(|| DEFAULT_WORKFLOW.to_owned())),
        workflow_id: None,
        run_number: pipeline.iid,
        event: pipeline.source.clone(),
        branch: pipeline.git_ref.clone().map(BranchName::from),
        commit_sha: pipeline.sha.clone(),
        triggered_by: pipeline.user.as_ref().and_then(|u| u.username.clone()),
        url: pipeline.web_url.clone(),
        created_at: time(&pipeline.created_at),
        started_at: None,
        // GitLab's ordering key, as for a Pipeline Hook: the finish of a finished pipeline.
        updated_at: if provider_status.is_completed() { time(&pipeline.finished_at) } else { None },
        provider_status,
        conclusion,
        first_job_started_at: None,
    }
}

/// Earlier attempt `number` of `pipeline`, completed, from its jobs.
pub fn earlier_attempt(pipeline: &Pipeline, repo: &RepoName, number: i64, jobs: &[&Job]) -> RunAttempt {
    RunAttempt {
        run_attempt: number,
        provider_status: RunStatus::Completed,
        conclusion: Some(attempt_conclusion(jobs)),
        started_at: jobs.iter().filter_map(|j| j.created_at).min(),
        updated_at: jobs.iter().filter_map(|j| j.completed_at).max(),
        ..run(pipeline, repo)
    }
}

/// The pipeline's earlier attempts (completed, each alone) and then its
/// current state with every job (placed by the store), for the project at
/// `repo`.
pub fn pipeline_changes(pipeline: &Pipeline, jobs: &[ApiJob], repo: &str) -> Vec<Change> {
    let repo = RepoName::from(repo);
    let tries = try_numbers(jobs);
    let mut mapped: Vec<Job> =
        jobs.iter().map(|j| job(j, pipeline, &repo, tries.get(&j.id).copied().unwrap_or(1))).collect();
    mapped.sort_by_key(|j| (j.run_attempt, j.job_id.parse::<i64>().unwrap_or(0)));
    mapped.dedup_by(|a, b| a.job_id == b.job_id);
    let attempts = mapped.iter().map(|j| j.run_attempt).max().unwrap_or(1);
    let mut changes: Vec<Change> = (1..attempts)
        .map(|number| {
            let own: Vec<&Job> = mapped.iter().filter(|j| j.run_attempt == number).collect();
            Change::Run(earlier_attempt(pipeline, &repo, number, &own))
        })
        .collect();
    changes.push(Change::Tries(TriedRun { run: Some(run(pipeline, &repo)), jobs: mapped }));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_job(id: i64, name: &str, status: &str, created: &str, finished: &str) -> ApiJob {
        ApiJob {
            id,
            name: Some(name.into()),
            status: Some(status.into()),
            created_at: Some(created.into()),
            started_at: Some(created.into()),
            finished_at: Some(finished.into()),
            ..ApiJob::default()
        }
    }

    fn at(text: &str) -> Option<DateTime<Utc>> {
        timestamp(text).ok()
    }

    /// build (100) passed; test failed (101) and was retried as 102, which
    /// passed. By hand: tries 100 → 1, 101 → 1, 102 → 2; attempt 1 is
    /// `failed` (101 may not fail), created 10:01 (100), finished 10:08
    /// (101); the pipeline's own state (success) goes to the store with
    /// all three jobs.
    #[test]
    fn a_retried_job_makes_an_earlier_attempt_that_keeps_its_failure() {
        let pipeline = Pipeline {
            id: 9,
            status: Some("success".into()),
            finished_at: Some("2026-01-01T10:20:00Z".into()),
            ..Pipeline::default()
        };
        let jobs = vec![
            api_job(102, "test", "success", "2026-01-01T10:15:00Z", "2026-01-01T10:19:00Z"),
            api_job(101, "test", "failed", "2026-01-01T10:05:00Z", "2026-01-01T10:08:00Z"),
            api_job(100, "build", "success", "2026-01-01T10:01:00Z", "2026-01-01T10:04:00Z"),
        ];
        let changes = pipeline_changes(&pipeline, &jobs, "group/app");
        assert_eq!(changes.len(), 2);
        let Change::Run(first) = &changes[0] else { panic!("attempt 1 first: {changes:?}") };
        assert_eq!(first.run_attempt, 1);
        assert_eq!(first.conclusion, Some(Conclusion::Failed));
        assert_eq!(first.started_at, at("2026-01-01T10:01:00Z"));
        assert_eq!(first.updated_at, at("2026-01-01T10:08:00Z"));
        let Change::Tries(tried) = &changes[1] else { panic!("then the pipeline: {changes:?}") };
        let run = tried.run.as_ref().expect("run");
        assert_eq!(run.conclusion, Some(Conclusion::Success));
        assert_eq!(run.updated_at, at("2026-01-01T10:20:00Z"));
        assert_eq!(run.workflow.as_deref(), Some(DEFAULT_WORKFLOW));
        let placed: Vec<(&str, i64)> =
            tried.jobs.iter().map(|j| (j.job_id.as_str(), j.run_attempt)).collect();
        assert_eq!(placed, vec![("100", 1), ("101", 1), ("102", 2)]);
    }

    #[test]
    fn an_allowed_failure_does_not_fail_an_earlier_attempt() {
        let pipeline = Pipeline { id: 9, status: Some("success".into()), ..Pipeline::default() };
        let mut lint = api_job(1, "lint", "failed", "2026-01-01T10:00:00Z", "2026-01-01T10:01:00Z");
        lint.allow_failure = true;
        let jobs = vec![
            lint,
            api_job(2, "test", "canceled", "2026-01-01T10:00:00Z", "2026-01-01T10:02:00Z"),
            api_job(3, "test", "success", "2026-01-01T10:03:00Z", "2026-01-01T10:04:00Z"),
        ];
        let changes = pipeline_changes(&pipeline, &jobs, "g/a");
        let Change::Run(first) = &changes[0] else { panic!("{changes:?}") };
        assert_eq!(first.conclusion, Some(Conclusion::Canceled));
    }

    #[test]
    fn statuses_normalise_and_unknown_ones_are_kept() {
        assert_eq!(status(Some("failed")), (RunStatus::Completed, Some(Conclusion::Failed)));
        assert_eq!(status(Some("manual")).0, RunStatus::Manual);
        assert_eq!(status(Some("running")).0, RunStatus::Running);
        assert_eq!(status(Some("brand_new")).0, RunStatus::Other("brand_new".into()));
    }
}
