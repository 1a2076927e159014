//! Aggregate queries behind `/api/metrics/summary`. They return raw counts
//! and durations; the arithmetic (rates, averages, percentiles) lives in
//! `crate::metrics`, where it is defined and unit-tested.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::BuildStatus;
use crate::domain::time::from_unix;

/// Per-repository aggregates over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoAggregate {
    pub repo: String,
    pub total: i64,
    pub success: i64,
    pub failed: i64,
    /// Sum and count of `duration_seconds` of completed success/failed attempts.
    pub duration_sum: i64,
    pub duration_count: i64,
    /// Normalised status of the repository's latest attempt.
    pub last_status: Option<BuildStatus>,
}

/// Everything the summary is computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryInputs {
    /// Attempts in the window by normalised status.
    pub by_status: HashMap<BuildStatus, i64>,
    /// Attempts in the window whose provider status is `completed`.
    pub completed: i64,
    /// `duration_seconds` of completed success/failed attempts in the window.
    pub durations: Vec<i64>,
    /// Status of the attempt with the latest start, over all time.
    pub last_status: Option<BuildStatus>,
    /// When any attempt was last written.
    pub last_updated: Option<DateTime<Utc>>,
    pub by_repo: Vec<RepoAggregate>,
}

const BY_STATUS: &str = "SELECT status, COUNT(*) AS n, \
     CAST(SUM(CASE WHEN provider_status = 'completed' THEN 1 ELSE 0 END) AS BIGINT) AS completed \
     FROM builds WHERE sort_at >= $1 GROUP BY status";

const DURATIONS: &str = "SELECT duration_seconds FROM builds \
     WHERE sort_at >= $1 AND status IN ('success', 'failed') AND duration_seconds IS NOT NULL";

const LAST: &str = "SELECT status, (SELECT MAX(changed_at) FROM builds) AS changed \
     FROM builds ORDER BY sort_at DESC, id DESC LIMIT 1";

const BY_REPO: &str = "SELECT repo, COUNT(*) AS total, \
     CAST(SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS BIGINT) AS success, \
     CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
     CAST(SUM(CASE WHEN status IN ('success', 'failed') AND duration_seconds IS NOT NULL \
         THEN duration_seconds ELSE 0 END) AS BIGINT) AS duration_sum, \
     CAST(SUM(CASE WHEN status IN ('success', 'failed') AND duration_seconds IS NOT NULL \
         THEN 1 ELSE 0 END) AS BIGINT) AS duration_count \
     FROM builds WHERE sort_at >= $1 GROUP BY repo ORDER BY repo";

const LAST_BY_REPO: &str = "SELECT repo, status FROM (SELECT repo, status, ROW_NUMBER() OVER \
     (PARTITION BY repo ORDER BY sort_at DESC, id DESC) AS rn FROM builds WHERE sort_at >= $1) t \
     WHERE rn = 1";

impl Store {
    /// Raw inputs of the summary for attempts whose start (this attempt's
    /// `run_started_at`, else `created_at`) is at or after `since`.
    pub async fn summary_inputs(&self, since: DateTime<Utc>) -> Result<SummaryInputs, StoreError> {
        let since = since.timestamp();
        let mut inputs = SummaryInputs::default();
        for row in sqlx::query(BY_STATUS)
            .bind(since)
            .fetch_all(&self.read)
            .await?
        {
            let status: String = row.try_get("status")?;
            let status = BuildStatus::parse(&status).unwrap_or(BuildStatus::Unknown);
            *inputs.by_status.entry(status).or_default() += row.try_get::<i64, _>("n")?;
            inputs.completed += row.try_get::<Option<i64>, _>("completed")?.unwrap_or(0);
        }
        inputs.durations = sqlx::query(DURATIONS)
            .bind(since)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        if let Some(row) = sqlx::query(LAST).fetch_optional(&self.read).await? {
            let status: String = row.try_get("status")?;
            inputs.last_status = Some(BuildStatus::parse(&status).unwrap_or(BuildStatus::Unknown));
            inputs.last_updated = row
                .try_get::<Option<i64>, _>("changed")?
                .and_then(from_unix);
        }
        let mut last_by_repo: HashMap<String, BuildStatus> = HashMap::new();
        for row in sqlx::query(LAST_BY_REPO)
            .bind(since)
            .fetch_all(&self.read)
            .await?
        {
            let status: String = row.try_get("status")?;
            last_by_repo.insert(
                row.try_get("repo")?,
                BuildStatus::parse(&status).unwrap_or(BuildStatus::Unknown),
            );
        }
        for row in sqlx::query(BY_REPO)
            .bind(since)
            .fetch_all(&self.read)
            .await?
        {
            let repo: String = row.try_get("repo")?;
            inputs.by_repo.push(RepoAggregate {
                last_status: last_by_repo.get(&repo).copied(),
                repo,
                total: row.try_get("total")?,
                success: row.try_get::<Option<i64>, _>("success")?.unwrap_or(0),
                failed: row.try_get::<Option<i64>, _>("failed")?.unwrap_or(0),
                duration_sum: row.try_get::<Option<i64>, _>("duration_sum")?.unwrap_or(0),
                duration_count: row
                    .try_get::<Option<i64>, _>("duration_count")?
                    .unwrap_or(0),
            });
        }
        Ok(inputs)
    }
}
