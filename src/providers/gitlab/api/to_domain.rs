//! GitLab REST objects → domain changes: a pipeline and its jobs (retried
//! ones included) become run attempts and jobs. Pure.
//!
//! **Retries are attempts.** GitLab keeps one pipeline id across retries
//! and gives each retried job a new id, leaving the old job in place (the
//! jobs API lists it with `include_retried=true`). So a job's *try number*
//! is its rank among the pipeline's jobs of the same name, by id (ids
//! grow); the pipeline's run attempt `k` holds the jobs whose try number is
//! `k`, and the pipeline has as many attempts as its most-tried job.
//! "Failed, then passed on retry" is then attempt 1 `failed`, attempt 2
//! `success`, as for a GitHub re-run.
//!
//! - The latest attempt carries the pipeline's own status; an earlier one is
//!   completed, with the conclusion its jobs give ([`attempt_conclusion`]).
//! - Attempt 1 starts at the pipeline's `started_at`; a later attempt at its
//!   earliest job start. An earlier attempt's `updated_at` is its latest job
//!   finish; the latest attempt's is the pipeline's `updated_at`.
//!
//! Statuses ([`status`]): `created`, `pending` → `queued`;
//! `waiting_for_resource`, `preparing`, `scheduled`, `manual` → `waiting`;
//! `running` → `in_progress`; `success`, `failed`, `canceled`, `skipped` →
//! `completed` with `success`, `failure`, `cancelled`, `skipped`; anything
//! else is kept verbatim (normalised `unknown`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::models::{Job as ApiJob, Pipeline};
use crate::domain::time::parse_timestamp;
use crate::domain::{BranchName, Change, Conclusion, Job, ProviderKind, RepoName, RunAttempt, RunStatus};

/// A GitLab status as the domain's raw status and conclusion.
pub fn status(text: Option<&str>) -> (RunStatus, Option<Conclusion>) {
    let completed = |c: &str| (RunStatus::Completed, Some(Conclusion::parse(c)));
    match text.unwrap_or("created") {
        "created" | "pending" => (RunStatus::Queued, None),
        "waiting_for_resource" | "preparing" | "scheduled" | "manual" => (RunStatus::Waiting, None),
        "running" => (RunStatus::InProgress, None),
        "success" => completed("success"),
        "failed" => completed("failure"),
        "canceled" | "canceling" => completed("cancelled"),
        "skipped" => completed("skipped"),
        other => (RunStatus::Other(other.to_owned()), None),
    }
}

fn time(text: &Option<String>) -> Option<DateTime<Utc>> {
    text.as_deref().and_then(|t| parse_timestamp(t).ok())
}

/// The try number of each job id: its rank among same-named jobs by id.
pub fn try_numbers(jobs: &[ApiJob]) -> HashMap<i64, i64> {
    let mut by_name: HashMap<&str, Vec<i64>> = HashMap::new();
    for job in jobs {
        by_name.entry(job.name.as_deref().unwrap_or("")).or_default().push(job.id);
    }
    let mut tries = HashMap::new();
    for ids in by_name.values_mut() {
        ids.sort_unstable();
        ids.dedup();
        for (index, id) in ids.iter().enumerate() {
            tries.insert(*id, index as i64 + 1);
        }
    }
    tries
}

/// An earlier attempt's conclusion from its jobs: `failure` when a job that
/// may not fail failed, else `cancelled` when one was cancelled, else
/// `success`. Jobs with `allow_failure` never fail their attempt.
pub fn attempt_conclusion(jobs: &[&Job], allowed: &HashMap<String, bool>) -> Conclusion {
    let may_fail = |job: &&&Job| allowed.get(&job.job_id).copied().unwrap_or(false);
    if jobs.iter().filter(|j| !may_fail(j)).any(|j| j.conclusion == Some(Conclusion::Failure)) {
        Conclusion::Failure
    } else if jobs.iter().any(|j| j.conclusion == Some(Conclusion::Cancelled)) {
        Conclusion::Cancelled
    } else {
        Conclusion::Success
    }
}

fn job(api: &ApiJob, pipeline: &Pipeline, repo: &RepoName, attempt: i64) -> Job {
    let (provider_status, conclusion) = status(api.status.as_deref());
    Job {
        provider: ProviderKind::GitLab,
        repo: repo.clone(),
        run_id: pipeline.id.to_string(),
        run_attempt: attempt,
        job_id: api.id.to_string(),
        name: api.name.clone(),
        workflow: pipeline.name.clone(),
        branch: api.git_ref.clone().or_else(|| pipeline.git_ref.clone()).map(BranchName::from),
        commit_sha: api.commit.as_ref().and_then(|c| c.id.clone()).or_else(|| pipeline.sha.clone()),
        provider_status,
        conclusion,
        runner_name: api.runner.as_ref().and_then(|r| r.description.clone()),
        labels: api.tag_list.clone(),
        url: api.web_url.clone(),
        created_at: time(&api.created_at),
        started_at: time(&api.started_at),
        completed_at: time(&api.finished_at),
    }
}

/// The pipeline's attempts and jobs as changes (attempt 1 first, each
/// attempt before its jobs), for the project at `repo`.
pub fn pipeline_changes(pipeline: &Pipeline, jobs: &[ApiJob], repo: &str) -> Vec<Change> {
    let repo = RepoName::from(repo);
    let tries = try_numbers(jobs);
    let attempts = tries.values().copied().max().unwrap_or(1);
    let allowed: HashMap<String, bool> = jobs.iter().map(|j| (j.id.to_string(), j.allow_failure)).collect();
    let mut mapped: Vec<Job> = jobs.iter().map(|j| job(j, pipeline, &repo, tries[&j.id])).collect();
    mapped.sort_by_key(|j| (j.run_attempt, j.job_id.parse::<i64>().unwrap_or(0)));
    mapped.dedup_by(|a, b| a.job_id == b.job_id);
    let (latest_status, latest_conclusion) = status(pipeline.status.as_deref());
    let mut changes = Vec::new();
    for number in 1..=attempts {
        let own: Vec<&Job> = mapped.iter().filter(|j| j.run_attempt == number).collect();
        let first_job_started_at = own.iter().filter(|j| j.has_started()).filter_map(|j| j.started_at).min();
        let latest = number == attempts;
        let (provider_status, conclusion, updated_at) = if latest {
            (latest_status.clone(), latest_conclusion.clone(), time(&pipeline.updated_at))
        } else {
            let finished = own.iter().filter_map(|j| j.completed_at).max();
            (RunStatus::Completed, Some(attempt_conclusion(&own, &allowed)), finished)
        };
        let started_at = if number == 1 {
            time(&pipeline.started_at).or(first_job_started_at)
        } else {
            first_job_started_at
        };
        changes.push(Change::Run(RunAttempt {
            provider: ProviderKind::GitLab,
            repo: repo.clone(),
            run_id: pipeline.id.to_string(),
            run_attempt: number,
            workflow: pipeline.name.clone(),
            workflow_id: None,
            run_number: pipeline.iid,
            event: pipeline.source.clone(),
            branch: pipeline.git_ref.clone().map(BranchName::from),
            commit_sha: pipeline.sha.clone(),
            triggered_by: pipeline.user.as_ref().and_then(|u| u.username.clone()),
            url: pipeline.web_url.clone(),
            provider_status,
            conclusion,
            created_at: time(&pipeline.created_at),
            started_at,
            updated_at,
            first_job_started_at,
        }));
        changes.extend(own.into_iter().cloned().map(Change::Job));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::gitlab::api::models::JobPipeline;

    fn api_job(id: i64, name: &str, status: &str, started: &str, finished: &str) -> ApiJob {
        ApiJob {
            id,
            name: Some(name.into()),
            status: Some(status.into()),
            started_at: Some(started.into()),
            finished_at: Some(finished.into()),
            pipeline: Some(JobPipeline { id: Some(9) }),
            ..ApiJob::default()
        }
    }

    fn runs(changes: &[Change]) -> Vec<&RunAttempt> {
        changes.iter().filter_map(|c| if let Change::Run(r) = c { Some(r) } else { None }).collect()
    }

    #[test]
    fn a_retried_job_makes_the_next_attempt_and_the_first_keeps_its_failure() {
        let pipeline = Pipeline {
            id: 9,
            status: Some("success".into()),
            started_at: Some("2026-01-01T10:00:00Z".into()),
            updated_at: Some("2026-01-01T10:20:00Z".into()),
            ..Pipeline::default()
        };
        // build (100) passed; test failed (101) and was retried as 102, which passed.
        let jobs = vec![
            api_job(102, "test", "success", "2026-01-01T10:15:00Z", "2026-01-01T10:19:00Z"),
            api_job(101, "test", "failed", "2026-01-01T10:05:00Z", "2026-01-01T10:08:00Z"),
            api_job(100, "build", "success", "2026-01-01T10:01:00Z", "2026-01-01T10:04:00Z"),
        ];
        let changes = pipeline_changes(&pipeline, &jobs, "group/app");
        let attempts = runs(&changes);
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0].run_attempt, 1);
        assert_eq!(attempts[0].conclusion, Some(Conclusion::Failure));
        assert_eq!(attempts[0].started_at, time(&Some("2026-01-01T10:00:00Z".into())));
        assert_eq!(
            attempts[0].updated_at,
            time(&Some("2026-01-01T10:08:00Z".into())),
            "its last job's finish"
        );
        assert_eq!(attempts[1].conclusion, Some(Conclusion::Success));
        assert_eq!(attempts[1].started_at, time(&Some("2026-01-01T10:15:00Z".into())), "the retry's start");
        let job_attempts: Vec<(String, i64)> = changes
            .iter()
            .filter_map(
                |c| if let Change::Job(j) = c { Some((j.job_id.clone(), j.run_attempt)) } else { None },
            )
            .collect();
        assert_eq!(job_attempts, vec![("100".into(), 1), ("101".into(), 1), ("102".into(), 2)]);
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
        let attempts = pipeline_changes(&pipeline, &jobs, "g/a");
        assert_eq!(runs(&attempts)[0].conclusion, Some(Conclusion::Cancelled));
    }

    #[test]
    fn statuses_normalise_and_unknown_ones_are_kept() {
        assert_eq!(status(Some("failed")), (RunStatus::Completed, Some(Conclusion::Failure)));
        assert_eq!(status(Some("manual")).0, RunStatus::Waiting);
        assert_eq!(status(Some("running")).0, RunStatus::InProgress);
        assert_eq!(status(Some("brand_new")).0, RunStatus::Other("brand_new".into()));
    }
}
