//! The aggregate reads behind `/api/metrics/summary`. Each query scans only
//! the window, through a covering index on `sort_at` (the `MATERIALIZED`
//! CTE keeps both planners on that index), and returns a handful of rows:
//! counts per status, per-repository aggregates, and the sorted durations
//! at the ranks a percentile needs. The arithmetic (rates, averages,
//! percentile interpolation) lives in `crate::metrics`.

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

/// Everything the summary is computed from, but the percentiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryInputs {
    /// Attempts in the window by normalised status.
    pub by_status: HashMap<BuildStatus, i64>,
    /// Attempts in the window whose provider status is `completed`.
    pub completed: i64,
    /// Count and sum of `duration_seconds` of completed success/failed
    /// attempts in the window (the build-time population).
    pub duration_count: i64,
    pub duration_sum: i64,
    /// Status of the attempt with the latest start, over all time.
    pub last_status: Option<BuildStatus>,
    /// When any attempt was last written.
    pub last_updated: Option<DateTime<Utc>>,
    /// Repositories in the window, by name.
    pub by_repo: Vec<RepoAggregate>,
}

macro_rules! window {
    () => {
        "WITH w AS MATERIALIZED (SELECT sort_at, id, status, provider_status, duration_seconds, repo, \
         CASE WHEN status IN ('success', 'failed') AND duration_seconds IS NOT NULL THEN 1 ELSE 0 END AS timed \
         FROM builds WHERE sort_at >= $1) "
    };
}

const BY_STATUS: &str = concat!(
    window!(),
    "SELECT status, COUNT(*) AS n, \
     CAST(SUM(CASE WHEN provider_status = 'completed' THEN 1 ELSE 0 END) AS BIGINT) AS completed, \
     CAST(SUM(timed) AS BIGINT) AS timed, \
     CAST(SUM(CASE WHEN timed = 1 THEN duration_seconds ELSE 0 END) AS BIGINT) AS duration_sum \
     FROM w GROUP BY status"
);

const BY_REPO: &str = concat!(
    window!(),
    "SELECT repo, COUNT(*) AS total, \
     CAST(SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS BIGINT) AS success, \
     CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
     CAST(SUM(timed) AS BIGINT) AS duration_count, \
     CAST(SUM(CASE WHEN timed = 1 THEN duration_seconds ELSE 0 END) AS BIGINT) AS duration_sum, \
     MAX(CASE WHEN rn = 1 THEN status END) AS last_status \
     FROM (SELECT w.*, ROW_NUMBER() OVER (PARTITION BY repo ORDER BY sort_at DESC, id DESC) AS rn FROM w) t \
     GROUP BY repo ORDER BY repo"
);

const DURATIONS_AT: &str = concat!(
    window!(),
    "SELECT duration_seconds FROM w WHERE timed = 1 ORDER BY duration_seconds LIMIT $2 OFFSET $3"
);

const LAST: &str = "SELECT status, (SELECT MAX(changed_at) FROM builds) AS changed \
     FROM builds ORDER BY sort_at DESC, id DESC LIMIT 1";

fn status(text: &str) -> BuildStatus {
    BuildStatus::parse(text).unwrap_or(BuildStatus::Unknown)
}

fn sum(row: &sqlx::any::AnyRow, column: &str) -> Result<i64, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(column)?.unwrap_or(0))
}

impl Store {
    /// Raw inputs of the summary for attempts whose start (this attempt's
    /// `run_started_at`, else `created_at`) is at or after `since`.
    pub async fn summary_inputs(&self, since: DateTime<Utc>) -> Result<SummaryInputs, StoreError> {
        let since = since.timestamp();
        let mut inputs = SummaryInputs::default();
        for row in sqlx::query(BY_STATUS).bind(since).fetch_all(&self.read).await? {
            *inputs.by_status.entry(status(row.try_get::<&str, _>("status")?)).or_default() +=
                row.try_get::<i64, _>("n")?;
            inputs.completed += sum(&row, "completed")?;
            inputs.duration_count += sum(&row, "timed")?;
            inputs.duration_sum += sum(&row, "duration_sum")?;
        }
        for row in sqlx::query(BY_REPO).bind(since).fetch_all(&self.read).await? {
            inputs.by_repo.push(RepoAggregate {
                repo: row.try_get("repo")?,
                total: row.try_get("total")?,
                success: sum(&row, "success")?,
                failed: sum(&row, "failed")?,
                duration_sum: sum(&row, "duration_sum")?,
                duration_count: sum(&row, "duration_count")?,
                last_status: row.try_get::<Option<&str>, _>("last_status")?.map(status),
            });
        }
        if let Some(row) = sqlx::query(LAST).fetch_optional(&self.read).await? {
            inputs.last_status = Some(status(row.try_get::<&str, _>("status")?));
            inputs.last_updated = row.try_get::<Option<i64>, _>("changed")?.and_then(from_unix);
        }
        Ok(inputs)
    }

    /// The build-time population's values (durations of completed success
    /// and failed attempts started at or after `since`) at 0-based sorted
    /// ranks `first ..= last`, ascending.
    pub async fn durations_at_ranks(
        &self,
        since: DateTime<Utc>,
        first: usize,
        last: usize,
    ) -> Result<Vec<i64>, StoreError> {
        let count = last.saturating_sub(first) + 1;
        let rows = sqlx::query(DURATIONS_AT)
            .bind(since.timestamp())
            .bind(count as i64)
            .bind(first as i64)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(|row| row.try_get::<i64, _>(0)).collect::<Result<_, _>>()?)
    }
}
