//! `db copy`: moves an installation from one database to another (SQLite →
//! PostgreSQL in practice) keeping every table, row id and raw delivery.
//!
//! The target's schema is created by its own migrations; rows are copied in
//! id order, in batches, with `ON CONFLICT (id) DO UPDATE`, so a re-run
//! converges to the source instead of failing or duplicating. PostgreSQL
//! sequences are moved past the copied ids afterwards. Run it with the
//! source's server stopped, so nothing changes underneath the copy.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Store, StoreError};

mod tables;

use tables::Kind::{Blob, Int, Text};
use tables::{TABLES, Table};

/// Rows per batch (well under both databases' bind-parameter limits).
const BATCH: usize = 500;

/// How far one table got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopied {
    pub table: &'static str,
    /// Rows in the source.
    pub rows: i64,
    /// Rows written to the target (new or refreshed).
    pub written: i64,
    /// Rows the target refused (the rest were copied).
    pub refused: Vec<RowRefused>,
}

/// A row the target database refused, and why (its own error message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRefused {
    pub table: &'static str,
    pub id: i64,
    pub reason: String,
}

enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

fn read(row: &AnyRow, table: &Table) -> Result<Vec<Value>, sqlx::Error> {
    table
        .columns
        .iter()
        .map(|&(column, kind)| {
            Ok(match kind {
                Int => Value::Int(row.try_get(column)?),
                Text => Value::Text(row.try_get(column)?),
                Blob => Value::Blob(row.try_get(column)?),
            })
        })
        .collect()
}

fn insert_sql(table: &Table, rows: usize) -> String {
    let names: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
    let width = names.len();
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let updates: Vec<String> = names.iter().skip(1).map(|n| format!("{n} = excluded.{n}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
        table.name,
        names.join(", "),
        tuples.join(", "),
        names[0],
        updates.join(", ")
    )
}

/// Writes `rows` of `table` to `to` in one statement; answers rows affected.
async fn insert(to: &Store, table: &Table, rows: &[Vec<Value>]) -> Result<i64, StoreError> {
    let mut insert = sqlx::query(AssertSqlSafe(insert_sql(table, rows.len())));
    for row in rows {
        for value in row {
            insert = match value {
                Value::Int(v) => insert.bind(*v),
                Value::Text(v) => insert.bind(v.as_deref()),
                Value::Blob(v) => insert.bind(v.as_deref()),
            };
        }
    }
    Ok(insert.execute(&to.write).await?.rows_affected() as i64)
}

/// Writes `rows` one at a time, handing each one the target refuses to
/// `refused`; answers rows affected. Errors only when the target is
/// unavailable.
async fn one_by_one(
    to: &Store,
    table: &Table,
    rows: &[Vec<Value>],
    refused: &mut impl FnMut(RowRefused),
) -> Result<i64, StoreError> {
    let mut written = 0;
    for row in rows {
        match insert(to, table, std::slice::from_ref(row)).await {
            Ok(done) => written += done,
            Err(err) if !err.is_unavailable() => {
                let id = match row.first() {
                    Some(Value::Int(Some(id))) => *id,
                    _ => 0,
                };
                let reason = match &err {
                    StoreError::Database(sqlx::Error::Database(db)) => db.message().to_owned(),
                    other => other.to_string(),
                };
                refused(RowRefused { table: table.name, id, reason });
            }
            Err(err) => return Err(err),
        }
    }
    Ok(written)
}

/// Copies every table of `from` into `to` (migrating `to` first), calling
/// `progress(table, done, total)` after each batch. A row the target
/// refuses (e.g. a text PostgreSQL cannot store or index, kept by SQLite
/// before the limits of `domain::limits`) is listed in its table's
/// `refused` and the copy goes on.
///
/// Errors: either database is unavailable or fails otherwise; what was
/// committed stays, and a re-run continues correctly.
pub async fn copy_database(
    from: &Store,
    to: &Store,
    mut progress: impl FnMut(&str, i64, i64),
) -> Result<Vec<TableCopied>, StoreError> {
    from.migrate().await?;
    to.migrate().await?;
    let mut report = Vec::new();
    for table in TABLES {
        let count_sql = format!("SELECT COUNT(*) AS n FROM {}", table.name);
        let rows: i64 = sqlx::query(AssertSqlSafe(count_sql)).fetch_one(&from.read).await?.try_get("n")?;
        let names: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
        let select = format!(
            "SELECT {} FROM {} WHERE {key} > $1 ORDER BY {key} LIMIT {BATCH}",
            names.join(", "),
            table.name,
            key = names[0] // each table's first column is its integer key
        );
        let mut last_id = i64::MIN;
        let mut written = 0;
        let mut refused = Vec::new();
        loop {
            let batch =
                sqlx::query(AssertSqlSafe(select.clone())).bind(last_id).fetch_all(&from.read).await?;
            if batch.is_empty() {
                break;
            }
            let values = batch.iter().map(|row| read(row, table)).collect::<Result<Vec<_>, _>>()?;
            last_id = batch.last().map(|row| row.try_get::<i64, _>(names[0])).transpose()?.unwrap_or(last_id);
            written += match insert(to, table, &values).await {
                Ok(done) => done,
                // The target refuses something in the batch (a text its
                // indexes or encoding cannot hold): row by row, reporting each
                // row it refuses, and on.
                Err(err) if !err.is_unavailable() => {
                    one_by_one(to, table, &values, &mut |skipped| {
                        tracing::warn!(table = skipped.table, id = skipped.id, reason = %skipped.reason, "row not copied");
                        refused.push(skipped);
                    })
                    .await?
                }
                Err(err) => return Err(err),
            };
            progress(table.name, written.min(rows), rows);
        }
        if to.backend == Backend::Postgres
            && !matches!(table.name, "providers" | "alert_config" | "test_failures")
            && names[0] == "id"
        {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), GREATEST((SELECT MAX(id) FROM {0}), 1))",
                table.name
            );
            sqlx::query(AssertSqlSafe(sql)).execute(&to.write).await?;
        }
        report.push(TableCopied { table: table.name, rows, written, refused: std::mem::take(&mut refused) });
    }
    // Attempts arrived with their old `changed_at`: roll-ups start over.
    to.metrics().reset_rollups().await?;
    to.test_results().rebuild_rollups().await?;
    to.failures().rebuild_days().await?;
    to.flaky().rebuild_days().await?;
    Ok(report)
}
