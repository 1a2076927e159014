//! The `flaky_days` roll-up (migration 0027): per UTC day of `seen_at`,
//! provider, repository, workflow and branch (a *day cell*), the
//! [`LineSums`] of each report line of the cell's flaky occurrences — the
//! workflow's (`key_id` 0) and each job key's.
//!
//! Kept exactly: whenever the write path replaces a commit group's
//! occurrences (`refresh`), every cell that a replaced or a new occurrence
//! falls in is recomputed from `flaky_occurrences` in the same transaction
//! ([`recompute`]; on PostgreSQL under an advisory lock per cell, taken in
//! order after the group locks). Retention drops the days before its
//! cutoff and recomputes the cells of the cutoff's own day
//! ([`Store::trim_flaky_days`]); a database whose occurrences were stored
//! before the roll-up, or copied, is rebuilt ([`Flaky::rebuild_days`]).
//!
//! Owns this table's writes; its read is `insights`. Must not know what
//! the figures mean (`crate::metrics::flaky` sums them).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::codec::{COLUMNS, occurrence_from_row};
use crate::domain::flaky::Occurrence;
use crate::metrics::flaky::{LineKey, LineSums, Lines, add_occurrence};
use crate::store::rows::{provider_from_id, provider_id};
use crate::store::{Backend, Flaky, Store, StoreError};

pub(super) const DAY: i64 = 86_400;

/// The occurrences of one UTC day, provider, repository, workflow and branch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Cell {
    day: i64,
    provider_id: i64,
    repo: String,
    workflow: String,
    branch: Option<String>,
}

impl Cell {
    /// The cell occurrence `o` of `provider_id` and `repo` falls in.
    pub(super) fn of(provider_id: i64, repo: &str, o: &Occurrence) -> Cell {
        Cell {
            day: o.seen_at.div_euclid(DAY),
            provider_id,
            repo: repo.to_string(),
            workflow: o.workflow.clone(),
            branch: o.branch.clone(),
        }
    }

    fn lock_key(&self) -> String {
        format!(
            "flaky_day:{}:{}:{}:{}:{:?}",
            self.day, self.provider_id, self.repo, self.workflow, self.branch
        )
    }
}

/// Recomputes the roll-up rows of each of `cells` from `flaky_occurrences`,
/// on `conn` inside the caller's write transaction.
///
/// Errors: SQL failures (the whole transaction then fails).
pub(super) async fn recompute(
    conn: &mut AnyConnection,
    backend: Backend,
    cells: &BTreeSet<Cell>,
) -> Result<(), StoreError> {
    for cell in cells {
        crate::store::alerts::lock_key(conn, backend, &cell.lock_key()).await?;
        let branch = if cell.branch.is_some() { "branch = $6" } else { "branch IS NULL" };
        let sql = format!(
            "SELECT {COLUMNS} FROM flaky_occurrences WHERE provider_id = $1 AND repo = $2 AND workflow = $3 \
             AND seen_at >= $4 AND seen_at < $5 AND {branch}"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(cell.provider_id)
            .bind(&cell.repo)
            .bind(&cell.workflow)
            .bind(cell.day * DAY)
            .bind((cell.day + 1) * DAY);
        if let Some(branch) = &cell.branch {
            query = query.bind(branch);
        }
        let occurrences = query
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(occurrence_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        sqlx::query(
            "DELETE FROM flaky_days WHERE day = $1 AND provider_id = $2 AND repo = $3 AND workflow = $4 \
             AND branch = $5 AND branch_null = $6",
        )
        .bind(cell.day)
        .bind(cell.provider_id)
        .bind(&cell.repo)
        .bind(&cell.workflow)
        .bind(cell.branch.clone().unwrap_or_default())
        .bind(i64::from(cell.branch.is_none()))
        .execute(&mut *conn)
        .await?;
        let provider = provider_from_id(cell.provider_id)?;
        let mut lines = Lines::new();
        for o in &occurrences {
            add_occurrence(&mut lines, provider, &cell.repo, o);
        }
        let rows: Vec<_> = lines.iter().map(|(key, sums)| (cell.day, &cell.branch, key, sums)).collect();
        insert(conn, &rows).await?;
    }
    Ok(())
}

/// Columns of one inserted row.
const INSERT_COLUMNS: usize = 16;

/// Inserts roll-up rows (day, branch, line, sums), 40 per statement.
async fn insert(
    conn: &mut AnyConnection,
    rows: &[(i64, &Option<String>, &LineKey, &LineSums)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(40) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let marks: Vec<String> =
                    (1..=INSERT_COLUMNS).map(|c| format!("${}", r * INSERT_COLUMNS + c)).collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO flaky_days (day, provider_id, repo, workflow, branch, branch_null, key_id, occurrences, \
             passed_on_retry, flaky_jobs, failures, wasted_seconds, last_seen, top_at, top_build, examples) \
             VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (day, branch, key, sums) in chunk {
            let top = sums.examples.first();
            let examples = serde_json::to_string(&sums.examples)
                .map_err(|err| StoreError::Invariant(format!("flaky examples not encoded: {err}")))?;
            query = query
                .bind(*day)
                .bind(provider_id(key.provider))
                .bind(key.repo.clone())
                .bind(key.workflow.clone())
                .bind((*branch).clone().unwrap_or_default())
                .bind(i64::from(branch.is_none()))
                .bind(key.key.unwrap_or(0))
                .bind(sums.occurrences)
                .bind(sums.passed_on_retry)
                .bind(sums.flaky_jobs)
                .bind(sums.failures)
                .bind(sums.wasted_seconds)
                .bind(sums.last_seen)
                .bind(top.map_or(-1, |e| e.seen_at))
                .bind(top.map_or(-1, |e| e.build_id))
                .bind(examples);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

impl Flaky<'_> {
    /// Recomputes the whole flaky roll-up from `flaky_occurrences`, in one
    /// transaction (after `db copy`, at start-up for occurrences stored
    /// before it, or when rows were bulk-written around the write path).
    pub async fn rebuild_days(&self) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM flaky_days").execute(&mut *tx).await?;
        let sql = format!("SELECT provider_id, repo, {COLUMNS} FROM flaky_occurrences");
        let mut cells: BTreeMap<(i64, Option<String>), Lines> = BTreeMap::new();
        for row in sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *tx).await? {
            let o = occurrence_from_row(&row)?;
            let provider = provider_from_id(row.try_get("provider_id")?)?;
            let repo: String = row.try_get("repo")?;
            let lines = cells.entry((o.seen_at.div_euclid(DAY), o.branch.clone())).or_default();
            add_occurrence(lines, provider, &repo, &o);
        }
        let rows: Vec<_> = cells
            .iter()
            .flat_map(|((day, branch), lines)| lines.iter().map(move |(key, sums)| (*day, branch, key, sums)))
            .collect();
        insert(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rebuilds the roll-up when occurrences are stored and it holds no
    /// row (a database migrated to it, or copied); answers whether it did.
    pub(in crate::store) async fn rebuild_days_if_missing(&self) -> Result<bool, StoreError> {
        let any =
            |table: &str| format!("SELECT COUNT(*) AS n FROM (SELECT 1 AS x FROM {table} LIMIT 1) AS t");
        let count = |sql: String| async move {
            let n: i64 = sqlx::query(AssertSqlSafe(sql)).fetch_one(&self.write).await?.try_get("n")?;
            Ok::<_, StoreError>(n)
        };
        if count(any("flaky_occurrences")).await? == 0 || count(any("flaky_days")).await? > 0 {
            return Ok(false);
        }
        self.rebuild_days().await?;
        Ok(true)
    }
}

impl Store {
    /// Retention of the roll-up after the occurrences seen before `cutoff`
    /// are deleted: the days before the cutoff's go, and the cells of the
    /// cutoff's own day are recomputed from the occurrences left.
    pub(in crate::store) async fn trim_flaky_days(&self, cutoff: i64) -> Result<(), StoreError> {
        let day = cutoff.div_euclid(DAY);
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM flaky_days WHERE day < $1").bind(day).execute(&mut *tx).await?;
        if cutoff.rem_euclid(DAY) != 0 {
            let rows = sqlx::query(
                "SELECT DISTINCT provider_id, repo, workflow, branch, branch_null FROM flaky_days WHERE day = $1",
            )
            .bind(day)
            .fetch_all(&mut *tx)
            .await?;
            let mut cells = BTreeSet::new();
            for row in rows {
                let branch: String = row.try_get("branch")?;
                cells.insert(Cell {
                    day,
                    provider_id: row.try_get("provider_id")?,
                    repo: row.try_get("repo")?,
                    workflow: row.try_get("workflow")?,
                    branch: (row.try_get::<i64, _>("branch_null")? == 0).then_some(branch),
                });
            }
            recompute(&mut tx, self.backend, &cells).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
