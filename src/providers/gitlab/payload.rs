//! GitLab's webhook payloads as lenient serde models: every field older or
//! newer GitLab versions may leave out is optional; unknown fields are
//! ignored. Shapes: <https://docs.gitlab.com/user/project/integrations/webhook_events/>
//! (*Pipeline events*, *Job events*).

use serde::Deserialize;

/// `X-Gitlab-Event: Pipeline Hook`.
#[derive(Debug, Deserialize)]
pub(super) struct PipelineEvent {
    pub object_attributes: Option<PipelineAttributes>,
    pub user: Option<User>,
    pub project: Option<Project>,
    #[serde(default)]
    pub builds: Option<Vec<PipelineBuild>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PipelineAttributes {
    pub id: Option<i64>,
    pub iid: Option<i64>,
    pub name: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    pub source: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    pub finished_at: Option<String>,
    pub url: Option<String>,
}

/// One of a Pipeline Hook's `builds` (its latest jobs).
#[derive(Debug, Deserialize)]
pub(super) struct PipelineBuild {
    pub id: Option<i64>,
    pub stage: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub queued_duration: Option<f64>,
    pub failure_reason: Option<String>,
    pub allow_failure: Option<bool>,
    pub runner: Option<Runner>,
}

/// `X-Gitlab-Event: Job Hook` (`object_kind: build`).
#[derive(Debug, Deserialize)]
pub(super) struct JobEvent {
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    pub build_id: Option<i64>,
    pub build_name: Option<String>,
    pub build_stage: Option<String>,
    pub build_status: Option<String>,
    pub build_created_at: Option<String>,
    pub build_started_at: Option<String>,
    pub build_finished_at: Option<String>,
    pub build_queued_duration: Option<f64>,
    pub build_allow_failure: Option<bool>,
    pub build_failure_reason: Option<String>,
    pub retries_count: Option<i64>,
    pub pipeline_id: Option<i64>,
    pub project: Option<Project>,
    pub repository: Option<Repository>,
    pub commit: Option<JobCommit>,
    pub runner: Option<Runner>,
}

/// A Job Hook's `commit`: the job's pipeline (its `id` is the pipeline's id
/// in every version; `name` is the pipeline's name in newer ones).
#[derive(Debug, Deserialize)]
pub(super) struct JobCommit {
    pub id: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct User {
    pub username: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Project {
    pub path_with_namespace: Option<String>,
    pub web_url: Option<String>,
}

/// A Job Hook's `repository` (older payloads have no `project`).
#[derive(Debug, Deserialize)]
pub(super) struct Repository {
    pub homepage: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Runner {
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
}
