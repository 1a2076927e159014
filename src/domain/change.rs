//! The provider seam's output: one normalised change a delivery or a poll
//! carries (a run attempt's or a job's new state). Providers make these;
//! the write path applies them with the merge rules. Pure.

use super::{BranchName, Conclusion, Job, RunAttempt, TriedRun};

/// One normalised change carried by a delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A run attempt's new state (`workflow_run`).
    Run(RunAttempt),
    /// A job's new state (`workflow_job`); its run attempt is created from it
    /// if not seen yet.
    Job(Job),
    /// A run's state and/or jobs whose attempt numbers the store completes
    /// from the run's stored jobs ([`super::tries`]): GitLab pipelines and
    /// jobs, where a retry is a new job in the same run.
    Tries(TriedRun),
    /// A deployment's new state (merged by `deployment::merge_deployment`),
    /// with the commits it carries when its source lists them (a generic
    /// `deployment` event's `commits`).
    Deployment(super::deployment::Deployment, Option<super::deployment::PushedCommits>),
    /// The commits a push brought to a ref (for lead time).
    Commits(super::deployment::PushedCommits),
    /// An incident's new state (merged by `deployment::merge_incident`):
    /// a GitHub issue carrying the incident label.
    Incident(super::deployment::Incident),
}

impl Change {
    /// Refuses a change whose text holds a NUL character (no provider sends
    /// one, and PostgreSQL cannot store it) or is longer than its field's
    /// limit ([`super::limits`]), alike on both back ends.
    pub fn check_text(&self) -> Result<(), InvalidText> {
        match self {
            Change::Run(run) => super::limits::check_all(run_texts(run)).map_err(InvalidText),
            Change::Job(job) => {
                check_steps(job)?;
                super::limits::check_all(job_texts(job)).map_err(InvalidText)
            }
            // The run and each job on its own: the label limit is per job, so
            // a pipeline of many tagged jobs is not refused for their sum.
            Change::Tries(tried) => {
                let runs = tried.run.iter().map(run_texts);
                for job in &tried.jobs {
                    check_steps(job)?;
                }
                for texts in runs.chain(tried.jobs.iter().map(job_texts)) {
                    super::limits::check_all(texts).map_err(InvalidText)?;
                }
                Ok(())
            }
            Change::Deployment(d, commits) => {
                super::limits::check_all(deployment_texts(d)).map_err(InvalidText)?;
                commits.as_ref().map_or(Ok(()), check_commits)
            }
            Change::Commits(pushed) => check_commits(pushed),
            Change::Incident(incident) => super::limits::check_all(vec![
                ("incident id", Some(incident.incident_id.as_str())),
                ("repository", incident.repo.as_deref()),
                ("environment", incident.environment.as_deref()),
                ("title", incident.title.as_deref()),
                ("url", incident.url.as_deref()),
            ])
            .map_err(InvalidText),
        }
    }
}

fn check_commits(pushed: &super::deployment::PushedCommits) -> Result<(), InvalidText> {
    let mut texts = vec![
        ("repository", Some(pushed.repo.as_str())),
        ("branch", pushed.git_ref.as_deref()),
        ("commit", pushed.before.as_deref()),
        ("commit", Some(pushed.head.as_str())),
    ];
    texts.extend(pushed.commits.iter().map(|c| ("commit", Some(c.sha.as_str()))));
    super::limits::check_all(texts).map_err(InvalidText)
}

fn deployment_texts(d: &super::deployment::Deployment) -> Vec<(&'static str, Option<&str>)> {
    vec![
        ("repository", Some(d.repo.as_str())),
        ("deployment id", Some(d.deployment_id.as_str())),
        ("environment", Some(d.environment.as_str())),
        ("commit", d.sha.as_deref()),
        ("branch", d.git_ref.as_deref()),
        ("job id", d.job_id.as_deref()),
        ("url", d.url.as_deref()),
        ("status", d.status.as_ref().map(|s| s.state.as_str())),
    ]
}

fn run_texts(run: &RunAttempt) -> Vec<(&'static str, Option<&str>)> {
    vec![
        ("repository", Some(run.repo.as_str())),
        ("run id", Some(run.run_id.as_str())),
        ("workflow", run.workflow.as_deref()),
        ("event", run.event.as_deref()),
        ("branch", run.branch.as_ref().map(BranchName::as_str)),
        ("commit", run.commit_sha.as_deref()),
        ("actor", run.triggered_by.as_deref()),
        ("url", run.url.as_deref()),
        ("status", Some(run.provider_status.as_str())),
        ("conclusion", run.conclusion.as_ref().map(Conclusion::as_str)),
    ]
}

fn job_texts(job: &Job) -> Vec<(&'static str, Option<&str>)> {
    let mut texts = vec![
        ("repository", Some(job.repo.as_str())),
        ("run id", Some(job.run_id.as_str())),
        ("job id", Some(job.job_id.as_str())),
        ("job name", job.name.as_deref()),
        ("workflow", job.workflow.as_deref()),
        ("branch", job.branch.as_ref().map(BranchName::as_str)),
        ("commit", job.commit_sha.as_deref()),
        ("status", Some(job.provider_status.as_str())),
        ("conclusion", job.conclusion.as_ref().map(Conclusion::as_str)),
        ("runner", job.runner_name.as_deref()),
        ("runner group", job.runner_group.as_deref()),
        ("url", job.url.as_deref()),
        ("stage", job.stage.as_deref()),
        ("failure reason", job.failure_reason.as_deref()),
    ];
    texts.extend(job.labels.iter().map(|label| ("label", Some(label.as_str()))));
    for step in &job.steps {
        texts.push(("step name", step.name.as_deref()));
        texts.push(("status", Some(step.provider_status.as_str())));
        texts.push(("conclusion", step.conclusion.as_ref().map(Conclusion::as_str)));
    }
    texts
}

/// Refuses a job with more steps than [`super::limits::MAX_STEPS`].
fn check_steps(job: &Job) -> Result<(), InvalidText> {
    if job.steps.len() > super::limits::MAX_STEPS {
        return Err(InvalidText(format!("more than {} steps", super::limits::MAX_STEPS)));
    }
    Ok(())
}

/// A change whose text the database cannot store (a NUL character, or
/// over its field's limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidText(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;
    use crate::domain::limits::MAX_LABELS;

    /// 60 jobs with 2 labels each (120 in all, over the per-job limit of
    /// 100 only if summed) pass; one job with 101 labels does not.
    #[test]
    fn the_label_limit_is_per_job_in_a_tried_run() {
        let job = |id: usize, labels: usize| Job {
            job_id: id.to_string(),
            labels: vec!["docker".to_owned(); labels],
            ..fixtures::job("completed", None, None)
        };
        let many = TriedRun { run: None, jobs: (0..60).map(|i| job(i, 2)).collect() };
        assert_eq!(Change::Tries(many).check_text(), Ok(()));
        let crowded = TriedRun { run: None, jobs: vec![job(1, MAX_LABELS + 1)] };
        assert!(Change::Tries(crowded).check_text().is_err());
    }
}
