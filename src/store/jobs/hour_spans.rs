//! The packed hour spans (`rollup_job_hour_spans`): per aligned run of 2,
//! 4 or 8 UTC hours (`first_hour` a multiple of `hours`, so a span never
//! crosses a day), one row in the hourly roll-up's layout
//! (`super::packed`) holding every job key's exact tallies of those hours
//! as the hour rows hold them (the runs the fold leaves out are left out
//! here too). The list reads the packed hours that are not whole days (a
//! window's edge days, `super::hours`) as a few of these and hour rows
//! (`rollup_job_hours`): at most seven rows for a run of hours in a day
//! instead of up to 12 (more than half a day is read as the day minus
//! the rest, `super::hours`).
//!
//! The fold (`super::fold`) rebuilds a day's spans with its hour rows,
//! from the same tallies. A span without jobs has no row, and a missing
//! span is read as its halves (so are the days folded before spans
//! existed); an hour without a row had no packed jobs.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};

use super::hours::HOUR;
use super::packed::{Accumulator, encode};
use super::spans::{SpanTable, aligned_spans, read_aligned};
use super::sql::{IDS_PER_STATEMENT, fetch, ids_sql};
use crate::metrics::jobs::JobWindow;
use crate::store::StoreError;
use crate::store::rollups::DAY;

/// The longest span: 2^3 = 8 hours (24 is a multiple of it).
const MAX_LEVEL: u32 = 3;

/// Stores the spans of one day from its hours' packed tallies (`hours`:
/// UTC hour → tallies by key, all of one day `day`), after deleting the
/// day's old spans; answers the whole day's tallies (the merge of its
/// 8-hour spans).
pub(super) async fn store_hour_spans(
    conn: &mut AnyConnection,
    day: i64,
    hours: BTreeMap<i64, JobWindow>,
) -> Result<JobWindow, StoreError> {
    let per_day = DAY / HOUR;
    sqlx::query("DELETE FROM rollup_job_hour_spans WHERE first_hour >= $1 AND first_hour < $2")
        .bind(day * per_day)
        .bind((day + 1) * per_day)
        .execute(&mut *conn)
        .await?;
    let mut level = hours;
    for shift in 1..=MAX_LEVEL {
        let n = 1i64 << shift;
        let mut next: BTreeMap<i64, JobWindow> = BTreeMap::new();
        for (hour, window) in level {
            next.entry(hour.div_euclid(n) * n).or_default().merge(window);
        }
        for (&first, window) in &next {
            let (jobs, steps) = encode(window)?;
            sqlx::query(
                "INSERT INTO rollup_job_hour_spans (first_hour, hours, jobs, steps) VALUES ($1, $2, $3, $4)",
            )
            .bind(first)
            .bind(n)
            .bind(jobs)
            .bind(steps)
            .execute(&mut *conn)
            .await?;
        }
        level = next;
    }
    let mut whole = JobWindow::default();
    for window in level.into_values() {
        whole.merge(window);
    }
    Ok(whole)
}

/// Adds (`sign` 1) or takes off (`sign` -1) the packed rows of the hours
/// `[first, last)` of every span of `hours`: as aligned spans where they
/// fit, hour rows elsewhere (steps when `with_steps`), for the keys `keep`
/// accepts.
pub(super) async fn read_hours(
    conn: &mut AnyConnection,
    hours: &[(i64, i64)],
    with_steps: bool,
    sign: i64,
    sums: &mut Accumulator,
    keep: &(dyn Fn(i64) -> bool + Sync),
) -> Result<(), StoreError> {
    let add = |sums: &mut Accumulator, row: &sqlx::any::AnyRow| -> Result<(), StoreError> {
        let steps = if with_steps { Some(row.try_get::<&[u8], _>("steps")?) } else { None };
        let jobs = row.try_get::<&[u8], _>("jobs")?;
        if sign > 0 { sums.add(jobs, steps, keep) } else { sums.subtract(jobs, steps, keep) }
    };
    let columns = if with_steps { "jobs, steps" } else { "jobs" };
    let pieces = hours.iter().flat_map(|&(first, last)| aligned_spans(first, last, MAX_LEVEL));
    let (wanted, mut singles): (Vec<_>, Vec<_>) = pieces.partition(|&(_, n)| n > 1);
    let table =
        SpanTable { name: "rollup_job_hour_spans", first: "first_hour", length: "hours", shortest: 2 };
    singles.extend(read_aligned(conn, &table, columns, wanted, &mut |row| add(sums, row)).await?);
    let singles: Vec<i64> = singles.into_iter().map(|(hour, _)| hour).collect();
    for chunk in singles.chunks(IDS_PER_STATEMENT) {
        let mut binds = Vec::new();
        let sql =
            format!("SELECT {columns} FROM rollup_job_hours WHERE {}", ids_sql("hour", chunk, &mut binds));
        for row in &fetch(conn, sql, &binds).await? {
            add(sums, row)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_of_a_day_take_at_most_seven_pieces() {
        // 01:00–23:00 of day 10.
        assert_eq!(
            aligned_spans(241, 263, MAX_LEVEL),
            vec![(241, 1), (242, 2), (244, 4), (248, 8), (256, 4), (260, 2), (262, 1)]
        );
        for first in 240..264 {
            for last in first..=264 {
                let pieces = aligned_spans(first, last, MAX_LEVEL);
                assert!(pieces.len() <= 7, "{first}..{last}: {pieces:?}");
                assert!(pieces.iter().all(|&(a, n)| a.div_euclid(24) == (a + n - 1).div_euclid(24)));
            }
        }
    }
}
