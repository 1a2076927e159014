//! The reads behind `/api/metrics/summary`: the two windows' tallies (from
//! roll-ups and raw scans, `super::rollups`), the figures about now
//! (unfinished attempts, latest status, last write) and each repository's
//! latest status. The arithmetic (rates, averages, percentile
//! interpolation) lives in `crate::metrics`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::timeseries::filter_sql;
use super::{Backend, PointFilter, StoreError};
use crate::domain::BuildStatus;
use crate::domain::time::from_unix;
use crate::metrics::summary::{BuildTimePercentiles, RepoAggregate, SummaryInputs};
use crate::metrics::tally::Tally;
use crate::store::MetricReads;

/// Attempts by status since `$1` for the `/metrics` gauge, with `$hint`
/// after the table name: SQLite gets `INDEXED BY builds_window` so its
/// planner never trades the window range scan for a whole-index scan that
/// merely avoids a sort; PostgreSQL plans from its statistics.
macro_rules! by_status_since {
    ($hint:literal) => {
        concat!("SELECT status, COUNT(*) AS n FROM builds", $hint, " WHERE sort_at >= $1 GROUP BY status")
    };
}

const SQLITE_BY_STATUS: &str = by_status_since!(" INDEXED BY builds_window");
const POSTGRES_BY_STATUS: &str = by_status_since!("");

impl MetricReads<'_> {
    /// Run attempts started since `since`, by normalised status (for the
    /// `/metrics` gauge; one range scan of the window index).
    pub async fn status_counts_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(crate::domain::BuildStatus, i64)>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => SQLITE_BY_STATUS,
            Backend::Postgres => POSTGRES_BY_STATUS,
        };
        let rows = sqlx::query(sql).bind(since.timestamp()).fetch_all(&self.read).await?;
        let mut counts: std::collections::BTreeMap<&'static str, (crate::domain::BuildStatus, i64)> =
            std::collections::BTreeMap::new();
        for row in rows {
            let status = BuildStatus::from_stored(row.try_get::<&str, _>("status")?);
            counts.entry(status.as_str()).or_insert((status, 0)).1 += row.try_get::<i64, _>("n")?;
        }
        Ok(counts.into_values().collect())
    }

    /// Everything `/api/metrics/summary` is computed from, for attempts
    /// matching `filter`: the window `[since, ∞)` (its inputs and build-time
    /// percentiles) and the previous window `[before, since)` (its tally).
    /// Unfiltered windows are read from daily roll-ups where they are fresh
    /// (`super::rollups`); the answer is the same either way.
    pub async fn summary_inputs(
        &self,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
        before: DateTime<Utc>,
        filter: &PointFilter,
    ) -> Result<(SummaryInputs, BuildTimePercentiles, Tally), StoreError> {
        let view = if filter.is_empty() { self.rollup_view(now.timestamp()).await? } else { None };
        let (current, previous, mut inputs) = tokio::try_join!(
            self.window_tally(since.timestamp(), None, filter, view.as_ref()),
            self.window_tally(before.timestamp(), Some(since.timestamp()), filter, view.as_ref()),
            self.summary_now(filter),
        )?;
        let window = current.summary_inputs();
        inputs.by_status = window.by_status;
        inputs.completed = window.completed;
        inputs.duration_count = window.duration_count;
        inputs.duration_sum = window.duration_sum;
        inputs.median_queue_seconds = window.median_queue_seconds;
        inputs.by_repo = self.with_latest_status(window.by_repo, filter).await?;
        Ok((inputs, current.build_time_percentiles(), previous))
    }

    /// The parts of the summary that are about now, over all time: unfinished
    /// attempts, the latest attempt's status and the last write.
    async fn summary_now(&self, filter: &PointFilter) -> Result<SummaryInputs, StoreError> {
        let mut now_sql =
            String::from("SELECT status, COUNT(*) AS n FROM builds WHERE status IN ('running', 'queued')");
        let now_texts = filter_sql(filter, &mut now_sql, 1);
        now_sql.push_str(" GROUP BY status");
        let mut last_sql = String::from("SELECT status FROM builds WHERE 1 = 1");
        let last_texts = filter_sql(filter, &mut last_sql, 1);
        last_sql.push_str(" ORDER BY sort_at DESC, id DESC LIMIT 1");
        let mut changed_sql = String::from("SELECT MAX(changed_at) AS changed FROM builds WHERE 1 = 1");
        let changed_texts = filter_sql(filter, &mut changed_sql, 1);
        let (now, last, changed) = tokio::try_join!(
            self.fetch_bound(now_sql, &[], &now_texts),
            self.fetch_bound(last_sql, &[], &last_texts),
            self.fetch_bound(changed_sql, &[], &changed_texts),
        )?;
        let mut inputs = SummaryInputs::default();
        for row in now {
            let n: i64 = row.try_get("n")?;
            match BuildStatus::from_stored(row.try_get::<&str, _>("status")?) {
                BuildStatus::Running => inputs.running_now += n,
                BuildStatus::Queued => inputs.queued_now += n,
                _ => {}
            }
        }
        if let Some(row) = last.first() {
            inputs.last_status = Some(BuildStatus::from_stored(row.try_get::<&str, _>("status")?));
        }
        if let Some(row) = changed.first() {
            inputs.last_updated = row.try_get::<Option<i64>, _>("changed")?.and_then(from_unix);
        }
        Ok(inputs)
    }

    /// `repos` with each one's latest attempt's status (over all time, on
    /// the filter's branch and provider if it has them). A repository with an attempt in a
    /// window that has no upper bound has its latest attempt in it.
    async fn with_latest_status(
        &self,
        mut repos: Vec<RepoAggregate>,
        filter: &PointFilter,
    ) -> Result<Vec<RepoAggregate>, StoreError> {
        for chunk in repos.chunks_mut(500) {
            let values: Vec<String> = (1..=chunk.len()).map(|i| format!("(${i})")).collect();
            let mut texts: Vec<String> = chunk.iter().map(|r| r.repo.clone()).collect();
            let mut branch = match &filter.branch {
                Some(branch) => {
                    texts.push(branch.to_string());
                    format!(" AND b.branch = ${}", chunk.len() + 1)
                }
                None => String::new(),
            };
            if let Some(provider) = filter.provider {
                texts.push(provider.kind().to_owned());
                branch.push_str(&format!(
                    " AND b.provider_id = (SELECT id FROM providers WHERE kind = ${})",
                    texts.len()
                ));
            }
            let sql = format!(
                "SELECT v.column1 AS repo, (SELECT b.status FROM builds b WHERE b.repo = v.column1{branch} \
                 ORDER BY b.sort_at DESC, b.id DESC LIMIT 1) AS status FROM (VALUES {}) AS v",
                values.join(", ")
            );
            let rows = self.fetch_bound(sql, &[], &texts).await?;
            for row in rows {
                let repo: String = row.try_get("repo")?;
                let latest = row.try_get::<Option<&str>, _>("status")?.map(BuildStatus::from_stored);
                if let Some(line) = chunk.iter_mut().find(|r| r.repo == repo) {
                    line.last_status = latest;
                }
            }
        }
        Ok(repos)
    }
}
