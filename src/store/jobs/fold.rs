//! The fold of the job roll-ups: recomputes, from the jobs themselves (one
//! scan per day), the days that changes made stale — daily roll-ups,
//! packed hours and hour spans (`super::hour_spans`), and the packed day
//! spans above them (`super::spans`) —
//! inside the summary fold's transaction (`crate::store::rollups`), so
//! both roll-ups share one `folded_through`.
//!
//! The packed rows leave out the runs still going (`open_runs`: started
//! within a day, not completed or written within ten minutes), recorded
//! in `rollup_job_open`, with the highest run id the fold saw; the daily
//! roll-ups hold every run. A reader (`packed_freshness`) reads those runs,
//! and runs new since, by id, so the writes of a live system stale no
//! packed hour; only a write to a settled run does. A day holding a
//! left-out run that has settled is folded again (`settled_days`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::hour_spans::store_hour_spans;
use super::hours::HOUR;
use super::packed::encode;
use super::read::{Grain, JobFilter, Runs, raw_scan};
use super::spans::{SPANS_TABLE, fold_spans, store_day};
use super::sql::{Bind, fetch};
use crate::metrics::jobs::{JobCell, JobWindow};
use crate::store::StoreError;
use crate::store::rollups::DAY;

/// The daily job roll-up tables.
pub(in crate::store) const TABLES: [&str; 4] =
    ["rollup_jobs", "rollup_job_times", "rollup_steps", "rollup_step_times"];
/// The hourly packed job roll-up (`super::packed`), keyed by `hour`.
pub(in crate::store) const HOURS_TABLE: &str = "rollup_job_hours";
/// The packed hour spans (`super::hour_spans`), keyed by `first_hour`.
pub(in crate::store) const HOUR_SPANS_TABLE: &str = "rollup_job_hour_spans";
/// The runs the packed rows leave out, by day (see [`open_runs`]).
pub(in crate::store) const OPEN_TABLE: &str = "rollup_job_open";
/// The bucket of a left-out run's rows in the fold's scan.
const LEFT_OUT: i64 = i64::MIN;

/// UTC days holding the run of a job written in `(after, through]`.
const JOB_DIRTY_DAYS: &str = "SELECT DISTINCT b.sort_at / 86400 AS day FROM jobs j \
     JOIN builds b ON b.id = j.build_id WHERE j.changed_at > $1 AND j.changed_at <= $2 AND b.sort_at > 0";

/// Runs (id, start) written after `$1`, or holding a job written since.
const CHANGED_RUNS: &str = "SELECT b.id, b.sort_at FROM jobs j JOIN builds b ON b.id = j.build_id \
     WHERE j.changed_at > $1 AND b.sort_at > 0 \
     UNION SELECT id, sort_at FROM builds WHERE changed_at > $1 AND sort_at > 0";

/// Days a run's start left since the last fold (`builds.moved_from`,
/// also set when the start left its hour within the day).
const MOVED_DAYS: &str = "SELECT DISTINCT moved_from AS day FROM builds WHERE moved_from IS NOT NULL";

/// The runs the packed roll-ups leave out (`rollup_job_open`, with their
/// start now), and the highest run id the last fold saw; one statement.
const OPEN_RUNS: &str = "SELECT o.build_id AS id, b.sort_at, \
     (SELECT max_build_id FROM rollup_state WHERE id = 1) AS max_id \
     FROM (SELECT CAST(0 AS BIGINT) AS zero) one \
     LEFT JOIN rollup_job_open o ON 1 = 1 LEFT JOIN builds b ON b.id = o.build_id";

/// How fresh the packed job roll-ups are for the job list, as of a fold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(in crate::store) struct PackedFreshness {
    /// UTC hours (`sort_at / 3600`) whose packed rows a write since made
    /// stale: those of packed runs written (or holding a job written)
    /// since, and every hour of a day a run's start left.
    pub stale_hours: BTreeSet<i64>,
    /// Days of every run written since (packed or not) and days a start
    /// left: what the daily roll-ups (which hold every run) see as stale.
    pub dirty_days: BTreeSet<i64>,
    /// Runs in no packed row, by id, with their start: those the fold
    /// left out as still going, and those written since the fold that it
    /// never saw (an id above the highest it saw).
    pub unpacked: BTreeMap<i64, i64>,
}

/// What writes after `after` (the last fold's `folded_through`) made
/// stale, and which runs the packed rows leave out (see
/// [`PackedFreshness`]). A written run the fold left out, or never saw,
/// stales no hour: it is read by id.
pub(in crate::store) async fn packed_freshness(
    conn: &mut AnyConnection,
    after: i64,
) -> Result<PackedFreshness, StoreError> {
    let mut fresh = PackedFreshness::default();
    let mut max_id: Option<i64> = None;
    for row in sqlx::query(OPEN_RUNS).fetch_all(&mut *conn).await? {
        max_id = row.try_get("max_id")?;
        if let (Some(id), Some(at)) =
            (row.try_get::<Option<i64>, _>("id")?, row.try_get::<Option<i64>, _>("sort_at")?)
        {
            fresh.unpacked.insert(id, at);
        }
    }
    for row in sqlx::query(CHANGED_RUNS).bind(after).fetch_all(&mut *conn).await? {
        let (id, at): (i64, i64) = (row.try_get("id")?, row.try_get("sort_at")?);
        fresh.dirty_days.insert(at.div_euclid(DAY));
        if fresh.unpacked.contains_key(&id) || max_id.is_some_and(|max| id > max) {
            fresh.unpacked.insert(id, at);
        } else {
            fresh.stale_hours.insert(at.div_euclid(HOUR));
        }
    }
    for row in sqlx::query(MOVED_DAYS).fetch_all(&mut *conn).await? {
        let day: i64 = row.try_get("day")?;
        fresh.dirty_days.insert(day);
        fresh.stale_hours.extend(day * (DAY / HOUR)..(day + 1) * (DAY / HOUR));
    }
    Ok(fresh)
}

/// A run started within this long before the fold's `through` may be left
/// out of the packed rows (older ones are packed however they stand).
const OPEN_HORIZON: i64 = DAY;
/// A run or one of its jobs written within this long before `through`
/// (or after it) is left out as still going.
const SETTLE_SECONDS: i64 = 600;

/// Whether run `b` is still going as of `since` (a placeholder bound to
/// `through` − [`SETTLE_SECONDS`]): not completed, a job not completed, or
/// it or a job written since.
fn going(since: &str) -> String {
    format!(
        "(b.provider_status IS NULL OR b.provider_status <> 'completed' OR b.changed_at > {since} \
         OR EXISTS (SELECT 1 FROM jobs j WHERE j.build_id = b.id \
         AND (j.changed_at > {since} OR j.provider_status IS NULL OR j.provider_status <> 'completed')))"
    )
}

/// The runs of `day` the packed rows leave out: started within
/// [`OPEN_HORIZON`] of `through` and still going ([`going`]) — the runs
/// likely to be written again soon.
async fn open_runs(conn: &mut AnyConnection, day: i64, through: i64) -> Result<HashSet<i64>, StoreError> {
    let (first, end) = ((day * DAY).max(through - OPEN_HORIZON), (day + 1) * DAY);
    if first >= end {
        return Ok(HashSet::new());
    }
    let sql =
        format!("SELECT b.id FROM builds b WHERE b.sort_at >= $1 AND b.sort_at < $2 AND {}", going("$3"));
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(first)
        .bind(end)
        .bind(through - SETTLE_SECONDS)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|row| Ok(row.try_get::<i64, _>("id")?)).collect()
}

/// Days holding a left-out run that is no longer left out as of
/// `through` (settled, past the horizon, moved or gone): folded again so
/// it is packed.
async fn settled_days(conn: &mut AnyConnection, through: i64) -> Result<BTreeSet<i64>, StoreError> {
    let sql = format!(
        "SELECT DISTINCT o.day FROM rollup_job_open o LEFT JOIN builds b ON b.id = o.build_id \
         WHERE b.id IS NULL OR b.sort_at < $1 OR b.sort_at < o.day * 86400 OR b.sort_at >= (o.day + 1) * 86400 \
         OR NOT {}",
        going("$2")
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(through - OPEN_HORIZON)
        .bind(through - SETTLE_SECONDS)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|row| Ok(row.try_get::<i64, _>("day")?)).collect()
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
/// `below`. Answers the highest run id seen (read last, so every run in a
/// packed row is at or below it).
pub(in crate::store) async fn fold_job_rollups(
    conn: &mut AnyConnection,
    previous: Option<i64>,
    through: i64,
    below: i64,
    days: &BTreeSet<i64>,
) -> Result<Option<i64>, StoreError> {
    let mut days = days.clone();
    days.extend(job_dirty_days(conn, previous.unwrap_or(i64::MIN), through).await?);
    days.extend(settled_days(conn, through).await?.into_iter().filter(|&day| day >= below));
    for table in TABLES {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day < $1")))
            .bind(below)
            .execute(&mut *conn)
            .await?;
    }
    for (table, column) in [(HOURS_TABLE, "hour"), (HOUR_SPANS_TABLE, "first_hour")] {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE {column} < $1")))
            .bind(below * (DAY / HOUR))
            .execute(&mut *conn)
            .await?;
    }
    if previous.is_none() {
        for table in [SPANS_TABLE, OPEN_TABLE] {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut *conn).await?;
        }
    }
    sqlx::query("DELETE FROM rollup_job_open WHERE day < $1").bind(below).execute(&mut *conn).await?;
    sqlx::query(AssertSqlSafe(format!("DELETE FROM {SPANS_TABLE} WHERE first_day < $1")))
        .bind(below)
        .execute(&mut *conn)
        .await?;
    let mut changed = BTreeSet::new();
    for &day in &days {
        let open = open_runs(conn, day, through).await?;
        let packed = fold_day(conn, day, &open).await?;
        if store_day(conn, day, &packed).await? {
            changed.insert(day);
        }
        sqlx::query("DELETE FROM rollup_job_open WHERE day = $1").bind(day).execute(&mut *conn).await?;
        let rows: Vec<Vec<Bind>> = open.iter().map(|&id| vec![Bind::Int(id), Bind::Int(day)]).collect();
        insert(conn, "rollup_job_open (build_id, day)", rows).await?;
    }
    fold_spans(conn, &changed, below).await?;
    let max_id: Option<i64> =
        sqlx::query("SELECT MAX(id) AS id FROM builds").fetch_one(&mut *conn).await?.try_get("id")?;
    Ok(max_id)
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

/// Recomputes the daily roll-ups (every run) and the packed hours (every
/// run but the `open` ones) of `day` from one raw scan of its jobs (an
/// hour without packed jobs has no row); answers the packed hours'
/// tallies grouped by key (the day's span).
async fn fold_day(conn: &mut AnyConnection, day: i64, open: &HashSet<i64>) -> Result<JobWindow, StoreError> {
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
    let runs = Runs::Spans { add: &span, subtract: &[] };
    let bucket = |at: i64, id: i64| Some(if open.contains(&id) { LEFT_OUT } else { at.div_euclid(HOUR) });
    let hours = raw_scan(conn, runs, &JobFilter::default(), Grain::DayMatrix, true, bucket).await?;
    let mut window = JobWindow::default();
    let mut packed_hours = BTreeMap::new();
    for (hour, tallies) in hours {
        if hour == LEFT_OUT {
            window.merge(tallies);
            continue;
        }
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
        packed_hours.insert(hour, keyed);
    }
    let packed = store_hour_spans(conn, day, packed_hours).await?;
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
    Ok(packed)
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
