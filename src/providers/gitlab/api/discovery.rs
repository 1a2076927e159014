//! Group discovery: every project of the configured groups, subgroups
//! included (`GET /groups/:id/projects?include_subgroups=true`, paginated).
//! New projects are added to the polled set (and so backfilled) with their
//! instance and id; archived ones are marked and no longer polled, their
//! history kept.

use chrono::{DateTime, Utc};

use super::PollError;
use super::client::GitLabClient;
use super::models::Project;
use crate::domain::ProviderKind;
use crate::store::Store;

/// What a discovery pass found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Discovered {
    pub seen: usize,
    pub added: usize,
    pub archived: usize,
}

/// Lists the projects of `group` (an id or path) on `client`'s instance
/// and records them; new ones get a backfill from `backfill_from`.
pub async fn discover_group(
    client: &GitLabClient,
    store: &Store,
    group: &str,
    backfill_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Discovered, PollError> {
    let query = [("include_subgroups", "true"), ("per_page", "100"), ("order_by", "id"), ("sort", "asc")];
    let mut next = Some(client.url(&["groups", group, "projects"], &query));
    let mut found = Discovered::default();
    while let Some(url) = next.take() {
        let page = client.get::<Vec<Project>>(&url).await?;
        next = page.next;
        for project in page.value {
            let Some(path) = project.path_with_namespace.filter(|p| p.contains('/')) else { continue };
            found.seen += 1;
            let polls = store.poll_state();
            if polls.add_poll_repo(ProviderKind::GitLab, &path, "discovered", backfill_from, now).await? {
                found.added += 1;
            }
            polls.set_location(ProviderKind::GitLab, &path, client.instance(), Some(project.id)).await?;
            if project.archived {
                found.archived += 1;
                polls.mark_repo_inactive(ProviderKind::GitLab, &path, "archived", "archived", now).await?;
            }
        }
    }
    Ok(found)
}
