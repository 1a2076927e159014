//! The flaky rate's denominator: per workflow named by a window's
//! occurrences, its conclusive (success or failed) attempts that started
//! in the window `[start, end)`, exactly as if counted from `builds`.
//!
//! The whole UTC days inside the window are summed from
//! `flaky_attempt_days` (migration 0020: a per-day tally per provider,
//! repository, workflow and branch that triggers on `builds` keep in the
//! writing transaction — on insert, on any change of status, day, branch,
//! workflow or repository, and on delete, retention's included); the two
//! partial days at the window's edges (the window is `window_days` × 24 h
//! back from now, so they add up to one day) are counted from `builds`
//! for every workflow (`builds_window`), not by a join with the window's
//! occurrences. A read therefore touches a few tally rows per day and at
//! most one day of attempts, whatever the window.
//!
//! Owns these two queries; must not know what the figures mean.

use std::collections::HashMap;

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::filter::{FlakyFilter, filter_sql};
use crate::domain::ProviderKind;
use crate::store::StoreError;
use crate::store::rows::provider_from_id;

const DAY: i64 = 86_400;

type Counts = HashMap<(ProviderKind, String, String), i64>;

/// How `[start, end)` splits: whole days `[from, to)` (day numbers) read
/// from the tally, and the second ranges read from `builds`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Split {
    pub(super) days: Option<(i64, i64)>,
    pub(super) edges: Vec<(i64, i64)>,
}

pub(super) fn split(start: i64, end: i64) -> Split {
    let from = start.div_euclid(DAY) + i64::from(start.rem_euclid(DAY) != 0);
    let to = end.div_euclid(DAY);
    if from >= to {
        return Split { days: None, edges: if start < end { vec![(start, end)] } else { vec![] } };
    }
    let edges = [(start, from * DAY), (to * DAY, end)].into_iter().filter(|(a, b)| a < b).collect();
    Split { days: Some((from, to)), edges }
}

/// The conclusive attempts in `[start, end)` of each (provider,
/// repository, workflow) with an occurrence seen in that window matching
/// `filter` (on its branch only when `filter` names one); may name other
/// workflows too.
pub(super) async fn conclusive_attempts(
    conn: &mut AnyConnection,
    start: i64,
    end: i64,
    filter: &FlakyFilter,
) -> Result<Counts, StoreError> {
    let plan = split(start, end);
    let mut counts = Counts::new();
    let mut add = |rows: Vec<sqlx::any::AnyRow>| -> Result<(), StoreError> {
        for row in rows {
            let key = (
                provider_from_id(row.try_get("provider_id")?)?,
                row.try_get("repo")?,
                row.try_get("workflow")?,
            );
            *counts.entry(key).or_insert(0) += row.try_get::<i64, _>("n")?;
        }
        Ok(())
    };
    if let Some((from, to)) = plan.days {
        // Every workflow matching the filter (a few hundred rows a day at
        // most); those without an occurrence are never looked up.
        let mut binds = Vec::new();
        let where_ = filter_sql(filter, 2, &mut binds);
        let tally = format!(
            "SELECT provider_id, repo, workflow, CAST(SUM(attempts) AS BIGINT) AS n FROM flaky_attempt_days \
             WHERE day >= $1 AND day < $2{where_} GROUP BY provider_id, repo, workflow"
        );
        let mut query = sqlx::query(AssertSqlSafe(tally)).bind(from).bind(to);
        for bind in &binds {
            query = query.bind(bind.clone());
        }
        add(query.fetch_all(&mut *conn).await?)?;
    }
    if !plan.edges.is_empty() {
        // $1..$4: the two edges (one may be empty); every workflow's
        // attempts there (at most a day of attempts, by `builds_window`).
        let mut binds = Vec::new();
        let where_ = filter_sql(filter, 4, &mut binds);
        let edge = format!(
            "SELECT provider_id, repo, workflow, COUNT(*) AS n FROM builds \
             WHERE ((sort_at >= $1 AND sort_at < $2) OR (sort_at >= $3 AND sort_at < $4)) \
             AND status IN ('success', 'failed') AND workflow IS NOT NULL{where_} \
             GROUP BY provider_id, repo, workflow"
        );
        let (head, tail) = (plan.edges[0], plan.edges.get(1).copied().unwrap_or((0, 0)));
        let mut query = sqlx::query(AssertSqlSafe(edge)).bind(head.0).bind(head.1).bind(tail.0).bind(tail.1);
        for bind in &binds {
            query = query.bind(bind.clone());
        }
        add(query.fetch_all(&mut *conn).await?)?;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_splits_into_whole_days_and_its_edges() {
        // 30 days back from day 100 at 06:00 (+1 s, the API's end):
        // [70 d + 6 h, 100 d + 6 h + 1) → whole days 71..100, edges
        // [70 d + 6 h, 71 d) and [100 d, 100 d + 6 h + 1).
        let now = 100 * DAY + 6 * 3600;
        let s = split(now - 30 * DAY, now + 1);
        assert_eq!(s.days, Some((71, 100)));
        assert_eq!(s.edges, vec![(70 * DAY + 6 * 3600, 71 * DAY), (100 * DAY, now + 1)]);
        // Starting on midnight: no head edge.
        let s = split(71 * DAY, 80 * DAY + 5);
        assert_eq!(s.days, Some((71, 80)));
        assert_eq!(s.edges, vec![(80 * DAY, 80 * DAY + 5)]);
        // Within one day, or across one midnight: no whole day, all from builds.
        assert_eq!(split(DAY + 5, DAY + 9), Split { days: None, edges: vec![(DAY + 5, DAY + 9)] });
        assert_eq!(split(DAY + 5, 2 * DAY + 9).days, None);
        assert_eq!(split(9, 9), Split { days: None, edges: vec![] });
    }
}
