//! Repository discovery ("automatic pipeline discovery"): every repository a
//! GitHub App installation can see (`GET /installation/repositories`), or
//! every repository of the configured organisations (`GET
//! /orgs/{org}/repos`), paginated. New ones are added to the polled set
//! (and so backfilled); archived or disabled ones are marked and no longer
//! polled, their history kept.

use chrono::{DateTime, Utc};

use super::PollError;
use super::answer::Answer;
use super::client::GitHubClient;
use super::models::{InstallationRepos, RepoSummary};
use crate::domain::ProviderKind;
use crate::store::Store;

/// What a discovery pass found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Discovered {
    pub seen: usize,
    pub added: usize,
    pub archived: usize,
}

/// Lists the repositories visible to the app installation (`installation`
/// true) or in `orgs`, and records them; new ones get a backfill from
/// `backfill_from`.
pub async fn discover(
    client: &GitHubClient,
    store: &Store,
    installation: bool,
    orgs: &[String],
    backfill_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Discovered, PollError> {
    let mut repos: Vec<RepoSummary> = Vec::new();
    if installation {
        let mut next = Some(client.url("/installation/repositories", &[("per_page", "100")]));
        while let Some(url) = next.take() {
            if let Answer::Fresh { value, next: following, .. } =
                client.get::<InstallationRepos>(&url, None).await?
            {
                repos.extend(value.repositories);
                next = following;
            }
        }
    }
    for org in orgs {
        let mut next = Some(client.url(&format!("/orgs/{org}/repos"), &[("per_page", "100")]));
        while let Some(url) = next.take() {
            if let Answer::Fresh { value, next: following, .. } =
                client.get::<Vec<RepoSummary>>(&url, None).await?
            {
                repos.extend(value);
                next = following;
            }
        }
    }
    let mut found = Discovered::default();
    for repo in repos {
        let Some(name) = repo.full_name.filter(|n| n.contains('/')) else { continue };
        found.seen += 1;
        if store
            .poll_state()
            .add_poll_repo(ProviderKind::GitHub, &name, "discovered", backfill_from, now)
            .await?
        {
            found.added += 1;
        }
        if repo.archived || repo.disabled {
            found.archived += 1;
            let reason = if repo.archived { "archived" } else { "disabled" };
            store
                .poll_state()
                .mark_repo_inactive(ProviderKind::GitHub, &name, "archived", reason, now)
                .await?;
        }
    }
    Ok(found)
}
