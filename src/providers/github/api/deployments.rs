//! Deployment backfill of one repository: `GET /repos/{owner}/{repo}/deployments`
//! (every environment, newest first, `per_page=100`, following `Link`
//! pages) and, for each deployment not yet stored with a final status, the
//! first page of `GET …/deployments/{id}/statuses` (newest first: the
//! final status is among them). Each deployment becomes the change its
//! `deployment_status` webhook would have made
//! (`webhook::deployment_from_rest`) and goes through the same write path
//! (`Deliveries::apply_polled`), so webhook and poll converge on one row
//! whichever comes first.
//!
//! How far it got is kept per repository (`DeploymentCursor`): every
//! deployment created before `until` is stored with its final status, so
//! the listing stops there; a deployment still pending holds `until` at
//! its creation (for [`PENDING_WATCH_DAYS`], after which it is given up).
//! The first page's `ETag` is kept only when nothing was left pending: a
//! 304 then costs no rate limit and means nothing new. The first pass goes
//! back to the repository's backfill start. Rate limits and retries are
//! the client's, as for runs.

use chrono::{DateTime, Utc};

use super::PollError;
use super::answer::{Answer, ApiError};
use super::runs::RepoSync;
use crate::domain::deployment::Outcome;
use crate::domain::time::parse_timestamp;
use crate::domain::{Change, ProviderKind};
use crate::providers::PollStats;
use crate::providers::github::webhook::{DeploymentObject, DeploymentStatusObject, deployment_from_rest};
use crate::store::DeploymentCursor;

/// Days a deployment without a final status keeps being asked about.
pub const PENDING_WATCH_DAYS: i64 = 7;

/// What one deployment listing saw.
#[derive(Debug, Default)]
struct Seen {
    newest: Option<DateTime<Utc>>,
    oldest_pending: Option<DateTime<Utc>>,
}

impl RepoSync<'_> {
    /// One deployment pass at `now`; the first one lists back to `from`.
    /// A repository without deployments access (404/410) is left alone.
    pub async fn deployments(
        &self,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
        stats: &mut PollStats,
    ) -> Result<(), PollError> {
        let cursor = self.store.poll_state().deployment_cursor(ProviderKind::GitHub, self.repo).await?;
        let path = format!("/repos/{}/deployments", self.repo);
        let first = self.client.url(&path, &[("per_page", "100")]);
        let (mut page, etag) =
            match self.client.get::<Vec<DeploymentObject>>(&first, cursor.etag.as_deref()).await {
                Ok(Answer::NotModified) => {
                    stats.not_modified += 1;
                    return Ok(());
                }
                Ok(Answer::Fresh { value, etag, next }) => (Some((value, next)), etag),
                Err(ApiError::NotFound(_) | ApiError::Gone(_)) => return Ok(()),
                Err(err) => return Err(err.into()),
            };
        let watch_from = now - chrono::Duration::days(PENDING_WATCH_DAYS);
        let mut seen = Seen::default();
        'pages: while let Some((objects, next)) = page.take() {
            let mut changes = Vec::new();
            let mut done = false;
            for object in objects {
                let created = object.created_at.as_deref().and_then(|t| parse_timestamp(t).ok());
                let Some(created) = created else {
                    stats.skipped += 1;
                    continue;
                };
                if created < from || cursor.until.is_some_and(|until| created < until) {
                    done = true;
                    break;
                }
                seen.newest = seen.newest.max(Some(created));
                match self.deployment_change(object, stats).await? {
                    Some((change, pending)) => {
                        if pending && created >= watch_from {
                            seen.oldest_pending =
                                Some(seen.oldest_pending.map_or(created, |t| t.min(created)));
                        }
                        changes.push(change);
                    }
                    None => stats.unchanged += 1,
                }
            }
            stats.deployments += changes.len();
            stats.rows_changed += self.store.deliveries().apply_polled(&changes).await?;
            if done {
                break 'pages;
            }
            if let Some(url) = next {
                match self.client.get::<Vec<DeploymentObject>>(&url, None).await? {
                    Answer::Fresh { value, next, .. } => page = Some((value, next)),
                    Answer::NotModified => {}
                }
            }
        }
        let until = match seen.oldest_pending {
            Some(pending) => Some(pending),
            None => seen.newest.max(cursor.until),
        };
        let etag = if seen.oldest_pending.is_none() { etag } else { None };
        self.store
            .poll_state()
            .set_deployment_cursor(ProviderKind::GitHub, self.repo, &DeploymentCursor { until, etag })
            .await?;
        Ok(())
    }

    /// The change one listed deployment makes, and whether it is still
    /// pending; `None` when it is stored with a final status already (or
    /// unusable, counted as skipped).
    async fn deployment_change(
        &self,
        object: DeploymentObject,
        stats: &mut PollStats,
    ) -> Result<Option<(Change, bool)>, PollError> {
        let Some(id) = object.id else {
            stats.skipped += 1;
            return Ok(None);
        };
        let stored_final = self
            .store
            .poll_state()
            .deployment_is_final(ProviderKind::GitHub, self.repo, &id.to_string())
            .await?;
        if stored_final {
            return Ok(None);
        }
        let path = format!("/repos/{}/deployments/{id}/statuses", self.repo);
        let url = self.client.url(&path, &[("per_page", "100")]);
        let statuses = match self.client.get::<Vec<DeploymentStatusObject>>(&url, None).await {
            Ok(Answer::Fresh { value, .. }) => value,
            Ok(Answer::NotModified) | Err(ApiError::NotFound(_) | ApiError::Gone(_)) => Vec::new(),
            Err(err) => return Err(err.into()),
        };
        match deployment_from_rest(object, statuses, self.repo) {
            Ok(deployment) => {
                let pending = deployment.outcome() == Outcome::Pending;
                Ok(Some((Change::Deployment(deployment, None), pending)))
            }
            Err(err) => {
                stats.skipped += 1;
                tracing::warn!(repo = self.repo, error = %err, "skipping an unusable deployment object");
                Ok(None)
            }
        }
    }
}
