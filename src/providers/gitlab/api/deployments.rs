//! Deployment backfill of one GitLab project: `GET /projects/:id/deployments`
//! with `updated_after` (the project's deployment cursor, else its
//! backfill start), `order_by=updated_at&sort=asc`, 100 a page, following
//! the pages. Each deployment becomes the change its latest
//! `Deployment Hook` would make (`deployment::deployment_from_rest`) and
//! goes through the same write path (`Deliveries::apply_polled`), so hook
//! and poll converge. After each page the cursor moves to the newest
//! `updated_at` stored (whole seconds: one changed within that second is
//! listed again and merges to the same row). Rate limits and retries are
//! the client's, as for pipelines.

use chrono::{DateTime, Utc};

use super::PollError;
use super::answer::ApiError;
use super::project::ProjectSync;
use crate::domain::time::parse_timestamp;
use crate::domain::{Change, ProviderKind};
use crate::providers::PollStats;
use crate::providers::gitlab::deployment::{RestDeployment, deployment_from_rest};
use crate::store::DeploymentCursor;

impl ProjectSync<'_> {
    /// One deployment pass; the first one lists from `from`. A project
    /// without deployments access (404) is left alone.
    pub async fn deployments(&self, from: DateTime<Utc>, stats: &mut PollStats) -> Result<(), PollError> {
        let polls = self.store.poll_state();
        let stored = polls.deployment_cursor(ProviderKind::GitLab, self.repo).await?;
        let mut cursor = stored.until.unwrap_or(from);
        let since = cursor.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let query = [
            ("updated_after", since.as_str()),
            ("order_by", "updated_at"),
            ("sort", "asc"),
            ("per_page", "100"),
        ];
        let mut next = Some(self.client.url(&["projects", &self.key, "deployments"], &query));
        while let Some(url) = next.take() {
            let page = match self.client.get::<Vec<RestDeployment>>(&url).await {
                Ok(page) => page,
                Err(ApiError::NotFound(_)) => return Ok(()),
                Err(err) => return Err(err.into()),
            };
            next = page.next;
            let mut changes = Vec::new();
            for object in page.value {
                let updated = object.updated_at.as_deref().and_then(|t| parse_timestamp(t).ok());
                match deployment_from_rest(object, self.repo) {
                    Ok(deployment) => changes.push(Change::Deployment(deployment, None)),
                    Err(err) => {
                        stats.skipped += 1;
                        tracing::warn!(project = self.repo, error = %err, "skipping an unusable deployment");
                    }
                }
                cursor = cursor.max(updated.unwrap_or(cursor));
            }
            stats.deployments += changes.len();
            stats.rows_changed += self.store.deliveries().apply_polled(&changes).await?;
            let until = DateTime::from_timestamp(cursor.timestamp(), 0);
            polls
                .set_deployment_cursor(
                    ProviderKind::GitLab,
                    self.repo,
                    &DeploymentCursor { until, etag: None },
                )
                .await?;
        }
        Ok(())
    }
}
