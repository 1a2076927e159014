//! Reading deployments, commits and incidents for the DORA figures and
//! the deployments list.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::rows::{DEPLOYMENT_COLUMNS, INCIDENT_SELECT, deployment_from_row, incident_row};
use crate::domain::deployment::{Deployment, Incident};
use crate::domain::time::from_unix;
use crate::domain::{ProviderKind, RepoName};
use crate::store::rows::{provider_from_id, provider_id};
use crate::store::{Deployments, StoreError};

/// A stored deployment and whether its deploy job was allowed to fail.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentRow {
    pub id: i64,
    pub deployment: Deployment,
    /// Its deploy job (`job_id`) is stored with `allow_failure`: its
    /// failure is not a failed deployment.
    pub allow_failure: bool,
}

/// Which deployments a read covers: finished in `[from, to)` (or, with
/// `pending`, also those with no final status yet, by creation time),
/// narrowed to one repository and/or one environment name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentFilter {
    pub repo: Option<String>,
    pub environment: Option<String>,
    pub provider: Option<ProviderKind>,
    pub pending: bool,
}

/// A commit as stored, with the push that brought it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCommit {
    pub sha: String,
    pub authored_at: Option<DateTime<Utc>>,
    pub committed_at: Option<DateTime<Utc>>,
    pub push_head: String,
    pub push_before: Option<String>,
    pub position: i64,
}

impl Deployments<'_> {
    /// Deployments of `filter` that finished in `[from, to)`, oldest
    /// first (ties by id); `limit` caps the count (newest kept when cut).
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn deployments(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &DeploymentFilter,
        limit: i64,
    ) -> Result<Vec<DeploymentRow>, StoreError> {
        let at = if filter.pending {
            "COALESCE(d.finished_at, d.created_at, d.status_at, d.changed_at)"
        } else {
            "d.finished_at"
        };
        let mut sql = format!(
            "SELECT {DEPLOYMENT_COLUMNS}, COALESCE(j.allow_failure, 0) AS allowed FROM deployments d \
             LEFT JOIN jobs j ON j.provider_id = d.provider_id AND j.external_id = d.job_id \
             WHERE {at} >= $1 AND {at} < $2"
        );
        let mut texts: Vec<String> = Vec::new();
        if let Some(repo) = &filter.repo {
            texts.push(repo.clone());
            sql.push_str(&format!(" AND d.repo = ${}", texts.len() + 2));
        }
        if let Some(environment) = &filter.environment {
            texts.push(environment.clone());
            sql.push_str(&format!(" AND d.environment = ${}", texts.len() + 2));
        }
        if let Some(kind) = filter.provider {
            sql.push_str(&format!(" AND d.provider_id = {}", provider_id(kind)));
        }
        sql.push_str(&format!(" ORDER BY {at} DESC, d.id DESC LIMIT ${}", texts.len() + 3));
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(from.timestamp()).bind(to.timestamp());
        for text in texts {
            query = query.bind(text);
        }
        let rows = query.bind(limit).fetch_all(&self.read).await?;
        let mut out = rows
            .iter()
            .map(|row| {
                let (id, deployment) = deployment_from_row(row)?;
                let allowed: i64 = row.try_get("allowed")?;
                Ok(DeploymentRow { id, deployment, allow_failure: allowed != 0 })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.reverse();
        Ok(out)
    }

    /// The commits first seen at or after `since` (of `repo` only, if
    /// given), each with its provider and repository: one query for every
    /// repository a read needs.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn commits(
        &self,
        since: DateTime<Utc>,
        repo: Option<&RepoName>,
    ) -> Result<Vec<(ProviderKind, String, StoredCommit)>, StoreError> {
        let mut sql =
            "SELECT provider_id, repo, sha, authored_at, committed_at, push_head, push_before, position \
             FROM commits WHERE first_seen >= $1"
                .to_owned();
        if repo.is_some() {
            sql.push_str(" AND repo = $2");
        }
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(since.timestamp());
        if let Some(repo) = repo {
            query = query.bind(repo.as_str().to_owned());
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    provider_from_id(row.try_get(0)?)?,
                    row.try_get(1)?,
                    StoredCommit {
                        sha: row.try_get(2)?,
                        authored_at: row.try_get::<Option<i64>, _>(3)?.and_then(from_unix),
                        committed_at: row.try_get::<Option<i64>, _>(4)?.and_then(from_unix),
                        push_head: row.try_get(5)?,
                        push_before: row.try_get(6)?,
                        position: row.try_get(7)?,
                    },
                ))
            })
            .collect()
    }

    /// Incidents open at some time in `[from, to)`: opened before `to` and
    /// not resolved before `from`.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn incidents(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Incident>, StoreError> {
        let sql = format!(
            "SELECT {INCIDENT_SELECT} FROM incidents WHERE opened_at < $1 \
             AND (resolved_at IS NULL OR resolved_at >= $2) ORDER BY opened_at, id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(to.timestamp())
            .bind(from.timestamp())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(incident_row).collect()
    }
}
