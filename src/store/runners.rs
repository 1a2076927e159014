//! The job reads behind `/api/insights/runners` and `/api/insights/minutes`
//! (and the runner gauges of `/metrics`): one small row per job, as a
//! [`JobSpan`]. The arithmetic lives in `crate::metrics::runners` and
//! `crate::metrics::minutes`; this module only selects rows.
//!
//! Reads: the jobs whose `started_at` falls in a range (index
//! `jobs_by_started`; also on a connection, for the runner roll-ups' fold),
//! and the jobs not finished yet — queued or running now — whatever their
//! age (partial index `jobs_waiting`, which holds only those, so it stays
//! small however many jobs are stored), with or without the jobs of
//! finished run attempts. The roll-ups themselves are `super::runner_rollups`.

use sqlx::Row;

use super::StoreError;
use super::rows::provider_id;
use crate::domain::{BuildStatus, ProviderKind, RepoName};
use crate::metrics::runners::JobSpan;
use crate::store::MetricReads;

/// Optional exact-match filters of the runner reads.
#[derive(Debug, Clone, Default)]
pub struct RunnerFilter {
    pub repo: Option<RepoName>,
    pub provider: Option<ProviderKind>,
}

/// The columns of a [`JobSpan`] row, of jobs `j` and their run attempt `b`.
macro_rules! span_select {
    () => {
        "SELECT j.id, j.build_id, b.repo, b.status AS run_status, COALESCE(j.workflow, b.workflow) AS workflow, \
         COALESCE(j.branch, b.branch) AS branch, b.event, \
         (SELECT p.kind FROM providers p WHERE p.id = b.provider_id) AS provider_kind, j.name, j.labels, j.runner_group, j.status, j.provider_status, j.created_at, j.started_at, \
         j.completed_at, j.url"
    };
}

const SPAN_COLUMNS: &str = concat!(span_select!(), " FROM jobs j JOIN builds b ON b.id = j.build_id WHERE ");

/// [`SPAN_COLUMNS`] driven from the run attempts (SQLite keeps the order of
/// a `CROSS JOIN`): for the attempts not finished, few whatever the jobs.
const OPEN_SPAN_COLUMNS: &str =
    concat!(span_select!(), " FROM builds b CROSS JOIN jobs j WHERE j.build_id = b.id AND ");

impl MetricReads<'_> {
    /// Every job whose `started_at` is in `[since, until)` (skipped jobs
    /// left out), with the filter applied.
    pub async fn job_spans(
        &self,
        since: i64,
        until: i64,
        filter: &RunnerFilter,
    ) -> Result<Vec<JobSpan>, StoreError> {
        let mut sql =
            format!("{SPAN_COLUMNS}j.started_at >= $1 AND j.started_at < $2 AND j.status <> 'skipped'");
        let numbers = vec![since, until];
        self.spans(sql_with(&mut sql, filter, numbers), &sql, filter).await
    }

    /// The jobs of [`MetricReads::job_spans`] (no filter) not finished by
    /// `end` (`completed_at` after it, or none): of a day before a day
    /// whose peaks are computed, the only ones running in it.
    pub(super) async fn job_spans_past(
        &self,
        since: i64,
        until: i64,
        end: i64,
    ) -> Result<Vec<JobSpan>, StoreError> {
        let sql = format!(
            "{SPAN_COLUMNS}j.started_at >= $1 AND j.started_at < $2 AND j.status <> 'skipped' \
             AND (j.completed_at IS NULL OR j.completed_at > $3)"
        );
        self.spans(vec![since, until, end], &sql, &RunnerFilter::default()).await
    }

    /// Every job queued or running now (normalised status), with the
    /// filter applied.
    pub async fn open_jobs(&self, filter: &RunnerFilter) -> Result<Vec<JobSpan>, StoreError> {
        // A job of a run attempt that has finished will never get a runner
        // (a lost final job delivery, a `created` job left in a finished
        // GitLab pipeline): it is not queued or running now. The attempts
        // not finished are named (index `builds_by_status_start`): `NOT` the
        // finished ones made PostgreSQL scan every run attempt per request;
        // SQLite read them from the queued jobs (`jobs_waiting`), one run
        // attempt lookup per job, however many lost jobs of finished runs.
        let open: Vec<String> =
            BuildStatus::ALL.iter().filter(|s| !s.is_final()).map(|s| format!("'{}'", s.as_str())).collect();
        let mut sql = format!(
            "{OPEN_SPAN_COLUMNS}j.status IN ('queued', 'running') AND b.status IN ({})",
            open.join(", ")
        );
        self.spans(sql_with(&mut sql, filter, Vec::new()), &sql, filter).await
    }

    /// Every job running now (normalised status), whatever its run
    /// attempt's state (index `jobs_waiting`).
    pub(super) async fn running_jobs(&self) -> Result<Vec<JobSpan>, StoreError> {
        // The `IN` repeats the partial index's condition, so SQLite uses it
        // (`= 'running'` alone made it scan every run attempt and its jobs).
        let sql = format!("{SPAN_COLUMNS}j.status IN ('queued', 'running') AND j.status = 'running'");
        self.spans(Vec::new(), &sql, &RunnerFilter::default()).await
    }

    async fn spans(
        &self,
        numbers: Vec<i64>,
        sql: &str,
        filter: &RunnerFilter,
    ) -> Result<Vec<JobSpan>, StoreError> {
        let texts: Vec<String> = filter.repo.iter().map(|r| r.as_str().to_owned()).collect();
        let rows = self.fetch_bound(sql.to_owned(), &numbers, &texts).await?;
        rows.iter().map(span_from_row).collect::<Result<_, sqlx::Error>>().map_err(StoreError::from)
    }
}

/// Appends the filter's clauses (numbers first, then the repository's
/// text, as `fetch_bound` binds them); answers the numbers to bind.
fn sql_with(sql: &mut String, filter: &RunnerFilter, mut numbers: Vec<i64>) -> Vec<i64> {
    if let Some(provider) = filter.provider {
        numbers.push(provider_id(provider));
        sql.push_str(&format!(" AND j.provider_id = ${}", numbers.len()));
    }
    if filter.repo.is_some() {
        sql.push_str(&format!(" AND b.repo = ${}", numbers.len() + 1));
    }
    numbers
}

/// Every job (skipped ones left out) whose `started_at` is in `[since,
/// until)`, read on `conn` (the fold's transaction).
pub(super) async fn spans_started_on(
    conn: &mut sqlx::AnyConnection,
    since: i64,
    until: i64,
) -> Result<Vec<JobSpan>, StoreError> {
    let sql = format!("{SPAN_COLUMNS}j.started_at >= $1 AND j.started_at < $2 AND j.status <> 'skipped'");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since).bind(until).fetch_all(&mut *conn).await?;
    rows.iter().map(span_from_row).collect::<Result<_, sqlx::Error>>().map_err(StoreError::from)
}

fn span_from_row(row: &sqlx::any::AnyRow) -> Result<JobSpan, sqlx::Error> {
    let labels: String = row.try_get("labels")?;
    Ok(JobSpan {
        id: row.try_get("id")?,
        build_id: row.try_get("build_id")?,
        repo: row.try_get("repo")?,
        workflow: row.try_get("workflow")?,
        branch: row.try_get("branch")?,
        event: row.try_get("event")?,
        provider: row.try_get("provider_kind")?,
        name: row.try_get("name")?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        runner_group: row.try_get("runner_group")?,
        status: BuildStatus::from_stored(row.try_get::<&str, _>("status")?),
        provider_status: row.try_get("provider_status")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        completed_at: row.try_get("completed_at")?,
        url: row.try_get("url")?,
        run_finished: BuildStatus::from_stored(row.try_get::<&str, _>("run_status")?).is_final(),
    })
}
