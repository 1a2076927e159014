//! Synthetic GitHub payloads shaped like the real ones (see
//! `tests/fixtures/github`), for cases the bundled examples do not cover.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A time `minutes` minutes before now, whole seconds.
pub fn minutes_ago(minutes: i64) -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).expect("now") - Duration::minutes(minutes)
}

/// One state of a run attempt.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: i64,
    pub attempt: i64,
    pub repo: String,
    pub workflow: String,
    pub branch: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Run {
    pub fn new(id: i64, started_at: DateTime<Utc>) -> Run {
        Run {
            id,
            attempt: 1,
            repo: "octo-org/app".into(),
            workflow: "CI".into(),
            branch: "main".into(),
            status: "queued".into(),
            conclusion: None,
            created_at: started_at,
            started_at,
            updated_at: started_at,
        }
    }

    /// The same run, now `status`/`conclusion`, updated `seconds` after start.
    pub fn at(&self, status: &str, conclusion: Option<&str>, seconds: i64) -> Run {
        Run {
            status: status.into(),
            conclusion: conclusion.map(Into::into),
            updated_at: self.started_at + Duration::seconds(seconds),
            ..self.clone()
        }
    }

    pub fn payload(&self) -> Value {
        let action = match self.status.as_str() {
            "completed" => "completed",
            "in_progress" => "in_progress",
            _ => "requested",
        };
        json!({
            "action": action,
            "workflow_run": {
                "id": self.id,
                "name": self.workflow,
                "head_branch": self.branch,
                "head_sha": format!("{:040x}", self.id),
                "path": ".github/workflows/ci.yml",
                "display_title": "Update README",
                "run_number": self.id % 1000,
                "event": "push",
                "status": self.status,
                "conclusion": self.conclusion,
                "workflow_id": 42,
                "html_url": format!("https://github.com/{}/actions/runs/{}", self.repo, self.id),
                "created_at": iso(self.created_at),
                "updated_at": iso(self.updated_at),
                "run_attempt": self.attempt,
                "run_started_at": iso(self.started_at),
                "actor": {"login": "octocat"},
                "triggering_actor": {"login": "hubot"},
                "pull_requests": []
            },
            "workflow": {"id": 42, "name": self.workflow},
            "repository": {"id": 1, "full_name": self.repo, "name": "app"}
        })
    }
}

/// One state of a job.
pub fn job_payload(
    job_id: i64,
    run: &Run,
    status: &str,
    conclusion: Option<&str>,
    created_at: DateTime<Utc>,
    started_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
) -> Value {
    json!({
        "action": status,
        "workflow_job": {
            "id": job_id,
            "run_id": run.id,
            "run_attempt": run.attempt,
            "run_url": format!("https://api.github.com/repos/{}/actions/runs/{}", run.repo, run.id),
            "name": format!("job-{job_id}"),
            "workflow_name": run.workflow,
            "head_branch": run.branch,
            "head_sha": format!("{:040x}", run.id),
            "status": status,
            "conclusion": conclusion,
            "created_at": iso(created_at),
            "started_at": iso(started_at),
            "completed_at": completed_at.map(iso),
            "runner_name": "runner-1",
            "labels": ["ubuntu-latest"],
            "html_url": format!("https://github.com/{}/actions/runs/{}/job/{job_id}", run.repo, run.id),
            "steps": []
        },
        "repository": {"id": 1, "full_name": run.repo, "name": "app"}
    })
}
