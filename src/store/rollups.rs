//! Daily roll-ups behind `/api/metrics/summary`, so its cost is bounded by
//! the number of days, not the number of attempts in the window.
//!
//! Three tables keyed by UTC day (`sort_at / 86400`): `rollup_counts` (per
//! repository and status: attempts, completed, timed, duration sum),
//! `rollup_durations` and `rollup_queues` (exact histograms, whole seconds →
//! attempts). A window is answered as the merge ([`Tally::merge`]) of
//!
//! - the roll-ups of the whole days inside it that are *clean*, and
//! - raw scans of everything else: the partial day at each edge, and every
//!   *dirty* day,
//!
//! which is exactly what one scan of the window would give.
//!
//! Freshness, without touching the ingest path beyond one expression: the
//! `rollups` job ([`Store::fold_rollups`], run on one replica) recomputes,
//! from the attempts themselves, every day that has an attempt changed
//! since the previous fold (`changed_at`), or that an attempt's start moved
//! out of (`builds.moved_from`, set by the ingest `UPDATE`), and records the
//! time it folded through in `rollup_state`. It folds only changes at least
//! [`FOLD_MARGIN_SECONDS`] old, so a transaction that took its timestamp
//! earlier has committed by then. A reader treats as dirty every day with an
//! attempt changed after that time or a `moved_from` still set, and every
//! day up to the earliest stored attempt's day (retention deletes from the
//! start). Without a recent fold ([`STALE_AFTER_SECONDS`]), or with a
//! repository/branch filter, the whole window is scanned.
//!
//! This module owns the roll-up tables; it must not know HTTP or payloads.

use std::collections::BTreeSet;

use sqlx::{AssertSqlSafe, Row};

use super::timeseries::filter_sql;
use super::{Backend, PointFilter, Store, StoreError};
use crate::domain::BuildStatus;
use crate::metrics::tally::{StatusTally, Tally};

/// Seconds in a UTC day.
pub const DAY: i64 = 86_400;
/// The fold leaves changes younger than this for the next fold.
pub const FOLD_MARGIN_SECONDS: i64 = 60;
/// Roll-ups last folded longer ago than this are not read.
pub const STALE_AFTER_SECONDS: i64 = 900;
/// Stands for "no upper bound" in spans: a midnight far beyond any timestamp.
const OPEN_END: i64 = i64::MAX / 4 / DAY * DAY;

/// What a reader knows of the roll-ups' freshness.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupView {
    /// Day of the earliest stored start; roll-ups of it and before are not used.
    pub min_day: i64,
    /// Days whose roll-ups may be stale.
    pub dirty: BTreeSet<i64>,
}

/// How a window is answered: the attempts of the raw `[start, end)` spans
/// of `sort_at` (Unix seconds), plus the roll-ups of the `[first, end)`
/// spans of days, minus the attempts of the `subtract` spans (an edge day
/// more than half inside the window is its roll-up minus the part outside,
/// so no edge scans more than half a day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub raw: Vec<(i64, i64)>,
    pub rollup_days: Vec<(i64, i64)>,
    pub subtract: Vec<(i64, i64)>,
}

fn push_span(spans: &mut Vec<(i64, i64)>, start: i64, end: i64) {
    if start >= end {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.1 == start => last.1 = end,
        _ => spans.push((start, end)),
    }
}

/// Splits the window `[start, end)` (`end` `None`: no upper bound) into
/// raw spans and clean roll-up day spans; without a view, one raw span.
pub fn plan(start: i64, end: Option<i64>, view: Option<&RollupView>) -> Plan {
    let end = end.unwrap_or(OPEN_END);
    let mut plan = Plan::default();
    let Some(view) = view else {
        push_span(&mut plan.raw, start, end);
        return plan;
    };
    let first = start.div_euclid(DAY) + i64::from(start.rem_euclid(DAY) != 0);
    let first = first.max(view.min_day.saturating_add(1));
    let last = end.div_euclid(DAY); // exclusive
    if first >= last {
        push_span(&mut plan.raw, start, end);
        return plan;
    }
    let usable = |day: i64| day > view.min_day && !view.dirty.contains(&day);
    // Leading edge: the day holding `start`, when most of it is inside.
    let lead = first - 1;
    if start > lead * DAY && first * DAY - start > DAY / 2 && usable(lead) {
        push_span(&mut plan.rollup_days, lead, first);
        push_span(&mut plan.subtract, lead * DAY, start);
    } else {
        push_span(&mut plan.raw, start, first * DAY);
    }
    let mut next = first;
    for &day in view.dirty.range(first..last) {
        push_span(&mut plan.rollup_days, next, day);
        push_span(&mut plan.raw, day * DAY, (day + 1) * DAY);
        next = day + 1;
    }
    push_span(&mut plan.rollup_days, next, last);
    // Trailing edge: the day holding `end`, likewise.
    if end > last * DAY && end - last * DAY > DAY / 2 && usable(last) {
        push_span(&mut plan.rollup_days, last, last + 1);
        push_span(&mut plan.subtract, end, (last + 1) * DAY);
    } else {
        push_span(&mut plan.raw, last * DAY, end);
    }
    plan
}

/// `(column >= $n AND column < $n+1) OR …` for `spans`, numbering from `first`.
fn spans_sql(column: &str, spans: &[(i64, i64)], first: usize) -> String {
    let clauses: Vec<String> = (0..spans.len())
        .map(|i| format!("({column} >= ${} AND {column} < ${})", first + 2 * i, first + 2 * i + 1))
        .collect();
    format!("({})", clauses.join(" OR "))
}

/// In the population of build times: completed success/failed with a duration.
const TIMED: &str = "status IN ('success', 'failed') AND duration_seconds IS NOT NULL";
/// Queue time, clamped to 0 (as `RunAttempt::queue_seconds`).
const QUEUE: &str =
    "CASE WHEN first_job_started_at > started_at THEN first_job_started_at - started_at ELSE 0 END";
const QUEUED: &str = "started_at IS NOT NULL AND first_job_started_at IS NOT NULL";

fn counts_select(from: &str) -> String {
    format!(
        "repo, status, COUNT(*) AS attempts, \
         CAST(SUM(CASE WHEN provider_status = 'completed' THEN 1 ELSE 0 END) AS BIGINT) AS completed, \
         CAST(SUM(CASE WHEN {TIMED} THEN 1 ELSE 0 END) AS BIGINT) AS timed, \
         CAST(SUM(CASE WHEN {TIMED} THEN duration_seconds ELSE 0 END) AS BIGINT) AS duration_sum FROM {from}"
    )
}

/// The UTC days whose roll-ups a write in `(changed_after, through]`
/// (Unix seconds, bound as `$1`, `$2`) made stale: the day an attempt
/// starts in, and the day it moved from.
const DIRTY_DAYS: &str = "SELECT sort_at / 86400 AS day FROM builds \
     WHERE changed_at > $1 AND changed_at <= $2 AND sort_at > 0 \
     UNION SELECT moved_from AS day FROM builds WHERE moved_from IS NOT NULL AND changed_at <= $2";

/// The UTC day of the earliest start (`min_start`, Unix seconds), or past
/// the end of time when nothing has started.
fn earliest_day(min_start: Option<i64>) -> i64 {
    min_start.map_or(OPEN_END / DAY, |s| s.div_euclid(DAY))
}

impl Store {
    /// The roll-ups' freshness as of `now` (Unix seconds), or `None` when
    /// they were not folded within [`STALE_AFTER_SECONDS`] (or never).
    pub async fn rollup_view(&self, now: i64) -> Result<Option<RollupView>, StoreError> {
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
        let rows = sqlx::query(DIRTY_DAYS).bind(folded).bind(i64::MAX).fetch_all(&self.read).await?;
        let dirty = rows.iter().map(|r| r.try_get::<i64, _>("day")).collect::<Result<_, _>>()?;
        Ok(Some(RollupView { min_day, dirty }))
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

    /// Recomputes the roll-ups of every day touched by changes made after
    /// the previous fold and at or before `through` (Unix seconds), plus
    /// the earliest stored day (retention deletes from there), drops
    /// roll-ups before it, and records `through`. One transaction; the
    /// first fold covers every day; a `through` not after the recorded one
    /// does nothing. Answers the number of days recomputed.
    pub async fn fold_rollups(&self, through: i64) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let previous: Option<i64> = sqlx::query("SELECT folded_through FROM rollup_state WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("folded_through"))
            .transpose()?;
        if previous.is_some_and(|previous| previous >= through) {
            // Another fold already went further (a fold never moves back).
            return Ok(0);
        }
        let rows = sqlx::query(DIRTY_DAYS)
            .bind(previous.unwrap_or(i64::MIN))
            .bind(through)
            .fetch_all(&mut *tx)
            .await?;
        let mut days: BTreeSet<i64> =
            rows.iter().map(|r| r.try_get::<i64, _>("day")).collect::<Result<_, _>>()?;
        let min_start: Option<i64> = sqlx::query("SELECT MIN(sort_at) AS s FROM builds WHERE sort_at > 0")
            .fetch_one(&mut *tx)
            .await?
            .try_get("s")?;
        let below = earliest_day(min_start);
        if min_start.is_some() {
            days.insert(below);
        }
        for table in ["rollup_counts", "rollup_durations", "rollup_queues"] {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day < $1")))
                .bind(below)
                .execute(&mut *tx)
                .await?;
        }
        let mut spans = Vec::new();
        for &day in &days {
            push_span(&mut spans, day, day + 1);
        }
        for &(first, end) in &spans {
            for table in ["rollup_counts", "rollup_durations", "rollup_queues"] {
                sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day >= $1 AND day < $2")))
                    .bind(first)
                    .bind(end)
                    .execute(&mut *tx)
                    .await?;
            }
            for statement in fold_inserts() {
                sqlx::query(AssertSqlSafe(statement))
                    .bind(first * DAY)
                    .bind(end * DAY)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("UPDATE builds SET moved_from = NULL WHERE moved_from IS NOT NULL AND changed_at <= $1")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO rollup_state (id, folded_through) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET folded_through = excluded.folded_through",
        )
        .bind(through)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(days.len())
    }

    /// Forgets every roll-up (e.g. after `db copy` wrote attempts with their
    /// old `changed_at`); the next fold recomputes all days.
    pub async fn reset_rollups(&self) -> Result<(), StoreError> {
        for table in ["rollup_counts", "rollup_durations", "rollup_queues", "rollup_state"] {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&self.write).await?;
        }
        Ok(())
    }
}

/// The roll-ups of the attempts started in `[$1, $2)` (whole days).
fn fold_inserts() -> [String; 3] {
    let window = "sort_at >= $1 AND sort_at < $2";
    [
        format!(
            "INSERT INTO rollup_counts (day, repo, status, attempts, completed, timed, duration_sum) \
             SELECT sort_at / 86400 AS day, {} WHERE {window} GROUP BY sort_at / 86400, repo, status",
            counts_select("builds")
        ),
        format!(
            "INSERT INTO rollup_durations (day, seconds, attempts) \
             SELECT sort_at / 86400, duration_seconds, COUNT(*) FROM builds \
             WHERE {window} AND {TIMED} GROUP BY sort_at / 86400, duration_seconds"
        ),
        format!(
            "INSERT INTO rollup_queues (day, seconds, attempts) \
             SELECT sort_at / 86400, {QUEUE}, COUNT(*) FROM builds \
             WHERE {window} AND {QUEUED} GROUP BY sort_at / 86400, {QUEUE}"
        ),
    ]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn view(min_day: i64, dirty: &[i64]) -> RollupView {
        RollupView { min_day, dirty: dirty.iter().copied().collect() }
    }

    #[test]
    fn without_a_view_the_whole_window_is_raw() {
        let p = plan(1000, Some(5000), None);
        assert_eq!(p.raw, vec![(1000, 5000)]);
        assert!(p.rollup_days.is_empty());
    }

    #[test]
    fn edges_and_dirty_days_are_raw_whole_clean_days_rolled_up() {
        // From day 10 at 18:00 to day 15 at 12:00; day 12 dirty. Both edges
        // hold at most half their day: scanned.
        let start = 10 * DAY + 18 * 3600;
        let end = 15 * DAY + 12 * 3600;
        let p = plan(start, Some(end), Some(&view(0, &[12, 40])));
        assert_eq!(p.raw, vec![(start, 11 * DAY), (12 * DAY, 13 * DAY), (15 * DAY, end)]);
        assert_eq!(p.rollup_days, vec![(11, 12), (13, 15)]);
        assert!(p.subtract.is_empty());
    }

    #[test]
    fn an_edge_day_mostly_inside_is_its_rollup_minus_the_rest() {
        // From day 10 at 06:00 (18 h inside) to day 15 at 20:00 (20 h inside):
        // both edge days rolled up, and the 6 h before / 4 h after subtracted.
        let start = 10 * DAY + 6 * 3600;
        let end = 15 * DAY + 20 * 3600;
        let p = plan(start, Some(end), Some(&view(0, &[])));
        assert!(p.raw.is_empty(), "{p:?}");
        assert_eq!(p.rollup_days, vec![(10, 16)]);
        assert_eq!(p.subtract, vec![(10 * DAY, start), (end, 16 * DAY)]);
        // A dirty edge day is scanned instead.
        let p = plan(start, Some(end), Some(&view(0, &[10])));
        assert_eq!(p.raw, vec![(start, 11 * DAY)]);
        assert_eq!(p.subtract, vec![(end, 16 * DAY)]);
    }

    #[test]
    fn a_window_starting_at_midnight_has_no_leading_raw_span() {
        let p = plan(10 * DAY, Some(12 * DAY), Some(&view(0, &[])));
        assert!(p.raw.is_empty());
        assert_eq!(p.rollup_days, vec![(10, 12)]);
    }

    #[test]
    fn days_up_to_the_earliest_stored_day_are_raw() {
        // Retention may have deleted part of day 11: days ≤ 11 are scanned.
        let p = plan(10 * DAY + 1, Some(14 * DAY), Some(&view(11, &[])));
        assert_eq!(p.raw, vec![(10 * DAY + 1, 12 * DAY)]);
        assert_eq!(p.rollup_days, vec![(12, 14)]);
    }

    #[test]
    fn an_open_end_rolls_up_every_clean_day_after_the_start() {
        let now_day = 20_000;
        let start = now_day * DAY - 3 * DAY + 5;
        let p = plan(start, None, Some(&view(0, &[now_day])));
        // The first day is all but 5 s inside: its roll-up minus those 5 s.
        assert_eq!(p.subtract, vec![((now_day - 3) * DAY, start)]);
        assert_eq!(p.raw, vec![(now_day * DAY, (now_day + 1) * DAY)]);
        assert_eq!(p.rollup_days, vec![(now_day - 3, now_day), (now_day + 1, OPEN_END / DAY)]);
    }

    #[test]
    fn a_window_inside_one_day_is_raw() {
        let p = plan(10 * DAY + 5, Some(10 * DAY + 500), Some(&view(0, &[])));
        assert_eq!(p.raw, vec![(10 * DAY + 5, 10 * DAY + 500)]);
        assert!(p.rollup_days.is_empty());
    }
}
