//! Keeping the per-test roll-ups in step with each stored report file,
//! inside the upload's transaction (so a failed upload leaves neither
//! executions nor roll-ups behind):
//!
//! - `test_daily`: per test, UTC day of the upload and job name, the
//!   counts, time and durations that `/api/insights/tests` lists (added to
//!   the day's row);
//! - `test_flips`: per test, the attempt pairs (attempt *n* failed, *n + 1*
//!   passed) and commits on which it both failed and passed, per failing and
//!   passing job, with the latest upload day of each side. After a file is
//!   stored, the pairs its tests take part in are recomputed from the
//!   executions of the attempt before, its own attempt and the attempt
//!   after, and of every attempt on its commit; re-adding a pair only moves
//!   its days forward, so the recomputation is idempotent.
//!
//! A commit pair is found when the later of its two uploads arrives after
//! its run's commit is known (a report uploaded before any delivery of its
//! run names no commit yet).

use std::collections::BTreeMap;

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::TestExecution;
use crate::store::StoreError;

/// One test's additions to its day's row.
#[derive(Debug, Default)]
struct DayRow {
    executions: i64,
    failures: i64,
    skipped: i64,
    timed: i64,
    total_ms: i64,
    rerun_passes: i64,
    durations: String,
}

/// Rows per upsert (10 binds each).
const CHUNK: usize = 500;

/// Adds one stored file's executions (with their test ids) to the day
/// rows of `day` and `job_name`.
pub(super) async fn add_to_days(
    conn: &mut AnyConnection,
    day: i64,
    job_name: &str,
    executions: &[(&TestExecution, i64)],
) -> Result<(), StoreError> {
    let mut rows: BTreeMap<i64, DayRow> = BTreeMap::new();
    for (execution, test_id) in executions {
        let row = rows.entry(*test_id).or_default();
        let code = execution.outcome.code();
        if code == 3 {
            row.skipped += 1;
        } else {
            row.executions += 1;
        }
        if execution.outcome.is_failure() {
            row.failures += 1;
        }
        if code == 0 && execution.reruns > 0 {
            row.rerun_passes += 1;
        }
        if let Some(ms) = execution.duration_ms {
            row.timed += 1;
            row.total_ms += ms;
            if !row.durations.is_empty() {
                row.durations.push(',');
            }
            row.durations.push_str(&ms.to_string());
        }
    }
    let rows: Vec<(i64, DayRow)> = rows.into_iter().collect();
    for chunk in rows.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO test_daily (day, test_id, job_name, executions, failures, skipped, timed, total_ms, \
             rerun_passes, durations) VALUES ",
        );
        for n in 0..chunk.len() {
            if n > 0 {
                sql.push_str(", ");
            }
            let b = n * 10;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10
            ));
        }
        sql.push_str(
            " ON CONFLICT (day, test_id, job_name) DO UPDATE SET \
             executions = test_daily.executions + excluded.executions, \
             failures = test_daily.failures + excluded.failures, \
             skipped = test_daily.skipped + excluded.skipped, \
             timed = test_daily.timed + excluded.timed, \
             total_ms = test_daily.total_ms + excluded.total_ms, \
             rerun_passes = test_daily.rerun_passes + excluded.rerun_passes, \
             durations = CASE WHEN excluded.durations = '' THEN test_daily.durations \
             WHEN test_daily.durations = '' THEN excluded.durations \
             ELSE test_daily.durations || ',' || excluded.durations END",
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (test_id, row) in chunk {
            query = query
                .bind(day)
                .bind(*test_id)
                .bind(job_name)
                .bind(row.executions)
                .bind(row.failures)
                .bind(row.skipped)
                .bind(row.timed)
                .bind(row.total_ms)
                .bind(row.rerun_passes)
                .bind(row.durations.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The pairs of failing and passing executions of the tests of upload `$1`
/// whose failing side is in the builds `{FAIL}` and passing side in the
/// builds `{PASS}`, recorded as kind `$2` and key `$3`.
const PAIRS: &str = "INSERT INTO test_flips (test_id, kind, flip_key, fail_job, pass_job, fail_day, pass_day) \
     SELECT f.test_id, $2, $3, fu.job_name, pu.job_name, MAX(fu.received_at / 86400), MAX(pu.received_at / 86400) \
     FROM test_uploads fu JOIN test_executions f ON f.upload_id = fu.id AND f.outcome IN (1, 2) \
     JOIN test_uploads pu ON pu.build_id {PASS} \
     JOIN test_executions p ON p.upload_id = pu.id AND p.test_id = f.test_id AND p.outcome = 0 \
     WHERE fu.build_id {FAIL} AND f.test_id IN (SELECT test_id FROM test_executions WHERE upload_id = $1) \
     GROUP BY f.test_id, fu.job_name, pu.job_name \
     ON CONFLICT (test_id, kind, flip_key, fail_job, pass_job) DO UPDATE SET \
     fail_day = CASE WHEN excluded.fail_day > test_flips.fail_day THEN excluded.fail_day ELSE test_flips.fail_day END, \
     pass_day = CASE WHEN excluded.pass_day > test_flips.pass_day THEN excluded.pass_day ELSE test_flips.pass_day END";

/// Attempt pairs (kind 1) and commit pairs (kind 2) the tests of the
/// stored upload `upload_id` of `build_id` take part in.
pub(super) async fn record_flips(
    conn: &mut AnyConnection,
    upload_id: i64,
    build_id: i64,
) -> Result<(), StoreError> {
    let build = sqlx::query(
        "SELECT provider_id, repo, external_id, run_attempt, commit_sha FROM builds WHERE id = $1",
    )
    .bind(build_id)
    .fetch_one(&mut *conn)
    .await?;
    let attempt: i64 = build.try_get("run_attempt")?;
    let repo: String = build.try_get("repo")?;
    let provider_id: i64 = build.try_get("provider_id")?;
    let external_id: String = build.try_get("external_id")?;
    let sibling = |offset: i64| {
        sqlx::query(
            "SELECT id FROM builds WHERE provider_id = $1 AND repo = $2 AND external_id = $3 AND run_attempt = $4",
        )
        .bind(provider_id)
        .bind(repo.clone())
        .bind(external_id.clone())
        .bind(attempt + offset)
    };
    let before = sibling(-1).fetch_optional(&mut *conn).await?;
    let after = sibling(1).fetch_optional(&mut *conn).await?;
    let one = |sql: &str| sql.replace("{FAIL}", "= $4").replace("{PASS}", "= $5");
    let attempt_pairs = one(PAIRS);
    if let Some(before) = before {
        let before: i64 = before.try_get("id")?;
        attempt_pair(conn, &attempt_pairs, upload_id, before, build_id).await?;
    }
    if let Some(after) = after {
        attempt_pair(conn, &attempt_pairs, upload_id, build_id, after.try_get("id")?).await?;
    }
    let commit: Option<String> = build.try_get("commit_sha")?;
    if let Some(commit) = commit {
        let on_commit = "IN (SELECT id FROM builds WHERE repo = $4 AND commit_sha = $3)";
        let sql = PAIRS.replace("{FAIL}", on_commit).replace("{PASS}", on_commit);
        sqlx::query(AssertSqlSafe(sql))
            .bind(upload_id)
            .bind(2_i64)
            .bind(commit)
            .bind(repo)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn attempt_pair(
    conn: &mut AnyConnection,
    sql: &str,
    upload_id: i64,
    failing: i64,
    passing: i64,
) -> Result<(), StoreError> {
    sqlx::query(AssertSqlSafe(sql.to_owned()))
        .bind(upload_id)
        .bind(1_i64)
        .bind(failing.to_string())
        .bind(failing)
        .bind(passing)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
