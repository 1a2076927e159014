//! Statements of the job reads (`super::read`, `super::list`,
//! `super::fold`, …): values bound by position, `IN` lists and span
//! conditions built with their binds, and running a statement whole
//! ([`fetch`]) or row by row ([`for_each_row`]). Owns no table and no
//! figure.

use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::store::StoreError;

/// A value bound to a statement of the job reads.
#[derive(Debug, Clone)]
pub(super) enum Bind {
    Int(i64),
    Text(String),
}

fn bound(sql: String, binds: &[Bind]) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for bind in binds {
        query = match bind {
            Bind::Int(n) => query.bind(*n),
            Bind::Text(t) => query.bind(t.clone()),
        };
    }
    query
}

/// Runs `sql` and answers all its rows (for answers of bounded size).
pub(super) async fn fetch(
    conn: &mut AnyConnection,
    sql: String,
    binds: &[Bind],
) -> Result<Vec<AnyRow>, StoreError> {
    Ok(bound(sql, binds).fetch_all(&mut *conn).await?)
}

/// Runs `sql` and hands `each` every row as it arrives, so a scan never
/// holds its whole answer (a day's steps at 10 M jobs are about 330 000 rows).
pub(super) async fn for_each_row(
    conn: &mut AnyConnection,
    sql: String,
    binds: &[Bind],
    mut each: impl FnMut(&AnyRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut rows = bound(sql, binds).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        each(&row)?;
    }
    Ok(())
}

/// `(column >= $n AND column < $n+1) OR …`, pushing the bounds.
pub(super) fn spans_sql(column: &str, spans: &[(i64, i64)], binds: &mut Vec<Bind>) -> String {
    let clauses: Vec<String> = spans
        .iter()
        .map(|&(a, b)| {
            binds.push(Bind::Int(a));
            binds.push(Bind::Int(b));
            format!("({column} >= ${} AND {column} < ${})", binds.len() - 1, binds.len())
        })
        .collect();
    format!("({})", clauses.join(" OR "))
}

/// `column IN ($n, …)` for `ids`, pushing them.
pub(super) fn ids_sql(column: &str, ids: &[i64], binds: &mut Vec<Bind>) -> String {
    let list: Vec<String> = ids
        .iter()
        .map(|&id| {
            binds.push(Bind::Int(id));
            format!("${}", binds.len())
        })
        .collect();
    format!("{column} IN ({})", list.join(", "))
}

/// Run (or key) ids per statement of a read by id.
pub(super) const IDS_PER_STATEMENT: usize = 500;
