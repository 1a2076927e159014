//! The pollers' deployment backfill bookkeeping per repository (two
//! `poll_repos` columns, migration 0022): how far the deployment listing
//! got (`deployments_until`) and the first page's `ETag`
//! (`deployments_etag`), and whether a deployment is already stored with a
//! final status (so its statuses are not fetched again).
//!
//! Owns only this SQL; what the values mean is the poller's. Must not write
//! deployments (they go through the write path, `Deliveries::apply_polled`).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::StoreError;
use super::rows::provider_id;
use crate::domain::ProviderKind;
use crate::domain::time::from_unix;
use crate::store::PollState;

/// Where a repository's deployment listing stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentCursor {
    /// The provider's meaning: GitHub, every deployment created at or
    /// before it is stored with its final status; GitLab, the
    /// `updated_after` the next listing asks from.
    pub until: Option<DateTime<Utc>>,
    /// `ETag` of the last listing's first page (kept only when nothing was
    /// left pending).
    pub etag: Option<String>,
}

impl PollState<'_> {
    /// The deployment cursor of `repo` (empty when it is not polled or has
    /// never been listed).
    pub async fn deployment_cursor(
        &self,
        provider: ProviderKind,
        repo: &str,
    ) -> Result<DeploymentCursor, StoreError> {
        let row = sqlx::query(
            "SELECT deployments_until, deployments_etag FROM poll_repos WHERE provider_id = $1 AND repo = $2",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .fetch_optional(&self.write)
        .await?;
        Ok(match row {
            Some(row) => DeploymentCursor {
                until: row.try_get::<Option<i64>, _>(0)?.and_then(from_unix),
                etag: row.try_get(1)?,
            },
            None => DeploymentCursor::default(),
        })
    }

    /// Stores `repo`'s deployment cursor.
    pub async fn set_deployment_cursor(
        &self,
        provider: ProviderKind,
        repo: &str,
        cursor: &DeploymentCursor,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE poll_repos SET deployments_until = $3, deployments_etag = $4 \
             WHERE provider_id = $1 AND repo = $2",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(cursor.until.map(|t| t.timestamp()))
        .bind(cursor.etag.as_deref())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Whether deployment `external_id` of `repo` is stored with a final
    /// status (succeeded, failed or not counted).
    pub async fn deployment_is_final(
        &self,
        provider: ProviderKind,
        repo: &str,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT outcome FROM deployments WHERE provider_id = $1 AND repo = $2 AND external_id = $3",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(external_id)
        .fetch_optional(&self.write)
        .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<i64>, _>(0)?.is_some(),
            None => false,
        })
    }
}

/// A successful deployment whose SHA no stored push or event lists, with
/// the SHA of the previous successful deployment of its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlistedDeployment {
    pub sha: String,
    pub git_ref: Option<String>,
    /// The previous successful deployment's SHA in the same environment.
    pub base: String,
}

impl PollState<'_> {
    /// Up to `limit` successful deployments of `repo` finished at or after
    /// `since` whose SHA is in no stored commit list and that have a
    /// previous successful deployment (of another SHA) in their
    /// environment, oldest first.
    pub async fn unlisted_deployments(
        &self,
        provider: ProviderKind,
        repo: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<UnlistedDeployment>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.sha, d.ref, (SELECT p.sha FROM deployments p WHERE p.provider_id = d.provider_id \
               AND p.repo = d.repo AND p.environment = d.environment AND p.outcome = 0 \
               AND p.sha IS NOT NULL AND p.finished_at < d.finished_at \
               ORDER BY p.finished_at DESC, p.id DESC LIMIT 1) AS base \
             FROM deployments d WHERE d.provider_id = $1 AND d.repo = $2 AND d.outcome = 0 \
               AND d.sha IS NOT NULL AND d.finished_at >= $3 \
               AND NOT EXISTS (SELECT 1 FROM commits c WHERE c.provider_id = d.provider_id \
                 AND c.repo = d.repo AND c.sha = d.sha) \
             ORDER BY d.finished_at, d.id LIMIT $4",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(since.timestamp())
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        let mut found = Vec::new();
        for row in &rows {
            let sha: String = row.try_get(0)?;
            let base: Option<String> = row.try_get(2)?;
            if let Some(base) = base.filter(|base| *base != sha) {
                found.push(UnlistedDeployment { sha, git_ref: row.try_get(1)?, base });
            }
        }
        Ok(found)
    }
}
