//! Serde models of the GitHub REST answers the poller reads, small and
//! lenient: every field optional, unknown fields ignored. The run and job
//! objects are the webhook's (`webhook`), so both paths normalise
//! the same way.
//!
//! Shapes: <https://docs.github.com/en/rest/actions/workflow-runs> (list and
//! get runs, run attempts), <https://docs.github.com/en/rest/actions/workflow-jobs>
//! (jobs of an attempt), <https://docs.github.com/en/rest/apps/installations>
//! and <https://docs.github.com/en/rest/repos/repos> (repositories).

use serde::Deserialize;

pub use crate::providers::github::webhook::{WorkflowJobObject, WorkflowRunObject};

/// `GET /repos/{owner}/{repo}/actions/runs`.
#[derive(Debug, Deserialize)]
pub struct RunList {
    /// Runs matching the query, all pages together (the API serves only the
    /// first 1 000 of them).
    #[serde(default)]
    pub total_count: i64,
    #[serde(default)]
    pub workflow_runs: Vec<WorkflowRunObject>,
}

/// `GET /repos/{owner}/{repo}/actions/runs/{id}/attempts/{n}/jobs`.
#[derive(Debug, Deserialize)]
pub struct JobList {
    #[serde(default)]
    pub total_count: i64,
    #[serde(default)]
    pub jobs: Vec<WorkflowJobObject>,
}

/// A repository in a listing.
#[derive(Debug, Deserialize)]
pub struct RepoSummary {
    pub full_name: Option<String>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub disabled: bool,
}

/// `GET /installation/repositories`.
#[derive(Debug, Deserialize)]
pub struct InstallationRepos {
    #[serde(default)]
    pub repositories: Vec<RepoSummary>,
}
