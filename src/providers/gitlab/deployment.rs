//! GitLab's `Deployment Hook` parsed into a deployment.
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
