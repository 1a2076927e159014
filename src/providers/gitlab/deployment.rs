//! GitLab's `Deployment Hook`, and a deployment of the REST listing
//! (`deployment_from_rest`, for the poller's backfill), parsed into a
//! deployment.
//!
//! GitLab sends one hook per status change of a deployment (`running`,
//! `success`, `failed`, `canceled`, `blocked`, …) with `status_changed_at`;
//! the deployed commit is the last path segment of `commit_url` (the hook
//! carries only `short_sha` otherwise), the deploy job is `deployable_id`
//! (its stored job says whether it may fail). A `skipped` or `canceled`
//! deployment counts nowhere (`domain::deployment::Outcome`).
//!
//! Payload: <https://docs.gitlab.com/ee/user/project/integrations/webhook_events.html#deployment-events>.

use serde::Deserialize;

use super::to_domain::timestamp;
use crate::domain::deployment::{Deployment, DeploymentStatus};
use crate::domain::{Change, ProviderKind, RepoName};
use crate::providers::{Parsed, PayloadError};

#[derive(Debug, Deserialize)]
pub(super) struct DeploymentHook {
    status: Option<String>,
    status_changed_at: Option<String>,
    deployment_id: Option<u64>,
    deployable_id: Option<u64>,
    deployable_url: Option<String>,
    environment: Option<String>,
    project: Option<HookProject>,
    short_sha: Option<String>,
    commit_url: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

#[derive(Debug, Deserialize)]
struct HookProject {
    path_with_namespace: Option<String>,
}

fn missing(what: &str) -> PayloadError {
    PayloadError(format!("the payload has no {what}"))
}

fn nonempty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

/// The hook as a deployment change.
///
/// Errors: no `deployment_id`, `environment`, `status`,
/// `status_changed_at` or project path; a timestamp in neither of
/// GitLab's forms.
pub(super) fn from_deployment_hook(hook: DeploymentHook) -> Result<Parsed, PayloadError> {
    let id = hook.deployment_id.ok_or_else(|| missing("deployment_id"))?;
    let repo = hook
        .project
        .and_then(|p| nonempty(p.path_with_namespace))
        .ok_or_else(|| missing("project.path_with_namespace"))?;
    let state = nonempty(hook.status).ok_or_else(|| missing("status"))?.to_lowercase();
    let changed = nonempty(hook.status_changed_at).ok_or_else(|| missing("status_changed_at"))?;
    let at = timestamp(&changed)
        .map_err(|err| PayloadError(format!("status_changed_at is not a timestamp: {err}")))?;
    let sha = hook
        .commit_url
        .as_deref()
        .and_then(|url| url.rsplit('/').next())
        .filter(|sha| sha.len() >= 7 && sha.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_owned)
        .or(nonempty(hook.short_sha));
    let deployment = Deployment {
        provider: ProviderKind::GitLab,
        repo: RepoName::from(repo),
        deployment_id: id.to_string(),
        environment: nonempty(hook.environment).ok_or_else(|| missing("environment"))?,
        sha,
        git_ref: nonempty(hook.git_ref),
        job_id: hook.deployable_id.map(|id| id.to_string()),
        url: nonempty(hook.deployable_url),
        created_at: None,
        status: Some(DeploymentStatus { state: state.clone(), at }),
    };
    let change = Change::Deployment(deployment, None);
    change.check_text()?;
    Ok(Parsed::Change { action: Some(state), change })
}

/// A deployment as `GET /projects/:id/deployments` lists it.
#[derive(Debug, Deserialize)]
pub struct RestDeployment {
    pub id: Option<u64>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub finished_at: Option<String>,
    pub sha: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub environment: Option<RestEnvironment>,
    pub deployable: Option<RestDeployable>,
}

#[derive(Debug, Deserialize)]
pub struct RestEnvironment {
    pub name: Option<String>,
}

/// The deploy job.
#[derive(Debug, Deserialize)]
pub struct RestDeployable {
    pub id: Option<u64>,
    pub web_url: Option<String>,
}

/// A listed deployment of `repo` (`path_with_namespace`) as the change its
/// latest `Deployment Hook` would make: its status at `finished_at` once
/// it has one (else at `updated_at`, when GitLab last changed it), the
/// deploy job as `job_id` and its page as the URL, plus the creation time
/// the hook lacks. Merged by the same rule, so hook and poll converge.
///
/// Errors: no id, environment name or status; a timestamp in neither of
/// GitLab's forms.
pub fn deployment_from_rest(object: RestDeployment, repo: &str) -> Result<Deployment, PayloadError> {
    let id = object.id.ok_or_else(|| missing("id"))?;
    let state = nonempty(object.status).ok_or_else(|| missing("status"))?.to_lowercase();
    let parse = |field: &str, text: Option<String>| {
        nonempty(text)
            .map(|t| timestamp(&t).map_err(|err| PayloadError(format!("{field} is not a timestamp: {err}"))))
            .transpose()
    };
    let created_at = parse("created_at", object.created_at)?;
    let at = parse("finished_at", object.finished_at)?
        .or(parse("updated_at", object.updated_at)?)
        .or(created_at)
        .ok_or_else(|| missing("updated_at"))?;
    let environment =
        object.environment.and_then(|e| nonempty(e.name)).ok_or_else(|| missing("environment.name"))?;
    let (job_id, url) = match object.deployable {
        Some(job) => (job.id.map(|id| id.to_string()), nonempty(job.web_url)),
        None => (None, None),
    };
    Ok(Deployment {
        provider: ProviderKind::GitLab,
        repo: RepoName::from(repo.to_owned()),
        deployment_id: id.to_string(),
        environment,
        sha: nonempty(object.sha),
        git_ref: nonempty(object.git_ref),
        job_id,
        url,
        created_at,
        status: Some(DeploymentStatus { state, at }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deployment::Outcome;

    /// GitLab's documented example: deployment 15 of
    /// root/test-deployment-webhooks to staging, `success` at
    /// 2021-04-28 21:50:00 +0200 (19:50:00 UTC = 1619639400), commit
    /// 279484c0… from `commit_url`, deploy job 796.
    #[test]
    fn the_documented_example_parses() {
        let path = format!("{}/tests/fixtures/gitlab/webhooks/deployment.json", env!("CARGO_MANIFEST_DIR"));
        let hook: DeploymentHook =
            serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json");
        let Parsed::Change { change: Change::Deployment(d, _), .. } = from_deployment_hook(hook).expect("ok")
        else {
            panic!("a deployment")
        };
        assert_eq!((d.repo.as_str(), d.environment.as_str()), ("root/test-deployment-webhooks", "staging"));
        assert_eq!(d.sha.as_deref(), Some("279484c09fbe69ededfced8c1bb6e6d24616b468"));
        assert_eq!(d.job_id.as_deref(), Some("796"));
        assert_eq!(d.outcome(), Outcome::Succeeded);
        assert_eq!(d.finished_at().map(|t| t.timestamp()), Some(1_619_639_400));
    }
}
