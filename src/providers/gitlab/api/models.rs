//! Serde models of the GitLab REST answers the poller reads, small and
//! lenient: every field optional, unknown fields ignored, timestamps kept
//! as text until `to_domain` parses them.
//!
//! Shapes: <https://docs.gitlab.com/ee/api/pipelines.html> (list and get
//! pipelines), <https://docs.gitlab.com/ee/api/jobs.html#list-pipeline-jobs>
//! (jobs, with `include_retried=true`), <https://docs.gitlab.com/ee/api/projects.html#get-a-single-project>
//! and <https://docs.gitlab.com/ee/api/groups.html#list-a-groups-projects>.

use serde::Deserialize;

/// A user as pipelines and jobs name them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct User {
    pub username: Option<String>,
}

/// A pipeline: the list answers the short form, `GET …/pipelines/:id` adds
/// `user`, `started_at`, `finished_at` and durations.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Pipeline {
    pub id: i64,
    pub iid: Option<i64>,
    pub project_id: Option<i64>,
    pub status: Option<String>,
    pub source: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    pub name: Option<String>,
    pub web_url: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub user: Option<User>,
}

/// The runner that picked a job up.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Runner {
    pub id: Option<i64>,
    pub description: Option<String>,
}

/// The job's commit.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Commit {
    pub id: Option<String>,
}

/// The pipeline a job belongs to.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct JobPipeline {
    pub id: Option<i64>,
}

/// A job of a pipeline (retried ones included when asked).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Job {
    pub id: i64,
    pub name: Option<String>,
    pub stage: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub allow_failure: bool,
    pub failure_reason: Option<String>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub queued_duration: Option<f64>,
    #[serde(default)]
    pub tag_list: Vec<String>,
    pub runner: Option<Runner>,
    pub web_url: Option<String>,
    pub pipeline: Option<JobPipeline>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub commit: Option<Commit>,
    pub user: Option<User>,
    /// Set by GitLab versions that expose it: the job was retried (a newer
    /// job of the same name replaced it).
    pub retried: Option<bool>,
}

/// A project (`GET /projects/:id`, a group's project listing).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Project {
    pub id: i64,
    pub path_with_namespace: Option<String>,
    #[serde(default)]
    pub archived: bool,
    pub web_url: Option<String>,
}
