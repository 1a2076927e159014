//! Reading job tallies (`crate::metrics::jobs`) of a window: raw scans of
//! jobs and steps (each row with its sign, 1 or −1), and reads of the
//! daily roll-ups; the fold uses the same raw scan, so a roll-up holds
//! exactly what a scan of its day gives.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::sql::{Bind, IDS_PER_STATEMENT, fetch, for_each_row, ids_sql, spans_sql};

use crate::domain::{BuildStatus, ProviderKind, RunStatus};
use crate::metrics::jobs::{JobCell, JobFacts, JobWindow, StepFacts};
use crate::store::StoreError;
use crate::store::rollups::DAY;
use crate::store::rows::provider_id;

/// Which jobs a read covers. Every field but `branch` is an attribute of
/// the job key, so roll-ups can answer it; `branch` needs raw scans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub repo: Option<String>,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub provider: Option<ProviderKind>,
    pub key_id: Option<i64>,
}

/// How finely a read groups its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    /// Per job key (day 0, matrix '').
    Key,
    /// Per UTC day, job key and matrix variant.
    DayMatrix,
}

/// ` AND k.repo = $n …` for the key attributes of `filter` (and the
/// branch, `b.branch`, when `with_branch`).
pub(super) fn filter_sql(filter: &JobFilter, with_branch: bool, binds: &mut Vec<Bind>) -> String {
    let mut sql = String::new();
    let mut text = |column: &str, value: &Option<String>, binds: &mut Vec<Bind>| {
        if let Some(value) = value {
            binds.push(Bind::Text(value.clone()));
            sql.push_str(&format!(" AND {column} = ${}", binds.len()));
        }
    };
    text("k.repo", &filter.repo, binds);
    text("k.workflow", &filter.workflow, binds);
    if with_branch {
        text("b.branch", &filter.branch, binds);
    }
    for (column, value) in [("k.provider_id", filter.provider.map(provider_id)), ("k.id", filter.key_id)] {
        if let Some(value) = value {
            binds.push(Bind::Int(value));
            sql.push_str(&format!(" AND {column} = ${}", binds.len()));
        }
    }
    sql
}

fn elapsed(from: Option<i64>, to: Option<i64>) -> Option<i64> {
    Some((to? - from?).max(0))
}

/// 1 when the row's job is a re-run's carried-over job (see
/// `crate::metrics::jobs`): attempt > 1, completed before the attempt
/// began; else 0 (a missing time is never carried over).
const CARRIED_OVER: &str =
    "CAST(CASE WHEN b.run_attempt > 1 AND j.completed_at < b.started_at THEN 1 ELSE 0 END AS BIGINT)";

fn job_facts(row: &AnyRow) -> Result<JobFacts, StoreError> {
    let provider_status = RunStatus::parse(row.try_get("provider_status")?);
    let (created, started, completed): (Option<i64>, Option<i64>, Option<i64>) =
        (row.try_get("created_at")?, row.try_get("started_at")?, row.try_get("completed_at")?);
    Ok(JobFacts {
        status: BuildStatus::from_stored(row.try_get("status")?),
        started: matches!(provider_status, RunStatus::InProgress | RunStatus::Completed),
        completed: provider_status.is_completed(),
        queue_seconds: elapsed(created, started),
        run_seconds: elapsed(started, completed),
        carried_over: row.try_get::<i64, _>("carried_over")? == 1,
    })
}

/// The jobs (and their steps when `with_steps`) of the runs whose start
/// is in the `add` spans, minus those in the `subtract` spans (Unix
/// seconds), by `grain`.
pub(super) async fn raw_window(
    conn: &mut AnyConnection,
    add: &[(i64, i64)],
    subtract: &[(i64, i64)],
    filter: &JobFilter,
    grain: Grain,
    with_steps: bool,
) -> Result<JobWindow, StoreError> {
    let mut windows =
        raw_scan(conn, Runs::Spans { add, subtract }, filter, grain, with_steps, |_, _| Some(0)).await?;
    Ok(windows.remove(&0).unwrap_or_default())
}

/// Which runs a raw scan reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum Runs<'a> {
    /// Those starting in the `add` spans, and (counted −1) in the `subtract` spans.
    Spans { add: &'a [(i64, i64)], subtract: &'a [(i64, i64)] },
    /// These run (`builds`) ids, each counted once.
    Ids(&'a [i64]),
}

/// [`raw_window`] in one scan (one per [`IDS_PER_STATEMENT`] ids), split by
/// `bucket` of each row's run start (`sort_at`) and run id, which leaves
/// the row out by answering `None`: e.g. per UTC hour for the fold.
pub(super) async fn raw_scan(
    conn: &mut AnyConnection,
    runs: Runs<'_>,
    filter: &JobFilter,
    grain: Grain,
    with_steps: bool,
    bucket: impl Fn(i64, i64) -> Option<i64>,
) -> Result<BTreeMap<i64, JobWindow>, StoreError> {
    let mut windows: BTreeMap<i64, JobWindow> = BTreeMap::new();
    match runs {
        Runs::Spans { add, subtract } => {
            let spans: Vec<(i64, i64)> = add.iter().chain(subtract).copied().collect();
            if spans.is_empty() {
                return Ok(windows);
            }
            let mut binds = Vec::new();
            // One key's jobs are found by their kept run start (`jobs_by_key`,
            // migration 0037: always its attempt's `sort_at`), the rest by
            // their attempts' (`builds_window`).
            let column = if filter.key_id.is_some() { "j.run_sort_at" } else { "b.sort_at" };
            let range = spans_sql(column, &spans, &mut binds);
            let sign = if subtract.is_empty() {
                "CAST(1 AS BIGINT)".to_owned()
            } else {
                format!(
                    "CAST(CASE WHEN {} THEN -1 ELSE 1 END AS BIGINT)",
                    spans_sql("b.sort_at", subtract, &mut binds)
                )
            };
            scan_into(conn, &mut windows, (&range, &sign, binds), filter, grain, with_steps, &bucket).await?;
        }
        Runs::Ids(ids) => {
            for chunk in ids.chunks(IDS_PER_STATEMENT) {
                let mut binds = Vec::new();
                let range = ids_sql("b.id", chunk, &mut binds);
                let sign = "CAST(1 AS BIGINT)";
                scan_into(conn, &mut windows, (&range, sign, binds), filter, grain, with_steps, &bucket)
                    .await?;
            }
        }
    }
    Ok(windows)
}

/// One scan of the runs `which` selects (`(condition, sign, binds)`):
/// their jobs, then their steps, tallied into `windows`.
async fn scan_into(
    conn: &mut AnyConnection,
    windows: &mut BTreeMap<i64, JobWindow>,
    which: (&str, &str, Vec<Bind>),
    filter: &JobFilter,
    grain: Grain,
    with_steps: bool,
    bucket: &impl Fn(i64, i64) -> Option<i64>,
) -> Result<(), StoreError> {
    let (range, sign, mut binds) = which;
    // CROSS JOIN keeps SQLite's planner on the window's builds first (by
    // `builds_window`), then their jobs by `jobs_by_build`; for one key,
    // on the key's jobs of the spans first (`jobs_by_key`), then their
    // runs. PostgreSQL plans it as the inner join it is. Without a filter
    // on the key's attributes the keys are not joined: a job's key id
    // always names a key (a key is deleted only once no job has it), and
    // the lookup of every job's key was half of a scan's time on
    // PostgreSQL (edge and by-id scans of the list, 10 M jobs).
    let JobFilter { repo, workflow, branch: _, provider, key_id } = filter;
    let by_key = repo.is_some() || workflow.is_some() || provider.is_some();
    let (joins, on) = if key_id.is_some() {
        ("FROM job_keys k CROSS JOIN jobs j CROSS JOIN builds b", "j.build_id = b.id AND k.id = j.key_id")
    } else if by_key {
        ("FROM builds b CROSS JOIN jobs j CROSS JOIN job_keys k", "j.build_id = b.id AND k.id = j.key_id")
    } else {
        ("FROM builds b CROSS JOIN jobs j", "j.build_id = b.id AND j.key_id IS NOT NULL")
    };
    let filter = filter_sql(filter, true, &mut binds);
    let common = format!("{sign} AS sign, b.id AS run_id, b.sort_at, j.key_id");
    let jobs = format!(
        "SELECT {common}, {CARRIED_OVER} AS carried_over, j.matrix, j.status, j.provider_status, \
         j.created_at, j.started_at, j.completed_at {joins} WHERE {on} AND {range}{filter}"
    );
    for_each_row(conn, jobs, &binds, |row| {
        let facts = job_facts(row)?;
        if !facts.counted() {
            return Ok(());
        }
        let Some(at) = bucket(row.try_get("sort_at")?, row.try_get("run_id")?) else { return Ok(()) };
        let cell = cell(row, grain, row.try_get::<Option<String>, _>("matrix")?.unwrap_or_default())?;
        let window = windows.entry(at).or_default();
        window.jobs.entry(cell).or_default().add_job(&facts, row.try_get("sign")?);
        Ok(())
    })
    .await?;
    if !with_steps {
        return Ok(());
    }
    let steps = format!(
        "SELECT {common}, s.number, s.name, s.status, s.provider_status, s.started_at, s.completed_at \
         {joins} CROSS JOIN steps s WHERE {on} AND s.job_id = j.id AND {range}{filter} \
         AND j.status <> '{}' AND {CARRIED_OVER} = 0",
        BuildStatus::Skipped.as_str()
    );
    // The steps of skipped and carried-over jobs are in no figure (left out above).
    for_each_row(conn, steps, &binds, |row| {
        let Some(at) = bucket(row.try_get("sort_at")?, row.try_get("run_id")?) else { return Ok(()) };
        let number: i64 = row.try_get("number")?;
        let name = row.try_get::<Option<String>, _>("name")?.unwrap_or_else(|| format!("#{number}"));
        let provider_status = RunStatus::parse(row.try_get("provider_status")?);
        let seconds = if provider_status.is_completed() {
            elapsed(row.try_get("started_at")?, row.try_get("completed_at")?)
        } else {
            None
        };
        let facts = StepFacts { status: BuildStatus::from_stored(row.try_get("status")?), seconds };
        let key_id: i64 = row.try_get("key_id")?;
        let window = windows.entry(at).or_default();
        window.steps.entry((key_id, name)).or_default().add_step(number, &facts, row.try_get("sign")?);
        Ok(())
    })
    .await?;
    Ok(())
}

fn cell(row: &AnyRow, grain: Grain, matrix: String) -> Result<JobCell, StoreError> {
    let key_id: i64 = row.try_get("key_id")?;
    Ok(match grain {
        Grain::Key => JobCell { day: 0, key_id, matrix: String::new() },
        Grain::DayMatrix => {
            let day = match row.try_get::<i64, _>("sort_at") {
                Ok(at) => at.div_euclid(DAY),
                Err(_) => row.try_get("day")?,
            };
            JobCell { day, key_id, matrix }
        }
    })
}

/// The roll-ups of the `[first, end)` day spans, by `grain` (steps per
/// key and name).
pub(super) async fn rollup_window(
    conn: &mut AnyConnection,
    days: &[(i64, i64)],
    filter: &JobFilter,
    grain: Grain,
    with_steps: bool,
) -> Result<JobWindow, StoreError> {
    let mut window = JobWindow::default();
    if days.is_empty() {
        return Ok(window);
    }
    let mut binds = Vec::new();
    let range = spans_sql("r.day", days, &mut binds);
    let filter = filter_sql(filter, false, &mut binds);
    let from =
        |table: &str| format!("FROM {table} r JOIN job_keys k ON k.id = r.key_id WHERE {range}{filter}");
    let group = match grain {
        Grain::Key => "r.key_id",
        Grain::DayMatrix => "r.day, r.key_id, r.matrix",
    };
    let sum = |column: &str| format!("CAST(SUM(r.{column}) AS BIGINT) AS {column}");
    let counts = fetch(
        conn,
        format!(
            "SELECT {group}, {}, {}, {}, {} {} GROUP BY {group}",
            sum("runs"),
            sum("conclusive"),
            sum("failed"),
            sum("runner_seconds"),
            from("rollup_jobs")
        ),
        &binds,
    )
    .await?;
    let matrix = |row: &AnyRow| -> Result<String, StoreError> {
        Ok(if grain == Grain::Key { String::new() } else { row.try_get("matrix")? })
    };
    for row in &counts {
        let tally = window.jobs.entry(cell(row, grain, matrix(row)?)?).or_default();
        tally.runs += row.try_get::<i64, _>("runs")?;
        tally.conclusive += row.try_get::<i64, _>("conclusive")?;
        tally.failed += row.try_get::<i64, _>("failed")?;
        tally.runner_seconds += row.try_get::<i64, _>("runner_seconds")?;
    }
    let times = fetch(
        conn,
        format!(
            "SELECT {group}, r.kind, r.seconds, {} {} GROUP BY {group}, r.kind, r.seconds",
            sum("jobs"),
            from("rollup_job_times")
        ),
        &binds,
    )
    .await?;
    for row in &times {
        let tally = window.jobs.entry(cell(row, grain, matrix(row)?)?).or_default();
        let histogram =
            if row.try_get::<&str, _>("kind")? == "queue" { &mut tally.queues } else { &mut tally.durations };
        histogram.add(row.try_get("seconds")?, row.try_get("jobs")?);
    }
    if !with_steps {
        return Ok(window);
    }
    let steps = fetch(
        conn,
        format!(
            "SELECT r.key_id, r.step, CAST(MIN(r.number) AS BIGINT) AS number, {}, {} {} GROUP BY r.key_id, r.step",
            sum("runs"),
            sum("failed"),
            from("rollup_steps")
        ),
        &binds,
    )
    .await?;
    for row in &steps {
        let tally = window.steps.entry((row.try_get("key_id")?, row.try_get("step")?)).or_default();
        tally.note_number(row.try_get("number")?);
        tally.runs += row.try_get::<i64, _>("runs")?;
        tally.failed += row.try_get::<i64, _>("failed")?;
    }
    let step_times = fetch(
        conn,
        format!(
            "SELECT r.key_id, r.step, r.seconds, {} {} GROUP BY r.key_id, r.step, r.seconds",
            sum("steps"),
            from("rollup_step_times")
        ),
        &binds,
    )
    .await?;
    for row in &step_times {
        let tally = window.steps.entry((row.try_get("key_id")?, row.try_get("step")?)).or_default();
        tally.durations.add(row.try_get("seconds")?, row.try_get("steps")?);
    }
    Ok(window)
}
