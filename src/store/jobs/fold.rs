//! The fold of the job roll-ups: recomputes, from the jobs themselves (one
//! scan per day), the days that changes made stale — daily roll-ups,
//! packed hours, and the packed day spans above them (`super::spans`) —
//! inside the summary fold's transaction (`crate::store::rollups`), so
//! both roll-ups share one `folded_through`.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::hours::HOUR;
use super::packed::encode;
use super::read::{Bind, Grain, JobFilter, fetch, raw_scan};
use super::spans::{SPANS_TABLE, fold_spans, store_day};
use crate::metrics::jobs::{JobCell, JobWindow};
use crate::store::StoreError;
use crate::store::rollups::DAY;

/// The daily job roll-up tables.
pub(in crate::store) const TABLES: [&str; 4] =
    ["rollup_jobs", "rollup_job_times", "rollup_steps", "rollup_step_times"];
/// The hourly packed job roll-up (`super::packed`), keyed by `hour`.
pub(in crate::store) const HOURS_TABLE: &str = "rollup_job_hours";

/// UTC days holding the run of a job written in `(after, through]`.
const JOB_DIRTY_DAYS: &str = "SELECT DISTINCT b.sort_at / 86400 AS day FROM jobs j \
     JOIN builds b ON b.id = j.build_id WHERE j.changed_at > $1 AND j.changed_at <= $2 AND b.sort_at > 0";

/// UTC hours (`sort_at / 3600`) holding a run or the run of a job written
/// after `$1`.
const STALE_HOURS: &str = "SELECT b.sort_at / 3600 AS hour FROM jobs j JOIN builds b ON b.id = j.build_id \
     WHERE j.changed_at > $1 AND b.sort_at > 0 \
     UNION SELECT sort_at / 3600 AS hour FROM builds WHERE changed_at > $1 AND sort_at > 0";

/// Days a run's start left since the last fold (`builds.moved_from`,
/// also set when the start left its hour within the day).
const MOVED_DAYS: &str = "SELECT DISTINCT moved_from AS day FROM builds WHERE moved_from IS NOT NULL";

/// The UTC hours whose packed job roll-up (`super::packed`) writes after
/// `after` made stale: those of runs written or holding a job written
/// since, and every hour of a day a run's start left.
pub(in crate::store) async fn stale_hours(
    conn: &mut AnyConnection,
    after: i64,
) -> Result<BTreeSet<i64>, StoreError> {
    let mut hours: BTreeSet<i64> = BTreeSet::new();
    for row in sqlx::query(STALE_HOURS).bind(after).fetch_all(&mut *conn).await? {
        hours.insert(row.try_get("hour")?);
    }
    for row in sqlx::query(MOVED_DAYS).fetch_all(&mut *conn).await? {
        let day: i64 = row.try_get("day")?;
        hours.extend(day * (DAY / HOUR)..(day + 1) * (DAY / HOUR));
    }
    Ok(hours)
}

/// Days whose job roll-ups a job write after `after` (and at or before
/// `through`) made stale.
pub(in crate::store) async fn job_dirty_days(
    conn: &mut AnyConnection,
    after: i64,
    through: i64,
) -> Result<BTreeSet<i64>, StoreError> {
    let rows = sqlx::query(JOB_DIRTY_DAYS).bind(after).bind(through).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(r.try_get::<i64, _>("day")?)).collect()
}

/// Recomputes the job roll-ups of `days` (the summary fold's) and of every
/// day with a job written in `(previous, through]`, and drops those before
/// `below`. Answers the number of days recomputed.
pub(in crate::store) async fn fold_job_rollups(
    conn: &mut AnyConnection,
    previous: Option<i64>,
    through: i64,
    below: i64,
    days: &BTreeSet<i64>,
) -> Result<usize, StoreError> {
    let mut days = days.clone();
    days.extend(job_dirty_days(conn, previous.unwrap_or(i64::MIN), through).await?);
    for table in TABLES {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day < $1")))
            .bind(below)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM rollup_job_hours WHERE hour < $1")
        .bind(below * (DAY / HOUR))
        .execute(&mut *conn)
        .await?;
    if previous.is_none() {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {SPANS_TABLE}"))).execute(&mut *conn).await?;
    }
    sqlx::query(AssertSqlSafe(format!("DELETE FROM {SPANS_TABLE} WHERE first_day < $1")))
        .bind(below)
        .execute(&mut *conn)
        .await?;
    let mut changed = BTreeSet::new();
    for &day in &days {
        let whole = fold_day(conn, day).await?;
        if store_day(conn, day, &whole).await? {
            changed.insert(day);
        }
    }
    fold_spans(conn, &changed, below).await?;
    Ok(days.len())
}

/// The tallies of `window` grouped by key only (day 0, matrix '').
fn by_key(window: JobWindow) -> JobWindow {
    let mut keyed = JobWindow { steps: window.steps, ..JobWindow::default() };
    for (cell, tally) in window.jobs {
        keyed
            .jobs
            .entry(JobCell { day: 0, key_id: cell.key_id, matrix: String::new() })
            .or_default()
            .merge(&tally);
    }
    keyed.jobs.retain(|_, tally| !tally.is_empty());
    keyed.steps.retain(|_, tally| *tally != Default::default());
    keyed
}

/// Recomputes the daily roll-ups and the packed hours of `day` from one
/// raw scan of its jobs (an hour without jobs has no row); answers the
/// day's tallies grouped by key.
async fn fold_day(conn: &mut AnyConnection, day: i64) -> Result<JobWindow, StoreError> {
    for table in TABLES {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day = $1")))
            .bind(day)
            .execute(&mut *conn)
            .await?;
    }
    let first = day * (DAY / HOUR);
    sqlx::query("DELETE FROM rollup_job_hours WHERE hour >= $1 AND hour < $2")
        .bind(first)
        .bind(first + DAY / HOUR)
        .execute(&mut *conn)
        .await?;
    let span = [(day * DAY, (day + 1) * DAY)];
    let hours =
        raw_scan(conn, &span, &[], &JobFilter::default(), Grain::DayMatrix, true, |at| at.div_euclid(HOUR))
            .await?;
    let mut window = JobWindow::default();
    for (hour, tallies) in hours {
        window.merge(tallies.clone());
        let keyed = by_key(tallies);
        if keyed.jobs.is_empty() && keyed.steps.is_empty() {
            continue;
        }
        let (jobs, steps) = encode(&keyed)?;
        sqlx::query("INSERT INTO rollup_job_hours (hour, jobs, steps) VALUES ($1, $2, $3)")
            .bind(hour)
            .bind(jobs)
            .bind(steps)
            .execute(&mut *conn)
            .await?;
    }
    let (mut jobs, mut times, mut steps, mut step_times) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (cell, tally) in &window.jobs {
        let key = || vec![Bind::Int(day), Bind::Int(cell.key_id), Bind::Text(cell.matrix.clone())];
        let mut row = key();
        row.extend([tally.runs, tally.conclusive, tally.failed, tally.runner_seconds].map(Bind::Int));
        jobs.push(row);
        for (kind, histogram) in [("duration", &tally.durations), ("queue", &tally.queues)] {
            for (seconds, n) in histogram.iter() {
                let mut row = key();
                row.extend([Bind::Text(kind.into()), Bind::Int(seconds), Bind::Int(n)]);
                times.push(row);
            }
        }
    }
    for ((key_id, name), tally) in &window.steps {
        let key = || vec![Bind::Int(day), Bind::Int(*key_id), Bind::Text(name.clone())];
        let mut row = key();
        row.extend([tally.number.unwrap_or(0), tally.runs, tally.failed].map(Bind::Int));
        steps.push(row);
        for (seconds, n) in tally.durations.iter() {
            let mut row = key();
            row.extend([Bind::Int(seconds), Bind::Int(n)]);
            step_times.push(row);
        }
    }
    insert(conn, "rollup_jobs (day, key_id, matrix, runs, conclusive, failed, runner_seconds)", jobs).await?;
    insert(conn, "rollup_job_times (day, key_id, matrix, kind, seconds, jobs)", times).await?;
    insert(conn, "rollup_steps (day, key_id, step, number, runs, failed)", steps).await?;
    insert(conn, "rollup_step_times (day, key_id, step, seconds, steps)", step_times).await?;
    Ok(by_key(window))
}

/// Inserts `rows` into `target` (`table (columns…)`), many per statement:
/// about 400 values each, as SQLite looks a numbered parameter up by a
/// walk of the statement's list (a statement of n values costs n²).
async fn insert(conn: &mut AnyConnection, target: &str, rows: Vec<Vec<Bind>>) -> Result<(), StoreError> {
    let Some(width) = rows.first().map(Vec::len) else { return Ok(()) };
    for chunk in rows.chunks((400 / width).max(1)) {
        let mut sql = format!("INSERT INTO {target} VALUES ");
        let mut binds = Vec::with_capacity(chunk.len() * width);
        for (i, row) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for (j, bind) in row.iter().enumerate() {
                binds.push(bind.clone());
                sql.push_str(&format!("{}${}", if j == 0 { "" } else { ", " }, binds.len()));
            }
            sql.push(')');
        }
        fetch(conn, sql, &binds).await?;
    }
    Ok(())
}
