//! GitHub's `deployment`, `deployment_status` and `push` webhooks parsed
//! into deployments and pushed commits (for the DORA keys).
//!
//! - `deployment` (action `created`): the deployment object, no status yet
//!   (pending: counted nowhere until a final `deployment_status`).
//! - `deployment_status`: the status (`state` at `updated_at`, else
//!   `created_at`) with the deployment object it belongs to.
//! - `push` to a branch: its commits (oldest first, at most 20 in GitHub's
//!   payload), each with its one `timestamp`, stored as the commit time; a
//!   deleted ref or a push without commits is only recorded.
//!
//! Payload shapes: <https://docs.github.com/en/webhooks/webhook-events-and-payloads#deployment>.

use serde::Deserialize;

use super::payload::Repository;
use crate::domain::deployment::{Commit, Deployment, DeploymentStatus, PushedCommits, merge_deployment};
use crate::domain::time::parse_timestamp;
use crate::domain::{Change, ProviderKind, RepoName};
use crate::providers::{Parsed, PayloadError};

#[derive(Debug, Deserialize)]
pub(super) struct DeploymentEvent {
    action: Option<String>,
    deployment: Option<DeploymentObject>,
    deployment_status: Option<StatusObject>,
    repository: Option<Repository>,
}

/// A deployment object, as webhooks and `GET /repos/{owner}/{repo}/deployments` give it.
#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentObject {
    pub id: Option<u64>,
    pub sha: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub environment: Option<String>,
    pub created_at: Option<String>,
    pub url: Option<String>,
}

/// A deployment status object, as webhooks and
/// `GET …/deployments/{id}/statuses` give it.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusObject {
    pub state: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub target_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PushEvent {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    commits: Vec<PushCommit>,
    repository: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct PushCommit {
    id: Option<String>,
    timestamp: Option<String>,
}

fn missing(what: &str) -> PayloadError {
    PayloadError(format!("the payload has no {what}"))
}

fn time(field: &str, text: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, PayloadError> {
    text.filter(|t| !t.is_empty())
        .map(|t| parse_timestamp(t).map_err(|err| PayloadError(format!("{field} is not a timestamp: {err}"))))
        .transpose()
}

fn nonempty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

/// A `deployment` or `deployment_status` delivery as a change.
///
/// Errors: no deployment object, id, environment or repository; a
/// status without `state`; a timestamp that is not RFC 3339.
pub(super) fn from_deployment_event(event: DeploymentEvent) -> Result<Parsed, PayloadError> {
    let object = event.deployment.ok_or_else(|| missing("deployment"))?;
    let repo = event
        .repository
        .and_then(|r| nonempty(r.full_name))
        .ok_or_else(|| missing("repository.full_name"))?;
    let deployment = deployment_with_status(object, event.deployment_status, &repo)?;
    let change = Change::Deployment(deployment, None);
    change.check_text()?;
    Ok(Parsed::Change { action: event.action, change })
}

/// A deployment object of `repo` (`owner/name`) from the REST API with
/// its statuses (`GET …/deployments/{id}/statuses`, any order), as its
/// webhooks in GitHub's order make it — the `deployment` delivery (its
/// `url`), then the `deployment_status` deliveries merged by the rule of
/// `domain::deployment` — so a polled deployment and its webhooks converge
/// on the same row whichever comes first. Statuses that cannot be read
/// are skipped.
///
/// Errors: no id or environment; a creation time that is not RFC 3339.
pub fn deployment_from_rest(
    object: DeploymentObject,
    statuses: Vec<StatusObject>,
    repo: &str,
) -> Result<Deployment, PayloadError> {
    let created = deployment_with_status(object.clone(), None, repo)?;
    Ok(statuses
        .into_iter()
        .filter_map(|status| deployment_with_status(object.clone(), Some(status), repo).ok())
        .fold(created, |merged, status| merge_deployment(&merged, &status)))
}

fn deployment_with_status(
    object: DeploymentObject,
    status: Option<StatusObject>,
    repo: &str,
) -> Result<Deployment, PayloadError> {
    let id = object.id.ok_or_else(|| missing("deployment.id"))?;
    let created_at = time("deployment.created_at", object.created_at.as_deref())?;
    let status = match status {
        None => None,
        Some(status) => {
            let state = nonempty(status.state).ok_or_else(|| missing("deployment_status.state"))?;
            let at = time("deployment_status.updated_at", status.updated_at.as_deref())?
                .or(time("deployment_status.created_at", status.created_at.as_deref())?)
                .ok_or_else(|| missing("deployment_status.created_at"))?;
            Some((DeploymentStatus { state: state.to_lowercase(), at }, nonempty(status.target_url)))
        }
    };
    let (status, target_url) = match status {
        Some((status, url)) => (Some(status), url),
        None => (None, None),
    };
    Ok(Deployment {
        provider: ProviderKind::GitHub,
        repo: RepoName::from(repo.to_owned()),
        deployment_id: id.to_string(),
        environment: nonempty(object.environment).ok_or_else(|| missing("deployment.environment"))?,
        sha: nonempty(object.sha),
        git_ref: nonempty(object.git_ref),
        job_id: None,
        url: target_url.or(nonempty(object.url)),
        created_at,
        status,
    })
}

/// A `push` delivery: its commits as a change, or only recorded (a tag, a
/// deleted ref, no commits).
///
/// Errors: no repository or `after`; a commit without id; a timestamp
/// that is not RFC 3339.
pub(super) fn from_push_event(event: PushEvent) -> Result<Parsed, PayloadError> {
    let branch = event.git_ref.as_deref().and_then(|r| r.strip_prefix("refs/heads/")).map(str::to_owned);
    if event.deleted || branch.is_none() || event.commits.is_empty() {
        return Ok(Parsed::Ignored { action: None });
    }
    let repo = event
        .repository
        .and_then(|r| nonempty(r.full_name))
        .ok_or_else(|| missing("repository.full_name"))?;
    let head = nonempty(event.after).ok_or_else(|| missing("after"))?;
    let zero = |sha: &String| sha.chars().all(|c| c == '0');
    let before = nonempty(event.before).filter(|sha| !zero(sha));
    let commits = event
        .commits
        .into_iter()
        .map(|c| {
            Ok(Commit {
                sha: nonempty(c.id).ok_or_else(|| missing("commits[].id"))?,
                authored_at: None,
                committed_at: time("commits[].timestamp", c.timestamp.as_deref())?,
            })
        })
        .collect::<Result<Vec<_>, PayloadError>>()?;
    let change = Change::Commits(PushedCommits {
        provider: ProviderKind::GitHub,
        repo: RepoName::from(repo),
        git_ref: branch,
        before,
        head,
        commits,
    });
    change.check_text()?;
    Ok(Parsed::Change { action: None, change })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deployment::Outcome;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/github/webhooks/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    /// The public `deployment` example: pending deployment 145988746 of
    /// Codertocat/Hello-World to production at f95f852; its status example:
    /// `success` at 2019-05-15T15:20:55Z.
    #[test]
    fn the_public_deployment_examples_parse() {
        let created: DeploymentEvent = serde_json::from_slice(&fixture("deployment.json")).expect("json");
        let Parsed::Change { change: Change::Deployment(d, _), .. } =
            from_deployment_event(created).expect("ok")
        else {
            panic!("a deployment")
        };
        assert_eq!((d.deployment_id.as_str(), d.environment.as_str()), ("145988746", "production"));
        assert_eq!(d.sha.as_deref(), Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e"));
        assert_eq!(d.outcome(), Outcome::Pending);
        let status: DeploymentEvent =
            serde_json::from_slice(&fixture("deployment_status.json")).expect("json");
        let Parsed::Change { change: Change::Deployment(d, _), .. } =
            from_deployment_event(status).expect("ok")
        else {
            panic!("a deployment")
        };
        assert_eq!(d.outcome(), Outcome::Succeeded);
        assert_eq!(d.finished_at().map(|t| t.timestamp()), Some(1_557_933_655));
    }

    #[test]
    fn a_branch_push_carries_its_commits_and_a_tag_push_is_only_recorded() {
        let push: PushEvent = serde_json::from_slice(&fixture("push.with-new-branch.json")).expect("json");
        let Parsed::Change { change: Change::Commits(pushed), .. } = from_push_event(push).expect("ok")
        else {
            panic!("commits")
        };
        assert_eq!(pushed.git_ref.as_deref(), Some("master"));
        assert_eq!(pushed.commits.len(), 1);
        assert_eq!(pushed.commits[0].sha, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
        let tag: PushEvent = serde_json::from_slice(&fixture("push.json")).expect("json");
        assert_eq!(from_push_event(tag).expect("ok"), Parsed::Ignored { action: None });
    }
}
