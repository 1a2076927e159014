//! The fold of the runner roll-ups: recomputes, from the jobs themselves,
//! the days that job writes made stale or that retention left unfolded
//! (and the peaks of the days after them), inside the summary fold's
//! transaction (`crate::store::rollups`).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::packed::encode;
use super::{DAY_TABLES, HOUR_TABLE, HOURLY_TABLES, dirty_days};
use crate::domain::BuildStatus;
use crate::metrics::concurrency::hourly_peaks;
use crate::metrics::minutes::minute_cells;
use crate::metrics::runner_parts::{DAY, DayTally, HOUR, interval};
use crate::metrics::runners::JobSpan;
use crate::store::StoreError;
use crate::store::runners::spans_started_on;

/// A value to bind in a multi-row insert.
#[derive(Debug, Clone)]
enum Value {
    Int(i64),
    Text(Option<String>),
    Bytes(Vec<u8>),
}

/// Days with roll-up rows but no `rollup_runner_folded` row: retention
/// deleted some of their jobs (or they were folded before migration 0029).
const UNFOLDED_DAYS: &str = "SELECT DISTINCT day FROM rollup_runner_days d \
     WHERE NOT EXISTS (SELECT 1 FROM rollup_runner_folded f WHERE f.day = d.day)";

/// Recomputes the runner roll-ups of every day with a job written in
/// `(previous, through]` (or whose start left it) or left unfolded, the
/// peaks of those days and the days after, and drops those before
/// `below`. Records each day folded (`rollup_runner_folded`) and clears
/// the `moved_from` marks it covered. Answers the number of days recomputed.
pub(in crate::store) async fn fold_runner_rollups(
    conn: &mut AnyConnection,
    previous: Option<i64>,
    through: i64,
    below: i64,
) -> Result<usize, StoreError> {
    let mut days = dirty_days(&mut *conn, previous.unwrap_or(i64::MIN), through).await?;
    for table in DAY_TABLES {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day < $1")))
            .bind(below)
            .execute(&mut *conn)
            .await?;
    }
    for row in sqlx::query(UNFOLDED_DAYS).fetch_all(&mut *conn).await? {
        days.insert(row.try_get::<i64, _>("day")?);
    }
    sqlx::query("DELETE FROM rollup_runner_peaks WHERE hour < $1")
        .bind(below * (DAY / HOUR))
        .execute(&mut *conn)
        .await?;
    // Hourly rows only for the day of `through` and the day before.
    let recent = through.div_euclid(DAY) - 1;
    for table in HOURLY_TABLES {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE hour < $1")))
            .bind(recent * (DAY / HOUR))
            .execute(&mut *conn)
            .await?;
    }
    let peak_days: BTreeSet<i64> = days.iter().flat_map(|&d| [d, d + 1]).collect();
    for &day in &peak_days {
        // The jobs started this day and the day before: all that can run in its hours.
        let spans = spans_started_on(conn, (day - 1) * DAY, (day + 1) * DAY).await?;
        fold_peaks(conn, day, &spans).await?;
        if days.contains(&day) {
            let started: Vec<JobSpan> =
                spans.into_iter().filter(|s| s.started_at.is_some_and(|t| t >= day * DAY)).collect();
            fold_day(conn, day, &started, day >= recent).await?;
        }
    }
    sqlx::query("UPDATE jobs SET moved_from = NULL WHERE moved_from IS NOT NULL AND changed_at <= $1")
        .bind(through)
        .execute(&mut *conn)
        .await?;
    Ok(days.len())
}

fn labels_json(labels: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(labels).map_err(|e| StoreError::Invariant(format!("label set: {e}")))
}

/// The peaks of the finished jobs among `spans` in the 24 hours of `day`.
async fn fold_peaks(conn: &mut AnyConnection, day: i64, spans: &[JobSpan]) -> Result<(), StoreError> {
    let first = day * (DAY / HOUR);
    sqlx::query(AssertSqlSafe(format!("DELETE FROM {HOUR_TABLE} WHERE hour >= $1 AND hour < $2")))
        .bind(first)
        .bind(first + DAY / HOUR)
        .execute(&mut *conn)
        .await?;
    let mut intervals: BTreeMap<Vec<String>, Vec<_>> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.status != BuildStatus::Running) {
        if let Some(interval) = interval(span, i64::MAX) {
            intervals.entry(span.label_set()).or_default().push(interval);
        }
    }
    let mut rows = Vec::new();
    for (labels, intervals) in intervals {
        let labels = labels_json(&labels)?;
        for (i, peak) in hourly_peaks(&intervals, day * DAY, 24).into_iter().enumerate() {
            if peak > 0 {
                let row = [Value::Int(first + i as i64), Value::Text(Some(labels.clone()))];
                rows.push([row[0].clone(), row[1].clone(), Value::Int(i64::from(peak))].to_vec());
            }
        }
    }
    insert(conn, "rollup_runner_peaks (hour, labels, peak)", rows).await
}

/// The rows of the tallies (`unit, labels, jobs, runner_groups, queues`)
/// and minute cells (`unit, provider, repo, workflow, job, labels, jobs,
/// runner_minutes`) of `spans` started in `[from, until)`, and the latest
/// start or end among them (none: `from`).
fn unit_rows(unit: i64, spans: &[JobSpan], from: i64, until: i64) -> Result<Rows, StoreError> {
    let own: Vec<&JobSpan> =
        spans.iter().filter(|s| s.started_at.is_some_and(|t| t >= from && t < until)).collect();
    let mut tallies: BTreeMap<Vec<String>, DayTally> = BTreeMap::new();
    for span in &own {
        tallies.entry(span.label_set()).or_default().add(span);
    }
    let mut rows = Rows::default();
    for (labels, tally) in &tallies {
        let labels = labels_json(labels)?;
        let groups: Vec<String> = tally.groups.iter().cloned().collect();
        let groups = serde_json::to_string(&groups).map_err(|e| StoreError::Invariant(e.to_string()))?;
        let jobs = i64::try_from(tally.jobs).unwrap_or(i64::MAX);
        rows.tallies.push(vec![
            Value::Int(unit),
            Value::Text(Some(labels)),
            Value::Int(jobs),
            Value::Text(Some(groups)),
            Value::Bytes(encode(&tally.queues)?),
        ]);
    }
    let providers: BTreeSet<&str> = own.iter().map(|s| s.provider.as_str()).collect();
    for provider in providers {
        let of: Vec<JobSpan> = own.iter().filter(|s| s.provider == provider).map(|s| (*s).clone()).collect();
        for (key, cell) in minute_cells(&of, from, until) {
            rows.minutes.push(vec![
                Value::Int(unit),
                Value::Text(Some(provider.to_owned())),
                Value::Text(Some(key.repo)),
                Value::Text(key.workflow),
                Value::Text(key.job),
                Value::Text(Some(labels_json(&key.labels)?)),
                Value::Int(i64::try_from(cell.jobs).unwrap_or(i64::MAX)),
                Value::Int(i64::try_from(cell.runner_minutes).unwrap_or(i64::MAX)),
            ]);
        }
    }
    // The latest instant the rows depend on.
    rows.latest = own.iter().flat_map(|s| [s.started_at, s.completed_at]).flatten().fold(from, i64::max);
    Ok(rows)
}

/// The rows of one day or hour (`unit_rows`).
#[derive(Default)]
struct Rows {
    tallies: Vec<Vec<Value>>,
    minutes: Vec<Vec<Value>>,
    latest: i64,
}

/// The day tallies and minute cells of the jobs started on `day`, and the
/// day's `rollup_runner_folded` row; with `hourly`, the same per hour of
/// the day too (`rollup_runner_hours`, `…_hour_minutes`, `…_hour_latest`).
async fn fold_day(
    conn: &mut AnyConnection,
    day: i64,
    spans: &[JobSpan],
    hourly: bool,
) -> Result<(), StoreError> {
    for table in DAY_TABLES {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE day = $1")))
            .bind(day)
            .execute(&mut *conn)
            .await?;
    }
    let first = day * (DAY / HOUR);
    for table in HOURLY_TABLES {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE hour >= $1 AND hour < $2")))
            .bind(first)
            .bind(first + DAY / HOUR)
            .execute(&mut *conn)
            .await?;
    }
    let rows = unit_rows(day, spans, day * DAY, (day + 1) * DAY)?;
    insert(conn, "rollup_runner_days (day, labels, jobs, runner_groups, queues)", rows.tallies).await?;
    let target =
        "rollup_runner_minutes (day, provider, repo, workflow, job, labels, jobs, runner_minutes, cell)";
    // The hours' cells are among the day's: their ids are read once.
    let ids = cell_ids(conn, &rows.minutes).await?;
    insert(conn, target, with_ids(rows.minutes, &ids)?).await?;
    let folded = vec![vec![Value::Int(day), Value::Int(rows.latest)]];
    insert(conn, "rollup_runner_folded (day, latest)", folded).await?;
    if !hourly {
        return Ok(());
    }
    let (mut tallies, mut minutes, mut latest) = (Vec::new(), Vec::new(), Vec::new());
    for hour in first..first + DAY / HOUR {
        let rows = unit_rows(hour, spans, hour * HOUR, (hour + 1) * HOUR)?;
        tallies.extend(rows.tallies);
        minutes.extend(rows.minutes);
        latest.push(vec![Value::Int(hour), Value::Int(rows.latest)]);
    }
    insert(conn, "rollup_runner_hours (hour, labels, jobs, runner_groups, queues)", tallies).await?;
    let target = "rollup_runner_hour_minutes (hour, provider, repo, workflow, job, labels, jobs, runner_minutes, cell)";
    insert(conn, target, with_ids(minutes, &ids)?).await?;
    insert(conn, "rollup_runner_hour_latest (hour, latest)", latest).await
}

/// A cell's names as `runner_minute_cells` tells cells apart: a workflow
/// or job of none as '' (migration 0038).
type CellName = (String, String, String, String, String);

fn cell_name(values: &[Value]) -> CellName {
    let text = |i: usize| match values.get(i) {
        Some(Value::Text(Some(text))) => text.clone(),
        _ => String::new(),
    };
    (text(0), text(1), text(2), text(3), text(4))
}

/// The ids of the cells of the minute rows (`unit, provider, repo,
/// workflow, job, labels, jobs, runner_minutes`) in `runner_minute_cells`
/// (migration 0038), adding the cells not known yet.
async fn cell_ids(
    conn: &mut AnyConnection,
    rows: &[Vec<Value>],
) -> Result<BTreeMap<CellName, i64>, StoreError> {
    let mut names: BTreeMap<CellName, Vec<Value>> = BTreeMap::new();
    for row in rows {
        names.entry(cell_name(&row[1..6])).or_insert_with(|| row[1..6].to_vec());
    }
    let target = "runner_minute_cells (provider, repo, workflow, job, labels)";
    insert_with(conn, target, names.values().cloned().collect(), " ON CONFLICT DO NOTHING").await?;
    let repos: BTreeSet<&str> = names.keys().map(|name| name.1.as_str()).collect();
    let mut ids: BTreeMap<CellName, i64> = BTreeMap::new();
    for chunk in repos.into_iter().collect::<Vec<_>>().chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, provider, repo, workflow, job, labels FROM runner_minute_cells WHERE repo IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for repo in chunk {
            query = query.bind(*repo);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let text = |column: &str| -> Result<String, StoreError> {
                Ok(row.try_get::<Option<String>, _>(column)?.unwrap_or_default())
            };
            let name = (text("provider")?, text("repo")?, text("workflow")?, text("job")?, text("labels")?);
            ids.insert(name, row.try_get("id")?);
        }
    }
    Ok(ids)
}

/// The minute rows with their cell's id (of `ids`, [`cell_ids`]) added.
fn with_ids(mut rows: Vec<Vec<Value>>, ids: &BTreeMap<CellName, i64>) -> Result<Vec<Vec<Value>>, StoreError> {
    for row in &mut rows {
        let id = ids.get(&cell_name(&row[1..6])).copied();
        let id = id.ok_or_else(|| StoreError::Invariant("a minute cell without its id".to_owned()))?;
        row.push(Value::Int(id));
    }
    Ok(rows)
}

/// Inserts `rows` into `target` (`table (columns…)`), many per statement.
async fn insert(conn: &mut AnyConnection, target: &str, rows: Vec<Vec<Value>>) -> Result<(), StoreError> {
    insert_with(conn, target, rows, "").await
}

/// [`insert`] with `suffix` after each statement's values (a conflict clause).
async fn insert_with(
    conn: &mut AnyConnection,
    target: &str,
    rows: Vec<Vec<Value>>,
    suffix: &str,
) -> Result<(), StoreError> {
    let Some(width) = rows.first().map(Vec::len) else { return Ok(()) };
    for chunk in rows.chunks((3000 / width).max(1)) {
        let mut sql = format!("INSERT INTO {target} VALUES ");
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..row.len() {
                n += 1;
                sql.push_str(&format!("{}${n}", if j == 0 { "" } else { ", " }));
            }
            sql.push(')');
        }
        sql.push_str(suffix);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in chunk.iter().flatten() {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.clone()),
                Value::Bytes(v) => query.bind(v.clone()),
            };
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
