//! A window's tally from its plan: raw scans and roll-up reads merged (the
//! reader's side of the roll-ups), and the attempt count behind an
//! unfiltered list's `total`.

use sqlx::Row;

use super::{
    DIRTY_DAYS, OPEN_END, QUEUE, QUEUED, RollupView, STALE_AFTER_SECONDS, TIMED, counts_select, earliest_day,
    plan,
};
use crate::domain::BuildStatus;
use crate::metrics::tally::{StatusTally, Tally};
use crate::store::MetricReads;
use crate::store::timeseries::filter_sql;
use crate::store::{Backend, PointFilter, StoreError};

impl MetricReads<'_> {
    /// The roll-ups' freshness as of `now` (Unix seconds), or `None` when
    /// they were not folded within [`STALE_AFTER_SECONDS`] (or never).
    pub async fn rollup_view(&self, now: i64) -> Result<Option<RollupView>, StoreError> {
        let Some((folded, mut view)) = self.rollup_state(now).await? else { return Ok(None) };
        let rows = sqlx::query(DIRTY_DAYS).bind(folded).bind(i64::MAX).fetch_all(&self.read).await?;
        view.dirty = rows.iter().map(|r| r.try_get::<i64, _>("day")).collect::<Result<_, _>>()?;
        Ok(Some(view))
    }

    /// `folded_through` and a view with the earliest day but no stale
    /// days, or `None` as [`MetricReads::rollup_view`].
    pub(in crate::store) async fn rollup_state(
        &self,
        now: i64,
    ) -> Result<Option<(i64, RollupView)>, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT folded_through FROM rollup_state WHERE id = 1) AS folded, \
             (SELECT MIN(sort_at) FROM builds WHERE sort_at > 0) AS min_start",
        )
        .fetch_one(&self.read)
        .await?;
        let Some(folded) = row.try_get::<Option<i64>, _>("folded")? else { return Ok(None) };
        if folded < now - STALE_AFTER_SECONDS {
            return Ok(None);
        }
        let min_day = earliest_day(row.try_get::<Option<i64>, _>("min_start")?);
        Ok(Some((folded, RollupView { min_day, ..RollupView::default() })))
    }

    /// The [`Tally`] of the attempts whose start is in `[start, end)`
    /// (Unix seconds; `end` `None`: no upper bound) matching `filter`, from
    /// roll-ups where `view` allows (never with a filter; see [`plan`]).
    pub async fn window_tally(
        &self,
        start: i64,
        end: Option<i64>,
        filter: &PointFilter,
        view: Option<&RollupView>,
    ) -> Result<Tally, StoreError> {
        let plan = plan(start, end, if filter.is_empty() { view } else { None });
        let (raw, rolled) = tokio::try_join!(
            self.raw_tally(&plan.raw, &plan.subtract, filter),
            self.rollup_tally(&plan.rollup_days)
        )?;
        let mut tally = raw;
        tally.merge(&rolled);
        Ok(tally)
    }

    /// Binds `spans` then the filter's values to `sql` and fetches.
    async fn fetch_spans(
        &self,
        sql: String,
        spans: &[(i64, i64)],
        texts: &[String],
    ) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        let bounds: Vec<i64> = spans.iter().flat_map(|&(a, b)| [a, b]).collect();
        self.fetch_bound(sql, &bounds, texts).await
    }

    /// The attempts of the `add` spans minus those of the `subtract` spans
    /// (one set of queries; each row carries its `sign`).
    async fn raw_tally(
        &self,
        add: &[(i64, i64)],
        subtract: &[(i64, i64)],
        filter: &PointFilter,
    ) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        let spans: Vec<(i64, i64)> = add.iter().chain(subtract).copied().collect();
        let spans = &spans[..];
        if spans.is_empty() {
            return Ok(tally);
        }
        let sign = if subtract.is_empty() {
            "CAST(1 AS BIGINT)".to_owned()
        } else {
            format!(
                "CAST(CASE WHEN {} THEN -1 ELSE 1 END AS BIGINT)",
                spans_sql("sort_at", subtract, 1 + 2 * add.len())
            )
        };
        // SQLite: keep the planner on the window index (see store/summary.rs).
        let table = match (self.backend, filter.is_empty()) {
            (Backend::Sqlite, true) => "builds INDEXED BY builds_window",
            _ => "builds",
        };
        let mut filter_clause = String::new();
        let texts = filter_sql(filter, &mut filter_clause, 1 + 2 * spans.len());
        let range = spans_sql("sort_at", spans, 1);
        let (counts, durations, queues) = tokio::try_join!(
            self.fetch_spans(
                format!(
                    "SELECT {sign} AS sign, {} WHERE {range}{filter_clause} GROUP BY repo, status, {sign}",
                    counts_select(table)
                ),
                spans,
                &texts
            ),
            self.fetch_spans(
                format!(
                    "SELECT {sign} AS sign, duration_seconds AS seconds, COUNT(*) AS attempts FROM {table} \
                     WHERE {range} AND {TIMED}{filter_clause} GROUP BY duration_seconds, {sign}"
                ),
                spans,
                &texts
            ),
            self.fetch_spans(
                format!(
                    "SELECT {sign} AS sign, {QUEUE} AS seconds, COUNT(*) AS attempts FROM {table} \
                     WHERE {range} AND {QUEUED}{filter_clause} GROUP BY {QUEUE}, {sign}"
                ),
                spans,
                &texts
            ),
        )?;
        fill(&mut tally, &counts, &durations, &queues)?;
        Ok(tally)
    }

    async fn rollup_tally(&self, days: &[(i64, i64)]) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        if days.is_empty() {
            return Ok(tally);
        }
        let range = spans_sql("day", days, 1);
        let histogram = |table: &str| {
            format!(
                "SELECT CAST(1 AS BIGINT) AS sign, seconds, CAST(SUM(attempts) AS BIGINT) AS attempts FROM {table} \
                 WHERE {range} GROUP BY seconds"
            )
        };
        let (counts, durations, queues) = tokio::try_join!(
            self.fetch_spans(
                format!(
                    "SELECT CAST(1 AS BIGINT) AS sign, repo, status, CAST(SUM(attempts) AS BIGINT) AS attempts, \
                     CAST(SUM(completed) AS BIGINT) AS completed, CAST(SUM(timed) AS BIGINT) AS timed, \
                     CAST(SUM(duration_sum) AS BIGINT) AS duration_sum FROM rollup_counts \
                     WHERE {range} GROUP BY repo, status"
                ),
                days,
                &[]
            ),
            self.fetch_spans(histogram("rollup_durations"), days, &[]),
            self.fetch_spans(histogram("rollup_queues"), days, &[]),
        )?;
        fill(&mut tally, &counts, &durations, &queues)?;
        Ok(tally)
    }

    /// The number of stored run attempts (`total` of an unfiltered
    /// `/api/builds`): summed from fresh roll-ups plus a count of the raw
    /// spans (never-started attempts, the earliest day, dirty days), else
    /// `COUNT(*)`.
    pub async fn count_attempts(&self) -> Result<i64, StoreError> {
        let view = self.rollup_view(chrono::Utc::now().timestamp()).await?;
        let plan = plan(-OPEN_END, None, view.as_ref());
        // All of history starts and ends on midnights: no edge day to subtract.
        debug_assert!(plan.subtract.is_empty(), "{plan:?}");
        let raw = async {
            if plan.raw.is_empty() {
                return Ok(0);
            }
            let sql =
                format!("SELECT COUNT(*) AS n FROM builds WHERE {}", spans_sql("sort_at", &plan.raw, 1));
            let rows = self.fetch_spans(sql, &plan.raw, &[]).await?;
            Ok::<i64, StoreError>(rows.first().map(|r| r.try_get::<i64, _>("n")).transpose()?.unwrap_or(0))
        };
        let rolled = async {
            if plan.rollup_days.is_empty() {
                return Ok(0);
            }
            let sql = format!(
                "SELECT CAST(SUM(attempts) AS BIGINT) AS n FROM rollup_counts WHERE {}",
                spans_sql("day", &plan.rollup_days, 1)
            );
            let rows = self.fetch_spans(sql, &plan.rollup_days, &[]).await?;
            Ok::<i64, StoreError>(
                rows.first().map(|r| r.try_get::<Option<i64>, _>("n")).transpose()?.flatten().unwrap_or(0),
            )
        };
        let (raw, rolled) = tokio::try_join!(raw, rolled)?;
        Ok(raw + rolled)
    }
}

/// `(column >= $n AND column < $n+1) OR …` for `spans`, numbering from `first`.
fn spans_sql(column: &str, spans: &[(i64, i64)], first: usize) -> String {
    let clauses: Vec<String> = (0..spans.len())
        .map(|i| format!("({column} >= ${} AND {column} < ${})", first + 2 * i, first + 2 * i + 1))
        .collect();
    format!("({})", clauses.join(" OR "))
}

/// Adds count rows (`sign, repo, status, attempts, completed, timed,
/// duration_sum`) and histogram rows (`sign, seconds, attempts`) to
/// `tally`, each multiplied by its `sign` (1 or −1).
fn fill(
    tally: &mut Tally,
    counts: &[sqlx::any::AnyRow],
    durations: &[sqlx::any::AnyRow],
    queues: &[sqlx::any::AnyRow],
) -> Result<(), StoreError> {
    let sum = |row: &sqlx::any::AnyRow, column: &str| -> Result<i64, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(column)?.unwrap_or(0))
    };
    for row in counts {
        let sign: i64 = row.try_get("sign")?;
        tally.add_counts(
            row.try_get("repo")?,
            BuildStatus::from_stored(row.try_get::<&str, _>("status")?),
            StatusTally {
                attempts: sign * sum(row, "attempts")?,
                completed: sign * sum(row, "completed")?,
                timed: sign * sum(row, "timed")?,
                duration_sum: sign * sum(row, "duration_sum")?,
            },
        );
    }
    for (rows, histogram) in [(durations, &mut tally.durations), (queues, &mut tally.queues)] {
        for row in rows {
            let sign: i64 = row.try_get("sign")?;
            histogram.add(row.try_get("seconds")?, sign * sum(row, "attempts")?);
        }
    }
    Ok(())
}
