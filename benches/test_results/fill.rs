//! `BENCH_FILL=sql`: stored executions added by SQL instead of uploads,
//! so a bench reaches tens of millions of executions in minutes. Each
//! added upload repeats the first upload's tests (the whole dictionary)
//! on the first upload's run attempt, received on one of the last 14 UTC
//! days, with the same outcome and duration pattern as the generated
//! report; its roll-up rows are added as the upload path adds them
//! (counts summed, durations appended), and its day's version raised
//! (`test_day_versions`) as an upload's transaction raises it.

use sqlx::AnyPool;

const DAY: i64 = 86_400;

/// Adds upload number `n` (its digest and its day come from `n`).
pub async fn add_upload(pool: &AnyPool, postgres: bool, n: i64, now: i64) {
    let build_id: i64 = sqlx::query_scalar("SELECT MIN(build_id) FROM test_uploads")
        .fetch_one(pool)
        .await
        .expect("the first upload's build");
    let received_at = now - (n % 14) * DAY;
    let upload_id: i64 = sqlx::query_scalar(
        "INSERT INTO test_uploads (build_id, job_name, file_digest, file_name, cases, received_at) \
         VALUES ($1, 'test', $2, 'bench.xml', (SELECT COUNT(*) FROM test_cases), $3) RETURNING id",
    )
    .bind(build_id)
    .bind(format!("bench-fill-{n}"))
    .bind(received_at)
    .fetch_one(pool)
    .await
    .expect("upload row");
    sqlx::query(
        "INSERT INTO test_executions (upload_id, test_id, outcome, duration_ms, reruns) \
         SELECT $1, id, CASE WHEN (id + $2) % 50 = 0 THEN 1 ELSE 0 END, (id * 7 + $2 * 13) % 2000, 0 \
         FROM test_cases",
    )
    .bind(upload_id)
    .bind(n)
    .execute(pool)
    .await
    .expect("executions");
    let list = if postgres {
        "STRING_AGG(CAST(duration_ms AS TEXT), ',')"
    } else {
        "GROUP_CONCAT(duration_ms, ',')"
    };
    let sql = format!(
        "INSERT INTO test_daily (day, test_id, job_name, executions, failures, skipped, timed, total_ms, \
         rerun_passes, durations) \
         SELECT $2, test_id, 'test', SUM(CASE WHEN outcome <> 3 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN outcome IN (1, 2) THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = 3 THEN 1 ELSE 0 END), \
         COUNT(duration_ms), COALESCE(SUM(duration_ms), 0), 0, COALESCE({list}, '') \
         FROM test_executions WHERE upload_id = $1 GROUP BY test_id \
         ON CONFLICT (day, test_id, job_name) DO UPDATE SET \
         executions = test_daily.executions + excluded.executions, \
         failures = test_daily.failures + excluded.failures, skipped = test_daily.skipped + excluded.skipped, \
         timed = test_daily.timed + excluded.timed, total_ms = test_daily.total_ms + excluded.total_ms, \
         durations = CASE WHEN test_daily.durations = '' THEN excluded.durations \
         ELSE test_daily.durations || ',' || excluded.durations END"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(upload_id)
        .bind(received_at.div_euclid(DAY))
        .execute(pool)
        .await
        .expect("roll-up rows");
    sqlx::query(
        "INSERT INTO test_day_versions (repo, day, version) \
         SELECT repo, $2, 1 FROM builds WHERE id = $1 \
         ON CONFLICT (repo, day) DO UPDATE SET version = test_day_versions.version + 1",
    )
    .bind(build_id)
    .bind(received_at.div_euclid(DAY))
    .execute(pool)
    .await
    .expect("day version");
}
