//! The generic build API's `deployment` event: a deployment of any CI or
//! deploy tool, with the commits it carries when the caller lists them.
//! The README's *Generic build API* section lists these fields.
//!
//! Fields: `idempotency_key`, `type` (`deployment`), `provider`,
//! `repository`, `deployment_id` (string or integer), `environment`,
//! `status` (one of [`STATUSES`]), `status_at` (when that status was set,
//! RFC 3339), optional `commit` (the deployed SHA), `ref`, `url`,
//! `created_at`, and `commits`: the commits this deployment brings, oldest
//! first, each `{"sha", "authored_at"?, "committed_at"?}` (at most
//! [`MAX_COMMITS`]; `commit` is then required). Statuses and their merge
//! are the domain's (`domain::deployment`).

use serde_json::{Map, Value};

use super::reader::Reader;
use super::{BuildEvent, FieldError};
use crate::domain::deployment::{Commit, Deployment, DeploymentStatus, PushedCommits};
use crate::domain::{Change, RepoName};

/// The fields a deployment event may carry.
const FIELDS: &[&str] = &[
    "idempotency_key",
    "type",
    "provider",
    "repository",
    "deployment_id",
    "environment",
    "status",
    "status_at",
    "commit",
    "ref",
    "url",
    "created_at",
    "commits",
];

/// The status words accepted.
pub const STATUSES: &[&str] =
    &["queued", "pending", "in_progress", "success", "failure", "error", "inactive", "cancelled", "skipped"];

/// Most commits one deployment event may list.
pub const MAX_COMMITS: usize = 1000;

/// Checks deployment event `index` and turns it into a [`BuildEvent`].
///
/// Errors: every invalid field, each named `events[INDEX].FIELD`.
pub(super) fn parse_deployment(
    index: usize,
    object: &Map<String, Value>,
    raw: &Value,
) -> Result<BuildEvent, Vec<FieldError>> {
    let mut r = Reader { index, object, errors: Vec::new() };
    for field in object.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        r.fail(field, format!("unknown field; a deployment event carries {}", FIELDS.join(", ")));
    }
    let key = super::envelope::key(&mut r);
    let provider = super::envelope::provider(&mut r);
    let repo = r.required("repository", "repository");
    let deployment_id = r.id("deployment_id", "deployment id");
    let environment = r.required("environment", "environment");
    let status = r.word("status", STATUSES);
    let status_at = match r.present("status_at") {
        Some(_) => r.timestamp("status_at"),
        None => {
            r.fail("status_at", "is required (when the status was set)");
            None
        }
    };
    let sha = r.text("commit", "commit");
    let git_ref = r.text("ref", "branch");
    let url = r.url();
    let created_at = r.timestamp("created_at");
    let commits = commits(&mut r);
    if commits.is_some() && sha.is_none() && r.present("commit").is_none() {
        r.fail("commit", "is required when commits are listed (the deployed commit)");
    }
    match (r.errors.is_empty(), key, provider, repo, deployment_id, environment, status, status_at) {
        (true, Some(key), Some(provider), Some(repo), Some(id), Some(environment), Some(state), Some(at)) => {
            let repo = RepoName::from(repo);
            let pushed = match (commits, &sha) {
                (Some(commits), Some(head)) => Some(PushedCommits {
                    provider,
                    repo: repo.clone(),
                    git_ref: git_ref.clone(),
                    before: None,
                    head: head.clone(),
                    commits,
                }),
                _ => None,
            };
            let deployment = Deployment {
                provider,
                repo,
                deployment_id: id,
                environment,
                sha,
                git_ref,
                job_id: None,
                url,
                created_at,
                status: Some(DeploymentStatus { state, at }),
            };
            Ok(BuildEvent {
                provider,
                key,
                kind: "deployment",
                raw: raw.clone(),
                change: Change::Deployment(deployment, pushed),
            })
        }
        _ => Err(r.errors),
    }
}

/// `commits`: an array of `{"sha", "authored_at"?, "committed_at"?}`.
fn commits(r: &mut Reader<'_>) -> Option<Vec<Commit>> {
    let value = r.present("commits")?;
    let Some(items) = value.as_array() else {
        r.fail("commits", "must be an array of {\"sha\", \"authored_at\", \"committed_at\"}");
        return None;
    };
    if items.len() > MAX_COMMITS {
        r.fail("commits", format!("at most {MAX_COMMITS} commits"));
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(object) = item.as_object() else {
            r.fail(&format!("commits[{i}]"), "must be an object");
            continue;
        };
        let mut inner = Reader { index: r.index, object, errors: Vec::new() };
        for field in object.keys().filter(|k| !["sha", "authored_at", "committed_at"].contains(&k.as_str())) {
            inner.fail(field, "unknown field; a commit carries sha, authored_at, committed_at");
        }
        let sha = inner.required("sha", "commit");
        let authored_at = inner.timestamp("authored_at");
        let committed_at = inner.timestamp("committed_at");
        for error in inner.errors {
            let field = error.field.replacen(&format!("events[{}].", r.index), &format!("commits[{i}]."), 1);
            r.fail(&field, error.message);
        }
        if let Some(sha) = sha {
            out.push(Commit { sha, authored_at, committed_at });
        }
    }
    Some(out)
}
