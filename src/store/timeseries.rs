//! The per-attempt reads behind `/api/metrics/timeseries`, the summary's
//! previous window and `/api/metrics/health`: one small row per attempt started in a UTC range. Bucket
//! and percentile arithmetic lives in `crate::metrics::timeseries`; this
//! module only selects rows.
//!
//! Every attempt of the range is read (five integers and a status each):
//! percentiles per day need the values themselves, and day boundaries in the
//! viewer's time zone are not fixed offsets SQL could group by portably.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::StoreError;
use crate::domain::time::{elapsed_seconds, from_unix};
use crate::domain::{BranchName, BuildStatus, ProviderKind, RepoName};
use crate::metrics::health::HealthRow;
use crate::metrics::timeseries::Point;
use crate::store::MetricReads;

/// Optional exact-match filters of the time series.
#[derive(Debug, Clone, Default)]
pub struct PointFilter {
    pub repo: Option<RepoName>,
    pub branch: Option<BranchName>,
    /// Only attempts of this provider.
    pub provider: Option<ProviderKind>,
}

impl PointFilter {
    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.repo.is_none() && self.branch.is_none() && self.provider.is_none()
    }
}

/// Appends the filter's `AND` clauses to `sql`, numbering placeholders
/// from `first`; answers the values to bind, in order.
pub(super) fn filter_sql(filter: &PointFilter, sql: &mut String, first: usize) -> Vec<String> {
    let mut texts = Vec::new();
    let repo = filter.repo.as_ref().map(RepoName::as_str);
    let branch = filter.branch.as_ref().map(BranchName::as_str);
    for (column, value) in [("repo", repo), ("branch", branch)] {
        if let Some(value) = value {
            sql.push_str(&format!(" AND {column} = ${}", first + texts.len()));
            texts.push(value.to_owned());
        }
    }
    if let Some(provider) = filter.provider {
        // Bound as its kind (every filter value is text), looked up once.
        sql.push_str(&format!(
            " AND provider_id = (SELECT id FROM providers WHERE kind = ${})",
            first + texts.len()
        ));
        texts.push(provider.kind().to_owned());
    }
    texts
}

impl MetricReads<'_> {
    /// Runs `sql` on the read pool with `numbers` then `texts` bound in
    /// order (`$1`, `$2`, …). `sql` must hold only column names and numbered
    /// placeholders formatted in, never a value.
    pub(super) async fn fetch_bound(
        &self,
        sql: String,
        numbers: &[i64],
        texts: &[String],
    ) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for number in numbers {
            query = query.bind(*number);
        }
        for text in texts {
            query = query.bind(text.clone());
        }
        Ok(query.fetch_all(&self.read).await?)
    }

    /// One [`Point`] per attempt whose start is in `[since, until)`, with the
    /// filter applied. Attempts with no start yet are never included.
    pub async fn window_points(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        filter: &PointFilter,
    ) -> Result<Vec<Point>, StoreError> {
        let mut sql = String::from(
            "SELECT sort_at, status, duration_seconds, started_at, first_job_started_at \
             FROM builds WHERE sort_at >= $1 AND sort_at < $2",
        );
        let texts = filter_sql(filter, &mut sql, 3);
        let rows = self.fetch_bound(sql, &[since.timestamp(), until.timestamp()], &texts).await?;
        rows.iter()
            .map(|row| {
                let started = row.try_get::<Option<i64>, _>("started_at")?.and_then(from_unix);
                let first_job = row.try_get::<Option<i64>, _>("first_job_started_at")?.and_then(from_unix);
                Ok(Point {
                    start: row.try_get("sort_at")?,
                    status: BuildStatus::from_stored(row.try_get::<&str, _>("status")?),
                    duration_seconds: row.try_get("duration_seconds")?,
                    queue_seconds: elapsed_seconds(started, first_job),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}

impl MetricReads<'_> {
    /// One [`HealthRow`] per attempt started at or after `since` that
    /// matches the filter, in no particular order (the health arithmetic
    /// does not need one, and sorting a window's attempts costs more than
    /// reading them).
    pub async fn health_rows(
        &self,
        since: DateTime<Utc>,
        filter: &PointFilter,
    ) -> Result<Vec<HealthRow>, StoreError> {
        let mut sql = String::from(
            "SELECT id, provider_id, repo, workflow, branch, status, sort_at FROM builds WHERE sort_at >= $1",
        );
        let texts = filter_sql(filter, &mut sql, 2);
        let rows = self.fetch_bound(sql, &[since.timestamp()], &texts).await?;
        rows.iter()
            .map(|row| {
                Ok(HealthRow {
                    id: row.try_get("id")?,
                    provider: super::rows::provider_from_id(row.try_get("provider_id")?)?,
                    repo: row.try_get("repo")?,
                    workflow: row.try_get("workflow")?,
                    branch: row.try_get("branch")?,
                    status: BuildStatus::from_stored(row.try_get::<&str, _>("status")?),
                    start: row.try_get("sort_at")?,
                })
            })
            .collect::<Result<_, StoreError>>()
    }

    /// The provider URLs of the attempts `ids` that have one, by id (ids
    /// not stored, or without a URL, are left out).
    pub async fn build_urls(&self, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
        let mut urls = HashMap::new();
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT id, url FROM builds WHERE url IS NOT NULL AND id IN ({})",
                placeholders.join(", ")
            );
            for row in self.fetch_bound(sql, chunk, &[]).await? {
                urls.insert(row.try_get("id")?, row.try_get("url")?);
            }
        }
        Ok(urls)
    }
}
