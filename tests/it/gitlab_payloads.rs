//! GitLab webhook deliveries for tests: posting one as GitLab does
//! (`X-Gitlab-Event`, `X-Gitlab-Token`, `Idempotency-Key`), and small
//! Pipeline Hook / Job Hook bodies built around one pipeline.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{GITLAB_SECRET, TestApp};

/// GitLab's webhook timestamp form, `2016-08-12 15:23:28 UTC`.
pub fn hook_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Posts `body` to `/api/webhook/gitlab` as GitLab does, with `token` as
/// `X-Gitlab-Token` (none: no header) and `key` as `Idempotency-Key`.
pub async fn post(
    app: &TestApp,
    event: &str,
    key: &str,
    token: Option<&str>,
    body: &[u8],
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/webhook/gitlab"))
        .header("content-type", "application/json")
        .header("x-gitlab-event", event)
        .header("idempotency-key", key)
        .body(body.to_vec());
    if let Some(token) = token {
        request = request.header("x-gitlab-token", token);
    }
    request.send().await.expect("request sent")
}

/// Posts with the right token and a fresh key; asserts 202 and `outcome`.
pub async fn deliver(app: &TestApp, event: &str, body: &Value, outcome: &str) {
    let key = uuid::Uuid::new_v4().to_string();
    let response =
        post(app, event, &key, Some(GITLAB_SECRET), &serde_json::to_vec(body).expect("json")).await;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.expect("json answer");
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["outcome"], outcome, "{answer}");
}

/// One job as it appears in a Pipeline Hook's `builds` and in its own Job Hook.
#[derive(Debug, Clone)]
pub struct HookJob {
    pub id: i64,
    pub name: &'static str,
    pub status: &'static str,
    pub created: DateTime<Utc>,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub retries_count: i64,
    pub allow_failure: bool,
}

impl HookJob {
    fn build(&self) -> Value {
        json!({
            "id": self.id, "stage": "test", "name": self.name, "status": self.status,
            "created_at": hook_time(self.created),
            "started_at": self.started.map(hook_time),
            "finished_at": self.finished.map(hook_time),
            "queued_duration": 1.5,
            "failure_reason": if self.status == "failed" { Value::from("script_failure") } else { Value::Null },
            "allow_failure": self.allow_failure,
            "runner": {"id": 1, "description": "runner-1", "tags": ["linux"]}
        })
    }
}

/// A pipeline of project `project` (`created` is its creation time).
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub id: i64,
    pub project: &'static str,
    pub created: DateTime<Utc>,
}

impl Pipeline {
    /// A Pipeline Hook: `status`, finished at `finished`, listing `jobs`.
    pub fn hook(&self, status: &str, finished: Option<DateTime<Utc>>, jobs: &[&HookJob]) -> Value {
        json!({
            "object_kind": "pipeline",
            "object_attributes": {
                "id": self.id, "iid": 7, "name": "Pipeline for branch: main", "ref": "main",
                "sha": "0123456789abcdef0123456789abcdef01234567", "source": "push", "status": status,
                "created_at": hook_time(self.created), "finished_at": finished.map(hook_time),
                "url": format!("https://gitlab.example.com/{}/-/pipelines/{}", self.project, self.id)
            },
            "user": {"id": 1, "name": "Dev", "username": "dev"},
            "project": {"id": 1, "path_with_namespace": self.project, "web_url": format!("https://gitlab.example.com/{}", self.project)},
            "builds": jobs.iter().map(|job| job.build()).collect::<Vec<_>>()
        })
    }

    /// A Job Hook for `job` of this pipeline.
    pub fn job_hook(&self, job: &HookJob) -> Value {
        json!({
            "object_kind": "build", "ref": "main", "sha": "0123456789abcdef0123456789abcdef01234567",
            "build_id": job.id, "build_name": job.name, "build_stage": "test", "build_status": job.status,
            "build_created_at": hook_time(job.created),
            "build_started_at": job.started.map(hook_time),
            "build_finished_at": job.finished.map(hook_time),
            "build_queued_duration": 1.5, "build_allow_failure": job.allow_failure,
            "build_failure_reason": if job.status == "failed" { "script_failure" } else { "unknown_failure" },
            "retries_count": job.retries_count, "pipeline_id": self.id,
            "project": {"id": 1, "path_with_namespace": self.project, "web_url": format!("https://gitlab.example.com/{}", self.project)},
            "commit": {"id": self.id, "name": "Pipeline for branch: main"},
            "runner": {"id": 1, "description": "runner-1", "tags": ["linux"]}
        })
    }
}

/// The builds (attempts) of GitLab run `run_id`, lowest attempt first.
pub async fn attempts_of(app: &TestApp, run_id: i64) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/builds?provider=gitlab&run={run_id}&limit=100")).await;
    assert_eq!(status, 200, "{body}");
    let mut builds = body["builds"].as_array().expect("builds").clone();
    builds.sort_by_key(|b| b["run_attempt"].as_i64());
    builds
}
