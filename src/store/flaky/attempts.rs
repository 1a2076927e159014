//! The flaky rate's denominator: per workflow named by a window's
//! occurrences, its conclusive (success or failed) attempts that started
//! in the window `[start, end)`, exactly as if counted from `builds`.
//!
//! The whole UTC days inside the window are summed from
//! `flaky_attempt_days` (migration 0020: a per-day tally per provider,
//! repository, workflow and branch that triggers on `builds` keep in the
//! writing transaction — on insert, on any change of status, day, branch,
//! workflow or repository, and on delete, retention's included). Each of
//! the two partial days at the window's edges (the window is
//! `window_days` × 24 h back from now) is either counted from `builds`
//! (`builds_window`, for every workflow, not by a join with the window's
//! occurrences) or taken as its day's tally minus the attempts of the
//! rest of that day, whichever range of `builds` is shorter; the part of
//! a day after the window's end (the future, when the window ends now)
//! counts as empty, so the last day is always its tally minus what
//! started after the end. A read therefore touches a few tally rows per
//! day and at most half a day of attempts, whatever the window.
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
    let Some((from, to)) = plan.days else {
        // Less than a whole day: the attempts themselves.
        let ranges: Vec<(i64, i64, i64)> = plan.edges.iter().map(|&(a, b)| (a, b, 1)).collect();
        if !ranges.is_empty() {
            add(counted(conn, &ranges, filter).await?)?;
        }
        return Ok(counts);
    };
    let (mut first, mut last) = (from, to);
    // (start, end, sign): ranges of `builds` added to (1) or taken from
    // (-1) the tally's days `[first, last)`.
    let mut ranges = Vec::new();
    for &(a, b) in &plan.edges {
        // The rest of the edge's day (one of the two ranges is empty).
        let day = a.div_euclid(DAY);
        let rest = [(day * DAY, a), (b, (day + 1) * DAY)];
        // How much of `builds` a range reads: nothing after the window's end.
        let length = |(x, y): (i64, i64)| (y.min(end) - x).max(0);
        if rest.iter().map(|r| length(*r)).sum::<i64>() < length((a, b)) {
            ranges.extend(rest.iter().filter(|(x, y)| x < y).map(|&(x, y)| (x, y, -1)));
            first = first.min(day);
            last = last.max(day + 1);
        } else {
            ranges.push((a, b, 1));
        }
    }
    // Every workflow matching the filter (a few hundred rows a day at
    // most); those without an occurrence are never looked up.
    let mut binds = Vec::new();
    let where_ = filter_sql(filter, 2, &mut binds);
    let tally = format!(
        "SELECT provider_id, repo, workflow, CAST(SUM(attempts) AS BIGINT) AS n FROM flaky_attempt_days \
         WHERE day >= $1 AND day < $2{where_} GROUP BY provider_id, repo, workflow"
    );
    let mut query = sqlx::query(AssertSqlSafe(tally)).bind(first).bind(last);
    for bind in &binds {
        query = query.bind(bind.clone());
    }
    add(query.fetch_all(&mut *conn).await?)?;
    if !ranges.is_empty() {
        add(counted(conn, &ranges, filter).await?)?;
    }
    Ok(counts)
}

/// Per workflow, the conclusive attempts of `builds` that started in the
/// ranges `(start, end, sign)` (at most two), each counted `sign` times.
async fn counted(
    conn: &mut AnyConnection,
    ranges: &[(i64, i64, i64)],
    filter: &FlakyFilter,
) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
    let mut ranges = ranges.to_vec();
    // Two ranges per statement; an empty one matches nothing.
    ranges.resize(2, (0, 0, 1));
    let mut binds = Vec::new();
    let where_ = filter_sql(filter, 6, &mut binds);
    let sql = format!(
        "SELECT provider_id, repo, workflow, CAST(SUM(CASE WHEN sort_at >= $1 AND sort_at < $2 THEN $3 \
         ELSE $6 END) AS BIGINT) AS n FROM builds \
         WHERE ((sort_at >= $1 AND sort_at < $2) OR (sort_at >= $4 AND sort_at < $5)) \
         AND status IN ('success', 'failed') AND workflow IS NOT NULL{where_} \
         GROUP BY provider_id, repo, workflow"
    );
    let (a, b) = (ranges[0], ranges[1]);
    let mut query =
        sqlx::query(AssertSqlSafe(sql)).bind(a.0).bind(a.1).bind(a.2).bind(b.0).bind(b.1).bind(b.2);
    for bind in &binds {
        query = query.bind(bind.clone());
    }
    Ok(query.fetch_all(&mut *conn).await?)
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
