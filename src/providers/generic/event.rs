//! One generic build event: its documented fields, their checks, and the
//! [`Change`] it becomes. The README's *Generic build API* section is this
//! file's table.
//!
//! A `run` event becomes a [`RunAttempt`], a `job` event a [`Job`] of its
//! run's attempt (which it creates if not seen yet, as a GitHub job does).
//! Status words are the domain's ([`RunStatus`]), conclusion words its
//! documented [`Conclusion`]s: unlike a provider's webhook, this vocabulary
//! is ours, so an unknown word is a client's mistake and refused. The
//! attempt's `updated_at` (the merge rules' tie-breaker and the completion
//! time) is `completed_at` once completed, else the latest of `started_at`
//! and `created_at`, so "finished" before "started" converges.

use serde_json::Value;

use super::reader::Reader;
use super::{BuildEvent, FieldError};
use crate::domain::{BranchName, Change, Conclusion, Job, RepoName, RunAttempt, RunStatus};

/// Fields every event may carry.
const COMMON: &[&str] = &[
    "idempotency_key",
    "type",
    "provider",
    "repository",
    "workflow",
    "run_id",
    "attempt",
    "branch",
    "commit",
    "url",
    "status",
    "conclusion",
    "created_at",
    "started_at",
    "completed_at",
    "runner_labels",
];
/// Fields only a `run` event carries.
const RUN_ONLY: &[&str] = &["number", "event", "actor"];
/// Fields only a `job` event carries.
const JOB_ONLY: &[&str] = &["job_id", "name", "runner_name"];

/// The status words accepted (the domain's documented ones).
const STATUSES: &[&str] = &["requested", "queued", "pending", "waiting", "in_progress", "completed"];
/// The conclusion words accepted with `status: completed`.
const CONCLUSIONS: &[&str] = &[
    "success",
    "failure",
    "timed_out",
    "startup_failure",
    "cancelled",
    "skipped",
    "neutral",
    "action_required",
    "stale",
];

/// Checks event `index` and turns it into a [`BuildEvent`].
///
/// Errors: every invalid field, each named `events[INDEX].FIELD`.
pub fn parse_event(index: usize, raw: Value) -> Result<BuildEvent, Vec<FieldError>> {
    let Some(object) = raw.as_object() else {
        return Err(vec![FieldError {
            field: format!("events[{index}]"),
            message: "must be an object".into(),
        }]);
    };
    if object.get("type").and_then(Value::as_str) == Some("deployment") {
        return super::deployment_event::parse_deployment(index, object, &raw);
    }
    let mut r = Reader { index, object, errors: Vec::new() };
    let kind = match r.present("type").and_then(Value::as_str) {
        Some("run") => Some("run"),
        Some("job") => Some("job"),
        _ => {
            r.fail("type", "must be \"run\", \"job\" or \"deployment\"");
            None
        }
    };
    // Unknown fields (typos such as `finished_at`) and fields of the other type.
    for key in object.keys() {
        let allowed = COMMON.contains(&key.as_str())
            || (kind != Some("job") && RUN_ONLY.contains(&key.as_str()))
            || (kind != Some("run") && JOB_ONLY.contains(&key.as_str()));
        if !allowed {
            let message = if RUN_ONLY.contains(&key.as_str()) {
                "only a run event carries it".to_owned()
            } else if JOB_ONLY.contains(&key.as_str()) {
                "only a job event carries it".to_owned()
            } else {
                format!(
                    "unknown field; known fields: {}, {}, {}",
                    COMMON.join(", "),
                    RUN_ONLY.join(", "),
                    JOB_ONLY.join(", ")
                )
            };
            r.fail(key, message);
        }
    }
    let key = super::envelope::key(&mut r);
    let provider = super::envelope::provider(&mut r);
    let repo = r.required("repository", "repository");
    let workflow = r.text("workflow", "workflow");
    let run_id = r.id("run_id", "run id");
    let attempt = r.integer("attempt", 1).unwrap_or(1);
    let branch = r.text("branch", "branch").map(BranchName::from);
    let commit = r.text("commit", "commit");
    let url = r.url();
    let status = r.word("status", STATUSES).map(|s| RunStatus::parse(&s));
    let conclusion = match r.present("conclusion") {
        Some(_) => r.word("conclusion", CONCLUSIONS).map(|c| Conclusion::parse(&c)),
        None => None,
    };
    let created_at = r.timestamp("created_at");
    let started_at = r.timestamp("started_at");
    let completed_at = r.timestamp("completed_at");
    let labels = r.labels();
    match (&status, conclusion.is_some()) {
        (Some(RunStatus::Completed), false) => r.fail("conclusion", "is required when status is completed"),
        (Some(s), true) if !s.is_completed() => {
            r.fail("conclusion", "is allowed only when status is completed")
        }
        _ => {}
    }
    if status == Some(RunStatus::Completed) && completed_at.is_none() && r.present("completed_at").is_none() {
        r.fail("completed_at", "is required when status is completed");
    }
    if status == Some(RunStatus::InProgress) && started_at.is_none() && r.present("started_at").is_none() {
        r.fail("started_at", "is required when status is in_progress");
    }
    if completed_at.is_some() && status.as_ref().is_some_and(|s| !s.is_completed()) {
        r.fail("completed_at", "is allowed only when status is completed");
    }
    let change = match kind {
        Some("job") => {
            let job_id = r.id("job_id", "job id");
            let name = r.text("name", "job name");
            let runner_name = r.text("runner_name", "runner");
            match (&provider, &repo, &run_id, &status, job_id) {
                (Some(provider), Some(repo), Some(run_id), Some(status), Some(job_id)) => {
                    Some(Change::Job(Job {
                        provider: *provider,
                        repo: RepoName::from(repo.as_str()),
                        run_id: run_id.clone(),
                        run_attempt: attempt,
                        job_id,
                        name,
                        workflow,
                        branch,
                        commit_sha: commit,
                        provider_status: status.clone(),
                        conclusion,
                        runner_name,
                        labels,
                        url,
                        created_at,
                        started_at,
                        completed_at,
                        stage: None,
                        failure_reason: None,
                        allow_failure: None,
                        queued_duration_ms: None,
                        steps: Vec::new(),
                        runner_group: None,
                    }))
                }
                _ => None,
            }
        }
        Some(_) => {
            let number = r.integer("number", 0);
            let event = r.text("event", "event");
            let actor = r.text("actor", "actor");
            if !labels.is_empty() {
                r.fail("runner_labels", "only a job event carries runner labels");
            }
            let updated_at = if status.as_ref().is_some_and(RunStatus::is_completed) {
                completed_at
            } else {
                started_at.max(created_at)
            };
            match (&provider, &repo, &run_id, &status) {
                (Some(provider), Some(repo), Some(run_id), Some(status)) => Some(Change::Run(RunAttempt {
                    provider: *provider,
                    repo: RepoName::from(repo.as_str()),
                    run_id: run_id.clone(),
                    run_attempt: attempt,
                    workflow,
                    workflow_id: None,
                    run_number: number,
                    event,
                    branch,
                    commit_sha: commit,
                    triggered_by: actor,
                    url,
                    provider_status: status.clone(),
                    conclusion,
                    created_at,
                    started_at,
                    updated_at,
                    first_job_started_at: None,
                })),
                _ => None,
            }
        }
        None => None,
    };
    match (r.errors.is_empty(), change, provider, key, kind) {
        (true, Some(change), Some(provider), Some(key), Some(kind)) => {
            Ok(BuildEvent { provider, key, kind, raw, change })
        }
        _ => Err(r.errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProviderKind;
    use crate::domain::time::parse_timestamp;
    use serde_json::json;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_completed_run_finishes_at_its_completed_at() {
        let event = parse_event(
            0,
            json!({"idempotency_key": "k", "type": "run", "provider": "buildkite", "repository": "acme/app",
                   "workflow": "deploy", "run_id": "42", "attempt": 2, "number": 42, "status": "completed",
                   "conclusion": "failure", "started_at": "2026-12-01T10:00:00Z",
                   "completed_at": "2026-12-01T10:05:30+01:00", "actor": "ada"}),
        )
        .expect("valid");
        let Change::Run(run) = event.change else { panic!("a run") };
        assert_eq!((event.provider, event.kind, run.run_attempt), (ProviderKind::Buildkite, "run", 2));
        // 10:05:30+01:00 is 09:05:30Z: before the start, so the duration clamps to 0.
        assert_eq!(run.finished_at(), Some(parse_timestamp("2026-12-01T09:05:30Z").expect("ts")));
        assert_eq!(run.duration_seconds(), Some(0));
        assert_eq!(run.triggered_by.as_deref(), Some("ada"));
    }

    #[test]
    fn a_job_keeps_its_runner_and_labels() {
        let event = parse_event(
            3,
            json!({"idempotency_key": "j", "type": "job", "provider": "other", "repository": "acme/app",
                   "run_id": 9, "job_id": 77, "name": "test", "status": "in_progress",
                   "started_at": "2026-12-01T10:00:00Z", "runner_name": "agent-1",
                   "runner_labels": ["linux", "x64"]}),
        )
        .expect("valid");
        let Change::Job(job) = event.change else { panic!("a job") };
        assert_eq!((job.run_id.as_str(), job.job_id.as_str(), job.run_attempt), ("9", "77", 1));
        assert_eq!(job.labels, ["linux", "x64"]);
        assert!(job.has_started());
    }

    #[test]
    fn status_conclusion_and_time_rules_are_enforced() {
        let base = json!({"idempotency_key": "k", "type": "run", "provider": "jenkins",
                          "repository": "acme/app", "run_id": "1"});
        let with = |extra: Value| {
            let mut event = base.clone();
            for (k, v) in extra.as_object().expect("object") {
                event[k] = v.clone();
            }
            parse_event(5, event).expect_err("invalid")
        };
        let errors = with(json!({"status": "completed"}));
        assert_eq!(fields(&errors), ["events[5].conclusion", "events[5].completed_at"]);
        let errors = with(json!({"status": "queued", "conclusion": "success"}));
        assert_eq!(fields(&errors), ["events[5].conclusion"]);
        let errors = with(json!({"status": "in_progress"}));
        assert_eq!(fields(&errors), ["events[5].started_at"]);
        let errors = with(json!({"status": "queued", "finished_at": "2026-12-01T10:00:00Z", "job_id": 3}));
        assert_eq!(fields(&errors), ["events[5].finished_at", "events[5].job_id"]);
        let errors = with(json!({"status": "queued", "provider": "github", "url": "javascript:alert(1)"}));
        assert_eq!(fields(&errors), ["events[5].provider", "events[5].url"]);
        assert!(errors[0].message.contains("jenkins") && errors[0].message.contains("other"));
    }
}
