//! The provider seam's output: one normalised change a delivery or a poll
//! carries (a run attempt's or a job's new state). Providers make these;
//! the write path applies them with the merge rules. Pure.

use super::{BranchName, Conclusion, Job, RunAttempt};

/// One normalised change carried by a delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A run attempt's new state (`workflow_run`).
    Run(RunAttempt),
    /// A job's new state (`workflow_job`); its run attempt is created from it
    /// if not seen yet.
    Job(Job),
}

impl Change {
    /// Refuses a change whose text holds a NUL character (no provider sends
    /// one, and PostgreSQL cannot store it) or is longer than its field's
    /// limit ([`super::limits`]), alike on both back ends.
    pub fn check_text(&self) -> Result<(), InvalidText> {
        let texts: Vec<(&str, Option<&str>)> = match self {
            Change::Run(run) => vec![
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
            ],
            Change::Job(job) => {
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
                ];
                texts.extend(job.labels.iter().map(|label| ("label", Some(label.as_str()))));
                texts
            }
        };
        super::limits::check_all(texts).map_err(InvalidText)
    }
}

/// A change whose text the database cannot store (a NUL character, or
/// over its field's limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidText(pub String);
