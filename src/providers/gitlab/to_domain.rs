//! GitLab payloads → domain changes (the mapping table is in the README,
//! *GitLab CI mapping*): a pipeline is a run, a job a job; statuses become
//! the domain's status and conclusion ([`status`]); both of GitLab's
//! timestamp forms parse ([`timestamp`]).

use chrono::{DateTime, NaiveDateTime, Utc};

use super::attempts::try_from_retries_count;
use super::payload::{JobEvent, PipelineBuild, PipelineEvent, Project, Runner};
use crate::domain::time::parse_timestamp;
use crate::domain::{BranchName, Conclusion, Job, ProviderKind, RepoName, RunAttempt, RunStatus, TriedRun};
use crate::providers::PayloadError;

/// The workflow name of a pipeline whose hook names none: GitLab runs a
/// project's pipelines from its CI configuration file, `.gitlab-ci.yml`
/// unless the project sets another path (which the hooks do not carry).
pub const DEFAULT_WORKFLOW: &str = ".gitlab-ci.yml";

/// GitLab's status word → the domain's raw status and conclusion. The
/// finished ones (`success`, `failed`, `canceled`, `skipped`) become
/// `completed` with GitLab's word as the conclusion; every other word
/// (`created`, `waiting_for_resource`, `preparing`, `pending`, `running`,
/// `manual`, `scheduled`, or one GitLab adds later) is kept as the status.
pub fn status(text: &str) -> (RunStatus, Option<Conclusion>) {
    match text {
        "success" | "failed" | "canceled" | "skipped" => {
            (RunStatus::Completed, Some(Conclusion::parse(text)))
        }
        other => (RunStatus::parse(other), None),
    }
}

/// Parses both of GitLab's timestamp forms: webhooks' `2016-08-12 15:23:28 UTC`
/// (or with a numeric offset, `2016-08-12 17:23:28 +0200`) and the API's
/// ISO 8601 (`2021-02-23T02:41:37.886Z`, `+01:00` offsets). Whole seconds,
/// UTC.
///
/// Errors: none of these forms (chrono's message).
pub fn timestamp(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    let text = text.trim();
    if let Ok(parsed) = parse_timestamp(text) {
        return Ok(parsed);
    }
    if let Ok(parsed) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z") {
        return Ok(DateTime::from_timestamp(parsed.timestamp(), 0).unwrap_or_default());
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f UTC")?;
    Ok(DateTime::from_timestamp(naive.and_utc().timestamp(), 0).unwrap_or_default())
}

fn time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, PayloadError> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            timestamp(t).map_err(|err| PayloadError(format!("{field} is not a timestamp ({t:?}): {err}")))
        })
        .transpose()
}

fn missing(what: &str) -> PayloadError {
    PayloadError(format!("the payload lacks {what}"))
}

fn text(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// GitLab's queued_duration (seconds with a fraction) in whole milliseconds.
fn millis(seconds: Option<f64>) -> Option<i64> {
    seconds.filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12).map(|s| (s * 1000.0).round() as i64)
}

/// A project's web address without a trailing slash.
fn web_url(project: Option<&Project>) -> Option<String> {
    project.and_then(|p| p.web_url.as_deref()).map(|u| u.trim_end_matches('/').to_owned())
}

/// The path of a project address (`https://gitlab.com/group/app` →
/// `group/app`), for older Job Hooks that carry no `project`.
fn path_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let path = parsed.path().trim_matches('/');
    (!path.is_empty()).then(|| path.trim_end_matches(".git").to_owned())
}

fn runner_fields(runner: Option<Runner>) -> (Option<String>, Vec<String>) {
    match runner {
        Some(runner) => (text(runner.description), runner.tags.unwrap_or_default()),
        None => (None, Vec::new()),
    }
}

/// GitLab's ordering key for a pipeline's state (the domain's
/// `updated_at`, see `domain::merge`), from what webhooks and the API both
/// carry: a finished pipeline's `finished_at` (also its finish time); an
/// unfinished one's `created_at`, so that among equal ranks a state from a
/// pipeline delivery beats what a job implies (which has none).
pub fn ordering_key(
    status: &RunStatus,
    created_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if status.is_completed() { finished_at } else { created_at }
}

/// Pipeline Hook → the pipeline's state and its latest jobs.
pub(super) fn from_pipeline_event(event: PipelineEvent) -> Result<TriedRun, PayloadError> {
    let attrs = event.object_attributes.ok_or_else(|| missing("object_attributes"))?;
    let id = attrs.id.ok_or_else(|| missing("object_attributes.id"))?;
    let repo = event
        .project
        .as_ref()
        .and_then(|p| text(p.path_with_namespace.clone()))
        .ok_or_else(|| missing("project.path_with_namespace"))?;
    let raw_status = text(attrs.status).ok_or_else(|| missing("object_attributes.status"))?;
    let (provider_status, conclusion) = status(&raw_status);
    let web = web_url(event.project.as_ref());
    let workflow = text(attrs.name).unwrap_or_else(|| DEFAULT_WORKFLOW.to_owned());
    let branch = text(attrs.git_ref).map(BranchName::from);
    let sha = text(attrs.sha);
    let finished_at = time("object_attributes.finished_at", attrs.finished_at.as_deref())?;
    let created_at = time("object_attributes.created_at", attrs.created_at.as_deref())?;
    let run = RunAttempt {
        provider: ProviderKind::GitLab,
        repo: RepoName::from(repo.clone()),
        run_id: id.to_string(),
        run_attempt: 1,
        workflow: Some(workflow.clone()),
        workflow_id: None,
        run_number: attrs.iid,
        event: text(attrs.source),
        branch: branch.clone(),
        commit_sha: sha.clone(),
        triggered_by: event.user.and_then(|u| text(u.username)),
        url: text(attrs.url).or_else(|| web.as_ref().map(|w| format!("{w}/-/pipelines/{id}"))),
        started_at: None,
        // GitLab's ordering key (see `ordering_key`).
        updated_at: ordering_key(&provider_status, created_at, finished_at),
        created_at,
        provider_status,
        conclusion,
        first_job_started_at: None,
    };
    let context = JobContext {
        repo: &repo,
        run_id: id.to_string(),
        workflow: Some(&workflow),
        branch: branch.as_ref(),
        sha: sha.as_deref(),
        web: web.as_deref(),
    };
    let jobs = event
        .builds
        .unwrap_or_default()
        .into_iter()
        .map(|build| job_from_build(build, &context))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TriedRun { run: Some(run), jobs })
}

/// What a pipeline's jobs share.
struct JobContext<'a> {
    repo: &'a str,
    run_id: String,
    workflow: Option<&'a str>,
    branch: Option<&'a BranchName>,
    sha: Option<&'a str>,
    web: Option<&'a str>,
}

fn job_from_build(build: PipelineBuild, context: &JobContext<'_>) -> Result<Job, PayloadError> {
    let id = build.id.ok_or_else(|| missing("builds[].id"))?;
    let raw_status = text(build.status).ok_or_else(|| missing("builds[].status"))?;
    let (runner_name, labels) = runner_fields(build.runner);
    job(
        JobFields {
            id,
            name: text(build.name),
            stage: text(build.stage),
            raw_status,
            created_at: time("builds[].created_at", build.created_at.as_deref())?,
            started_at: time("builds[].started_at", build.started_at.as_deref())?,
            finished_at: time("builds[].finished_at", build.finished_at.as_deref())?,
            queued_duration: build.queued_duration,
            failure_reason: build.failure_reason,
            allow_failure: build.allow_failure,
            runner_name,
            labels,
            try_number: 1,
        },
        context,
    )
}

/// One job's own fields, from either hook.
struct JobFields {
    id: i64,
    name: Option<String>,
    stage: Option<String>,
    raw_status: String,
    created_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    queued_duration: Option<f64>,
    failure_reason: Option<String>,
    allow_failure: Option<bool>,
    runner_name: Option<String>,
    labels: Vec<String>,
    try_number: i64,
}

fn job(fields: JobFields, context: &JobContext<'_>) -> Result<Job, PayloadError> {
    let (provider_status, conclusion) = status(&fields.raw_status);
    // A failure reason only means something for a failed job (GitLab's
    // Pipeline Hook sends it only then; its Job Hook always).
    let failure_reason = text(fields.failure_reason).filter(|_| conclusion == Some(Conclusion::Failed));
    Ok(Job {
        provider: ProviderKind::GitLab,
        repo: RepoName::from(context.repo),
        run_id: context.run_id.clone(),
        run_attempt: fields.try_number,
        job_id: fields.id.to_string(),
        name: fields.name,
        workflow: context.workflow.map(str::to_owned),
        branch: context.branch.cloned(),
        commit_sha: context.sha.map(str::to_owned),
        completed_at: if provider_status.is_completed() { fields.finished_at } else { None },
        provider_status,
        conclusion,
        runner_name: fields.runner_name,
        labels: fields.labels,
        url: context.web.map(|w| format!("{w}/-/jobs/{}", fields.id)),
        stage: fields.stage,
        failure_reason,
        allow_failure: fields.allow_failure,
        queued_duration_ms: millis(fields.queued_duration),
        steps: Vec::new(),
        runner_group: None,
        created_at: fields.created_at,
        started_at: fields.started_at,
    })
}

/// Job Hook → one job (its pipeline is created from it if not seen yet).
pub(super) fn from_job_event(event: JobEvent) -> Result<TriedRun, PayloadError> {
    let id = event.build_id.ok_or_else(|| missing("build_id"))?;
    let run_id = event
        .pipeline_id
        .or_else(|| event.commit.as_ref().and_then(|c| c.id))
        .ok_or_else(|| missing("pipeline_id"))?;
    let homepage = event.repository.as_ref().and_then(|r| text(r.homepage.clone()));
    let repo = event
        .project
        .as_ref()
        .and_then(|p| text(p.path_with_namespace.clone()))
        .or_else(|| homepage.as_deref().and_then(path_of))
        .ok_or_else(|| missing("project.path_with_namespace"))?;
    let raw_status = text(event.build_status).ok_or_else(|| missing("build_status"))?;
    let web =
        web_url(event.project.as_ref()).or_else(|| homepage.map(|h| h.trim_end_matches('/').to_owned()));
    // The pipeline's name when the hook carries it; otherwise none (the
    // Pipeline Hook, which knows whether the pipeline has a name, fills it).
    let workflow = event.commit.as_ref().and_then(|c| text(c.name.clone()));
    let branch = text(event.git_ref).map(BranchName::from);
    let sha = text(event.sha);
    let context = JobContext {
        repo: &repo,
        run_id: run_id.to_string(),
        workflow: workflow.as_deref(),
        branch: branch.as_ref(),
        sha: sha.as_deref(),
        web: web.as_deref(),
    };
    let (runner_name, labels) = runner_fields(event.runner);
    let job = job(
        JobFields {
            id,
            name: text(event.build_name),
            stage: text(event.build_stage),
            raw_status,
            created_at: time("build_created_at", event.build_created_at.as_deref())?,
            started_at: time("build_started_at", event.build_started_at.as_deref())?,
            finished_at: time("build_finished_at", event.build_finished_at.as_deref())?,
            queued_duration: event.build_queued_duration,
            failure_reason: event.build_failure_reason,
            allow_failure: event.build_allow_failure,
            runner_name,
            labels,
            try_number: try_from_retries_count(event.retries_count),
        },
        &context,
    )?;
    Ok(TriedRun { run: None, jobs: vec![job] })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).expect("rfc 3339")
    }

    #[test]
    fn both_timestamp_forms_parse_to_whole_utc_seconds() {
        assert_eq!(timestamp("2016-08-12 15:23:28 UTC").ok(), Some(utc("2016-08-12T15:23:28Z")));
        assert_eq!(timestamp("2016-08-12 17:23:28 +0200").ok(), Some(utc("2016-08-12T15:23:28Z")));
        assert_eq!(timestamp("2021-02-23T02:41:37.886Z").ok(), Some(utc("2021-02-23T02:41:37Z")));
        assert_eq!(timestamp("2021-02-23T03:41:37+01:00").ok(), Some(utc("2021-02-23T02:41:37Z")));
        assert!(timestamp("yesterday").is_err());
    }

    #[test]
    fn every_documented_status_maps_and_new_ones_are_kept() {
        use crate::domain::BuildStatus;
        let cases = [
            ("created", BuildStatus::Queued),
            ("waiting_for_resource", BuildStatus::Queued),
            ("preparing", BuildStatus::Queued),
            ("pending", BuildStatus::Queued),
            ("manual", BuildStatus::Queued),
            ("scheduled", BuildStatus::Queued),
            ("running", BuildStatus::Running),
            ("success", BuildStatus::Success),
            ("failed", BuildStatus::Failed),
            ("canceled", BuildStatus::Cancelled),
            ("skipped", BuildStatus::Skipped),
            ("canceling", BuildStatus::Unknown),
        ];
        for (word, want) in cases {
            let (raw, conclusion) = status(word);
            assert_eq!(BuildStatus::from_provider(&raw, conclusion.as_ref()), want, "{word}");
            let kept = conclusion.as_ref().map_or(raw.as_str(), Conclusion::as_str);
            assert_eq!(kept, word, "kept verbatim");
        }
    }

    #[test]
    fn an_old_job_hook_s_project_comes_from_its_homepage() {
        assert_eq!(
            path_of("https://gitlab.com/dev-seven/my-awesome-project"),
            Some("dev-seven/my-awesome-project".into())
        );
        assert_eq!(path_of("https://gitlab.example.com/"), None);
        assert_eq!(millis(Some(1095.588715)), Some(1_095_589));
        assert_eq!(millis(Some(f64::NAN)), None);
    }
}
