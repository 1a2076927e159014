//! The aggregate reads behind `/api/metrics/summary`. Each query scans only
//! the window, through a covering index on `sort_at`, and returns a handful
//! of rows:
//! counts per status, per-repository aggregates, and the sorted durations
//! at the ranks a percentile needs. The arithmetic (rates, averages,
//! percentile interpolation) lives in `crate::metrics`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Backend, Store, StoreError};
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
    /// Type-7 median of `queue_seconds` of the window's attempts that have one.
    pub median_queue_seconds: Option<f64>,
    /// Attempts whose normalised status is `running` / `queued` now, over all time.
    pub running_now: i64,
    pub queued_now: i64,
}

/// The three window queries, with `$hint` after the table name: SQLite gets
/// `INDEXED BY builds_window` so its planner never trades the window range
/// scan for a whole-index scan that merely avoids a sort; PostgreSQL plans
/// from its statistics.
macro_rules! window_queries {
    ($hint:literal) => {
        WindowQueries {
            by_status: concat!(
                "SELECT status, COUNT(*) AS n, \
                 CAST(SUM(CASE WHEN provider_status = 'completed' THEN 1 ELSE 0 END) AS BIGINT) AS completed, \
                 CAST(SUM(CASE WHEN status IN ('success', 'failed') AND duration_seconds IS NOT NULL \
                     THEN 1 ELSE 0 END) AS BIGINT) AS timed, \
                 CAST(SUM(CASE WHEN status IN ('success', 'failed') AND duration_seconds IS NOT NULL \
                     THEN duration_seconds ELSE 0 END) AS BIGINT) AS duration_sum \
                 FROM builds",
                $hint,
                " WHERE sort_at >= $1 GROUP BY status"
            ),
            // The latest attempt of a repository that has one in the window is
            // itself in the window (windows have no upper bound), so the
            // correlated lookup over all time answers "latest in the window".
            by_repo: concat!(
                "SELECT w.repo AS repo, COUNT(*) AS total, \
                 CAST(SUM(CASE WHEN w.status = 'success' THEN 1 ELSE 0 END) AS BIGINT) AS success, \
                 CAST(SUM(CASE WHEN w.status = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
                 CAST(SUM(CASE WHEN w.status IN ('success', 'failed') AND w.duration_seconds IS NOT NULL \
                     THEN 1 ELSE 0 END) AS BIGINT) AS duration_count, \
                 CAST(SUM(CASE WHEN w.status IN ('success', 'failed') AND w.duration_seconds IS NOT NULL \
                     THEN w.duration_seconds ELSE 0 END) AS BIGINT) AS duration_sum, \
                 (SELECT b.status FROM builds b WHERE b.repo = w.repo \
                     ORDER BY b.sort_at DESC, b.id DESC LIMIT 1) AS last_status \
                 FROM builds w",
                $hint,
                " WHERE w.sort_at >= $1 GROUP BY w.repo ORDER BY w.repo"
            ),
            // One sort of the population; only the asked ranks come back.
            durations_at: concat!(
                "SELECT pos, duration_seconds FROM (SELECT duration_seconds, \
                 ROW_NUMBER() OVER (ORDER BY duration_seconds) - 1 AS pos FROM builds",
                $hint,
                " WHERE sort_at >= $1 AND status IN ('success', 'failed') AND duration_seconds IS NOT NULL) t \
                 WHERE pos IN ($2, $3, $4, $5)"
            ),
        }
    };
}

struct WindowQueries {
    by_status: &'static str,
    by_repo: &'static str,
    durations_at: &'static str,
}

const SQLITE_WINDOW: WindowQueries = window_queries!(" INDEXED BY builds_window");
const POSTGRES_WINDOW: WindowQueries = window_queries!("");

/// Type-7 median of queue times (clamped to 0, as `RunAttempt::queue_seconds`):
/// the mean of the values at sorted ranks ⌊(n−1)/2⌋ and ⌊n/2⌋.
const MEDIAN_QUEUE: &str = "SELECT CAST(AVG(q) AS DOUBLE PRECISION) AS median FROM ( \
     SELECT q, ROW_NUMBER() OVER (ORDER BY q) - 1 AS pos, COUNT(*) OVER () AS n FROM ( \
     SELECT CASE WHEN first_job_started_at > started_at THEN first_job_started_at - started_at ELSE 0 END AS q \
     FROM builds WHERE sort_at >= $1 AND started_at IS NOT NULL AND first_job_started_at IS NOT NULL) s) t \
     WHERE pos = (n - 1) / 2 OR pos = n / 2";

/// Unfinished attempts now, over all time (through `builds_by_status_start`).
const NOW: &str =
    "SELECT status, COUNT(*) AS n FROM builds WHERE status IN ('running', 'queued') GROUP BY status";

const LAST: &str = "SELECT status, (SELECT MAX(changed_at) FROM builds) AS changed \
     FROM builds ORDER BY sort_at DESC, id DESC LIMIT 1";

fn status(text: &str) -> BuildStatus {
    BuildStatus::parse(text).unwrap_or(BuildStatus::Unknown)
}

fn sum(row: &sqlx::any::AnyRow, column: &str) -> Result<i64, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(column)?.unwrap_or(0))
}

impl Store {
    fn window_queries(&self) -> &'static WindowQueries {
        match self.backend {
            Backend::Sqlite => &SQLITE_WINDOW,
            Backend::Postgres => &POSTGRES_WINDOW,
        }
    }

    /// Raw inputs of the summary for attempts whose start (this attempt's
    /// `run_started_at`, else `created_at`) is at or after `since`.
    /// Run attempts started since `since`, by normalised status (for the
    /// `/metrics` gauge; one range scan of the window index).
    pub async fn status_counts_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(crate::domain::BuildStatus, i64)>, StoreError> {
        let rows = sqlx::query(self.window_queries().by_status)
            .bind(since.timestamp())
            .fetch_all(&self.read)
            .await?;
        let mut counts: std::collections::BTreeMap<&'static str, (crate::domain::BuildStatus, i64)> =
            std::collections::BTreeMap::new();
        for row in rows {
            let status = status(row.try_get::<&str, _>("status")?);
            counts.entry(status.as_str()).or_insert((status, 0)).1 += row.try_get::<i64, _>("n")?;
        }
        Ok(counts.into_values().collect())
    }

    pub async fn summary_inputs(&self, since: DateTime<Utc>) -> Result<SummaryInputs, StoreError> {
        let since = since.timestamp();
        let queries = self.window_queries();
        let (by_status, by_repo, last, median_queue, now) = tokio::try_join!(
            sqlx::query(queries.by_status).bind(since).fetch_all(&self.read),
            sqlx::query(queries.by_repo).bind(since).fetch_all(&self.read),
            sqlx::query(LAST).fetch_optional(&self.read),
            sqlx::query(MEDIAN_QUEUE).bind(since).fetch_one(&self.read),
            sqlx::query(NOW).fetch_all(&self.read),
        )?;
        let mut inputs = SummaryInputs {
            median_queue_seconds: median_queue.try_get::<Option<f64>, _>("median")?,
            ..SummaryInputs::default()
        };
        for row in now {
            let n: i64 = row.try_get("n")?;
            match status(row.try_get::<&str, _>("status")?) {
                BuildStatus::Running => inputs.running_now += n,
                BuildStatus::Queued => inputs.queued_now += n,
                _ => {}
            }
        }
        for row in by_status {
            *inputs.by_status.entry(status(row.try_get::<&str, _>("status")?)).or_default() +=
                row.try_get::<i64, _>("n")?;
            inputs.completed += sum(&row, "completed")?;
            inputs.duration_count += sum(&row, "timed")?;
            inputs.duration_sum += sum(&row, "duration_sum")?;
        }
        for row in by_repo {
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
        if let Some(row) = last {
            inputs.last_status = Some(status(row.try_get::<&str, _>("status")?));
            inputs.last_updated = row.try_get::<Option<i64>, _>("changed")?.and_then(from_unix);
        }
        Ok(inputs)
    }

    /// The build-time population's values (durations of completed success
    /// and failed attempts started at or after `since`) at the given 0-based
    /// sorted ranks, as `(rank, value)` pairs.
    pub async fn durations_at_ranks(
        &self,
        since: DateTime<Utc>,
        ranks: [usize; 4],
    ) -> Result<Vec<(usize, i64)>, StoreError> {
        let mut query = sqlx::query(self.window_queries().durations_at).bind(since.timestamp());
        for rank in ranks {
            query = query.bind(rank as i64);
        }
        let rows = query.fetch_all(&self.read).await?;
        Ok(rows
            .iter()
            .map(|row| {
                Ok((row.try_get::<i64, _>("pos")? as usize, row.try_get::<i64, _>("duration_seconds")?))
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
