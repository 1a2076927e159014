//! The packed day spans (`rollup_job_spans`): per aligned run of 2^level
//! UTC days (`first_day` a multiple of `days`, `days` 1, 2, 4, … 64), one
//! row in the hourly roll-up's layout (`super::packed`) holding every job
//! key's exact tallies of those days. A window's whole clean days are
//! read as a handful of these (a 30-day window: at most ten), so the list
//! decodes one histogram per key and span instead of one per key and hour.
//!
//! The fold rebuilds a day's one-day span from the day's scan, and each
//! span above it from its two halves, only when the day's bytes changed
//! (the encoding is canonical). A day without jobs has no row (read as
//! empty); a longer span always has one once built, so a missing one
//! (spans starting before the earliest day, or before retention's cutoff,
//! are dropped) is read as its halves.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::packed::{Accumulator, encode};
use crate::metrics::jobs::JobWindow;
use crate::store::StoreError;

/// The table.
pub(in crate::store) const SPANS_TABLE: &str = "rollup_job_spans";
/// The longest span: 2^6 = 64 days.
const MAX_LEVEL: u32 = 6;

type Packed = Option<(Vec<u8>, Vec<u8>)>;

async fn stored(conn: &mut AnyConnection, first: i64, days: i64) -> Result<Packed, StoreError> {
    let row = sqlx::query("SELECT jobs, steps FROM rollup_job_spans WHERE first_day = $1 AND days = $2")
        .bind(first)
        .bind(days)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(row) => Some((row.try_get("jobs")?, row.try_get("steps")?)),
        None => None,
    })
}

async fn replace(conn: &mut AnyConnection, first: i64, days: i64, packed: Packed) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM rollup_job_spans WHERE first_day = $1 AND days = $2")
        .bind(first)
        .bind(days)
        .execute(&mut *conn)
        .await?;
    if let Some((jobs, steps)) = packed {
        sqlx::query("INSERT INTO rollup_job_spans (first_day, days, jobs, steps) VALUES ($1, $2, $3, $4)")
            .bind(first)
            .bind(days)
            .bind(jobs)
            .bind(steps)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn pack(window: &JobWindow) -> Result<Packed, StoreError> {
    if window.jobs.is_empty() && window.steps.is_empty() {
        return Ok(None);
    }
    Ok(Some(encode(window)?))
}

/// Stores `day`'s one-day span (its tallies by key); answers whether its
/// bytes changed.
pub(super) async fn store_day(
    conn: &mut AnyConnection,
    day: i64,
    window: &JobWindow,
) -> Result<bool, StoreError> {
    let packed = pack(window)?;
    if stored(conn, day, 1).await? == packed {
        return Ok(false);
    }
    replace(conn, day, 1, packed).await?;
    Ok(true)
}

/// Rebuilds every longer span holding one of the `changed` days, from its
/// two halves, shortest first; none starting before `below` (the earliest
/// day). A longer span is stored even when empty.
pub(super) async fn fold_spans(
    conn: &mut AnyConnection,
    changed: &BTreeSet<i64>,
    below: i64,
) -> Result<(), StoreError> {
    let mut firsts = changed.clone();
    for level in 1..=MAX_LEVEL {
        let (days, half) = (1i64 << level, 1i64 << (level - 1));
        firsts = firsts.iter().map(|d| d.div_euclid(days) * days).filter(|&first| first >= below).collect();
        for &first in &firsts {
            let mut sums = Accumulator::default();
            for part in [first, first + half] {
                if let Some((jobs, steps)) = stored(conn, part, half).await? {
                    sums.add(&jobs, Some(&steps), &|_| true)?;
                }
            }
            replace(conn, first, days, Some(encode(&sums.into_window())?)).await?;
        }
    }
    Ok(())
}

/// The aligned spans `(first_day, days)` exactly covering the days
/// `[first, end)`, longest first where they fit. Pure.
pub fn day_spans(first: i64, end: i64) -> Vec<(i64, i64)> {
    aligned_spans(first, end, MAX_LEVEL)
}

/// The aligned spans `(first, n)` (`n` 2^level up to 2^`max_level`,
/// `first` a multiple of `n`) exactly covering `[first, end)`, longest
/// first where they fit. Pure.
pub(super) fn aligned_spans(mut first: i64, end: i64, max_level: u32) -> Vec<(i64, i64)> {
    let mut spans = Vec::new();
    while first < end {
        let mut level = max_level;
        while level > 0 && (first.rem_euclid(1 << level) != 0 || first + (1 << level) > end) {
            level -= 1;
        }
        spans.push((first, 1 << level));
        first += 1 << level;
    }
    spans
}

/// Adds the packed rows of `spans` (steps when `with_steps`) for the keys
/// `keep` accepts. A longer span without a row (dropped with the days
/// before the earliest one, or not built since) is read as its two
/// halves; a day without a row had no jobs.
pub(super) async fn read_spans(
    conn: &mut AnyConnection,
    spans: &[(i64, i64)],
    with_steps: bool,
    sums: &mut Accumulator,
    keep: &(dyn Fn(i64) -> bool + Sync),
) -> Result<(), StoreError> {
    let columns = if with_steps { "jobs, steps" } else { "jobs" };
    let table = SpanTable { name: SPANS_TABLE, first: "first_day", length: "days", shortest: 1 };
    read_aligned(conn, &table, columns, spans.to_vec(), &mut |row| {
        let steps = if with_steps { Some(row.try_get::<&[u8], _>("steps")?) } else { None };
        sums.add(row.try_get::<&[u8], _>("jobs")?, steps, keep)
    })
    .await?;
    Ok(())
}

/// A table of aligned spans: its name, the columns of a span's first unit
/// and length, and the shortest length it stores.
pub(super) struct SpanTable {
    pub name: &'static str,
    pub first: &'static str,
    pub length: &'static str,
    pub shortest: i64,
}

/// Hands `each` the stored rows (`columns`) of `spans` (`(first, length)`)
/// in `table`; a longer span without a row is read as its two halves
/// (from the table when at least its shortest length). Answers the spans
/// of one unit found in no row, and the halves shorter than the table's
/// shortest.
pub(super) async fn read_aligned(
    conn: &mut AnyConnection,
    table: &SpanTable,
    columns: &str,
    mut wanted: Vec<(i64, i64)>,
    each: &mut (dyn FnMut(&sqlx::any::AnyRow) -> Result<(), StoreError> + Send),
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut absent = Vec::new();
    while !wanted.is_empty() {
        let mut missing = Vec::new();
        for chunk in wanted.chunks(64) {
            let (first, length) = (table.first, table.length);
            let clauses: Vec<String> = (0..chunk.len())
                .map(|i| format!("({first} = ${} AND {length} = ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            let sql = format!(
                "SELECT {first}, {length}, {columns} FROM {} WHERE {}",
                table.name,
                clauses.join(" OR ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for &(first, n) in chunk {
                query = query.bind(first).bind(n);
            }
            let mut found = BTreeSet::new();
            for row in &query.fetch_all(&mut *conn).await? {
                found.insert((row.try_get::<i64, _>(first)?, row.try_get::<i64, _>(length)?));
                each(row)?;
            }
            for &(first, n) in chunk.iter().filter(|span| !found.contains(span)) {
                if n > 1 {
                    missing.extend([(first, n / 2), (first + n / 2, n / 2)]);
                } else {
                    absent.push((first, n));
                }
            }
        }
        let (stored, shorter): (Vec<_>, Vec<_>) =
            missing.into_iter().partition(|&(_, n)| n >= table.shortest);
        absent.extend(shorter);
        wanted = stored;
    }
    Ok(absent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_spans_cover_the_days_exactly() {
        assert_eq!(day_spans(5, 5), vec![]);
        assert_eq!(day_spans(5, 6), vec![(5, 1)]);
        assert_eq!(day_spans(5, 35), vec![(5, 1), (6, 2), (8, 8), (16, 16), (32, 2), (34, 1)]);
        assert_eq!(day_spans(0, 200), vec![(0, 64), (64, 64), (128, 64), (192, 8)]);
        assert_eq!(day_spans(-3, 1), vec![(-3, 1), (-2, 2), (0, 1)]);
        for first in 0..70 {
            for end in first..140 {
                let spans = day_spans(first, end);
                let mut at = first;
                for (a, n) in spans {
                    assert_eq!((a, a % n), (at, 0));
                    at += n;
                }
                assert_eq!(at, end);
            }
        }
    }
}
