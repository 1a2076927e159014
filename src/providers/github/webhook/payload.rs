//! Serde models of the parts of GitHub's payloads this dashboard reads.
//! Lenient on purpose: every field is optional (older deliveries and REST
//! answers from 2021 lack `run_attempt`, `run_started_at`, job `created_at`, …)
//! and statuses are plain strings so new values are kept, not rejected.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct WorkflowRunEvent {
    pub action: Option<String>,
    pub workflow_run: Option<WorkflowRunObject>,
    pub workflow: Option<Named>,
    pub repository: Option<Repository>,
    /// Who caused the delivery: the actor when the run names none.
    pub sender: Option<Login>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WorkflowJobEvent {
    pub action: Option<String>,
    pub workflow_job: Option<WorkflowJobObject>,
    pub repository: Option<Repository>,
}

/// A `workflow_run` object, as in webhooks and `GET /repos/{o}/{r}/actions/runs`.
#[derive(Debug, Deserialize)]
pub struct WorkflowRunObject {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub workflow_id: Option<i64>,
    pub run_number: Option<i64>,
    pub run_attempt: Option<i64>,
    pub event: Option<String>,
    pub head_branch: Option<String>,
    pub head_sha: Option<String>,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub run_started_at: Option<String>,
    pub actor: Option<Login>,
    pub triggering_actor: Option<Login>,
    pub repository: Option<Repository>,
    /// The head commit: its `id` is the SHA when `head_sha` is missing.
    pub head_commit: Option<Commit>,
}

#[derive(Debug, Deserialize)]
pub struct Commit {
    pub id: Option<String>,
}

/// A `workflow_job` object, as in webhooks and `GET …/runs/{id}/jobs`.
#[derive(Debug, Deserialize)]
pub struct WorkflowJobObject {
    pub id: Option<i64>,
    pub run_id: Option<i64>,
    pub run_attempt: Option<i64>,
    pub run_url: Option<String>,
    pub name: Option<String>,
    pub workflow_name: Option<String>,
    pub head_branch: Option<String>,
    pub head_sha: Option<String>,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub runner_name: Option<String>,
    pub runner_group_name: Option<String>,
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// The job's steps (`workflow_job.steps`, and the jobs API's).
    #[serde(default)]
    pub steps: Option<Vec<StepObject>>,
}

/// One entry of a job's `steps`.
#[derive(Debug, Deserialize)]
pub struct StepObject {
    pub number: Option<i64>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Repository {
    pub full_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Login {
    pub login: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Named {
    pub name: Option<String>,
}
