//! Ingestion: turns provider deliveries into domain changes and hands them to
//! the store in one transaction with the delivery record.
//!
//! The provider seam is [`Change`]: each provider module (today `github`,
//! later GitLab, …) parses its own payloads into [`Change`]s of domain types;
//! everything after that (dedupe, ordering rules, storage) is shared. This
//! module owns payload parsing and signature checks; it must not touch SQL or
//! HTTP response shapes.

pub mod github;
pub mod service;
pub mod signature;

use crate::domain::{Job, RunAttempt};

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
    /// limit (`domain::limits`), alike on both back ends.
    pub fn check_text(&self) -> Result<(), PayloadError> {
        let texts: Vec<(&str, Option<&str>)> = match self {
            Change::Run(run) => vec![
                ("repository", Some(run.repo.as_str())),
                ("run id", Some(run.run_id.as_str())),
                ("workflow", run.workflow.as_deref()),
                ("event", run.event.as_deref()),
                ("branch", run.branch.as_deref()),
                ("commit", run.commit_sha.as_deref()),
                ("actor", run.triggered_by.as_deref()),
                ("url", run.url.as_deref()),
                ("status", Some(run.provider_status.as_str())),
                ("conclusion", run.conclusion.as_deref()),
            ],
            Change::Job(job) => {
                let mut texts = vec![
                    ("repository", Some(job.repo.as_str())),
                    ("run id", Some(job.run_id.as_str())),
                    ("job id", Some(job.job_id.as_str())),
                    ("job name", job.name.as_deref()),
                    ("workflow", job.workflow.as_deref()),
                    ("branch", job.branch.as_deref()),
                    ("commit", job.commit_sha.as_deref()),
                    ("status", Some(job.provider_status.as_str())),
                    ("conclusion", job.conclusion.as_deref()),
                    ("runner", job.runner_name.as_deref()),
                    ("url", job.url.as_deref()),
                ];
                texts.extend(job.labels.iter().map(|label| ("label", Some(label.as_str()))));
                texts
            }
        };
        crate::domain::limits::check_all(texts).map_err(PayloadError)
    }
}

/// What a delivery turned out to be after parsing.
#[derive(Debug, Clone, PartialEq)]
#[expect(clippy::large_enum_variant, reason = "one short-lived value per delivery; boxing buys nothing")]
pub enum Parsed {
    /// `ping`: answered 200, nothing stored.
    Ping,
    /// A CI event that changes stored state.
    Change { action: Option<String>, change: Change },
    /// An event this dashboard does not use: only the delivery is recorded.
    Ignored { action: Option<String> },
}

/// A payload that cannot be used: malformed JSON, or an event without the
/// object it needs. Answered 400; the message says which part is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);
