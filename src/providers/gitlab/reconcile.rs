//! Stale-run repair for GitLab projects that only send webhooks: a
//! pipeline stored as not completed and unchanged for
//! [`STALE_AFTER_MINUTES`] (its final Pipeline Hook was lost, or GitLab
//! gave up delivering it) is fetched by id from the REST API and stored
//! like a polled pipeline, as GitHub's `github-reconcile` does for runs.
//! Projects the poller watches already (`--gitlab-projects`,
//! `--gitlab-groups`) are left to their own watch list.
//!
//! Which instance: a webhook names its project by path only, so the
//! repair runs when exactly one GitLab instance is configured
//! (`--gitlab-url`, gitlab.com by default) — with several, a webhook-only
//! project could be on any of them and is left alone. It needs the API to
//! see the project: a token (`GITLAB_TOKEN`, scope `read_api`) for private
//! projects. Without a token and without projects or groups the poller,
//! and so this repair, does not run.
//!
//! Owns no SQL: reads go through `store::poll_state`, writes through the
//! poller's `ProjectSync`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::api::PollError;
use super::api::project::ProjectSync;
use super::poller::Poller;
use crate::domain::ProviderKind;
use crate::providers::PollStats;

/// Minutes without a change after which a not-completed pipeline is
/// fetched (the same as GitHub's reconciliation).
pub const STALE_AFTER_MINUTES: i64 = 10;

/// Most stale pipelines fetched per pass.
const STALE_LIMIT: i64 = 500;

impl Poller {
    /// One repair pass as of `now`: answers how many pipelines were
    /// fetched (`watched`), the rows that changed and the fetches that
    /// failed (left for the next pass).
    ///
    /// Errors: only when the store fails.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<PollStats, PollError> {
        let mut stats = PollStats::default();
        let [client] = self.clients() else { return Ok(stats) };
        let polls = self.store().poll_state();
        let polled: HashSet<String> =
            polls.poll_repos(Some(ProviderKind::GitLab)).await?.into_iter().map(|r| r.repo).collect();
        let before = now - chrono::Duration::minutes(STALE_AFTER_MINUTES);
        let mut seen = HashSet::new();
        for (repo, run_id, _) in polls.stale_attempts(ProviderKind::GitLab, before, STALE_LIMIT).await? {
            if polled.contains(&repo) || !seen.insert((repo.clone(), run_id.clone())) {
                continue;
            }
            let Ok(id) = run_id.parse::<i64>() else { continue };
            let sync = ProjectSync { client, store: self.store(), repo: &repo, key: repo.clone() };
            stats.watched += 1;
            match sync.refresh(id, &mut stats).await {
                Ok(()) => {}
                Err(PollError::Api(err)) => {
                    stats.failed += 1;
                    tracing::warn!(%repo, pipeline = id, error = %err, "could not repair a stale GitLab pipeline");
                }
                Err(err) => return Err(err),
            }
        }
        Ok(stats)
    }
}
