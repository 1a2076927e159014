//! What a failure alert says about a build's tests, read on the ingest
//! transaction's connection (the alert rules run inside it): the names of
//! its failed and errored tests, a few, and how many there are.

use sqlx::{AnyConnection, Row};

use crate::store::StoreError;

/// Up to `limit` failed or errored tests of build `build_id` (each test
/// once, whatever the jobs and files: `classname.name`, or `name` without a
/// class; ordered by class then name), and the number of such tests.
///
/// Errors: SQL failures.
pub async fn failed_test_names(
    conn: &mut AnyConnection,
    build_id: i64,
    limit: i64,
) -> Result<(Vec<String>, i64), StoreError> {
    let rows = sqlx::query(
        "SELECT c.classname, c.name FROM test_uploads u \
         JOIN test_executions e ON e.upload_id = u.id AND e.outcome IN (1, 2) \
         JOIN test_cases c ON c.id = e.test_id WHERE u.build_id = $1 \
         GROUP BY c.id, c.classname, c.name ORDER BY COALESCE(c.classname, ''), c.name, c.id LIMIT $2",
    )
    .bind(build_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let names = rows
        .iter()
        .map(|row| {
            let classname: Option<String> = row.try_get("classname")?;
            let name: String = row.try_get("name")?;
            Ok(match classname.filter(|c| !c.is_empty()) {
                Some(classname) => format!("{classname}.{name}"),
                None => name,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let total: i64 = sqlx::query(
        "SELECT COUNT(DISTINCT e.test_id) AS n FROM test_uploads u \
         JOIN test_executions e ON e.upload_id = u.id AND e.outcome IN (1, 2) WHERE u.build_id = $1",
    )
    .bind(build_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    Ok((names, total))
}
