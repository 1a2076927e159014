//! Upgrading a big PostgreSQL database at start-up: the migrations and the
//! backfills after them (job keys, flaky occurrences, test roll-ups for
//! rows stored before those existed) run without the pool's
//! `statement_timeout`, which would cancel them (the server then does not
//! start). Here the timeout is 1 ms (the flag takes whole seconds; the
//! store's options take any duration), shorter than any of that work.

use sqlx::Connection;

use cicd_dashboard::store::{Store, StoreOptions};

fn one_millisecond() -> StoreOptions {
    StoreOptions { statement_timeout: Some(std::time::Duration::from_millis(1)), ..Default::default() }
}

/// On a new database (migration 0037 alone rewrites every job: minutes at
/// 10 M jobs, where the default 30 s cancelled it): every migration is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_without_the_statement_timeout() {
    let Some((name, url)) = crate::helpers::new_postgres_database("cicd_test_").await else { return };
    let store = Store::connect(&url, &one_millisecond()).await.expect("store");
    store.migrate().await.expect("migrate under a 1 ms statement timeout");
    store.close().await;
    let mut db = sqlx::PgConnection::connect(&url).await.expect("connect to the new database");
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut db)
        .await
        .expect("applied");
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/migrations/postgres"))
        .expect("migrations")
        .count();
    assert_eq!(applied, i64::try_from(files).expect("count"));
    db.close().await.expect("close");
    crate::helpers::drop_postgres_database(&name).await;
}

/// Rows stored as an older version stored them, each needing its backfill.
const OLD_ROWS: &[&str] = &[
    // 200 run attempts: 100 runs of 2 attempts (flaky candidates).
    "INSERT INTO builds (provider_id, repo, external_id, run_attempt, provider_status, status, sort_at, changed_at) \
     SELECT 1, 'octo/app', CAST(i / 2 AS TEXT), 1 + i % 2, 'completed', 'success', 1700000000 + i, 1700000000 \
     FROM generate_series(0, 199) AS i",
    "UPDATE flaky_backfill SET done = 0",
    // 2 000 jobs without job keys: 10 names, 3 matrix values each.
    "INSERT INTO jobs (build_id, provider_id, external_id, name, provider_status, status, changed_at) \
     SELECT (SELECT MIN(id) FROM builds) + i % 200, 1, CAST(i AS TEXT), \
     'job-' || (i % 10) || ' (ubuntu-latest, ' || (i % 3) || ')', 'completed', 'success', 1700000000 \
     FROM generate_series(0, 1999) AS i",
    "UPDATE jobs SET key_id = NULL, matrix = NULL",
    "DELETE FROM job_keys",
    // 200 test reports of 1 000 passing tests each, over 4 days, without roll-ups.
    "INSERT INTO test_cases (identity_key, repo, name, first_seen) \
     SELECT 'case-' || i, 'octo/app', 'test_' || i, 1700000000 FROM generate_series(0, 999) AS i",
    "INSERT INTO test_uploads (build_id, job_name, file_digest, cases, received_at) \
     SELECT (SELECT MIN(id) FROM builds), 'tests', 'digest-' || u, 1000, 1700006400 + (u % 4) * 86400 \
     FROM generate_series(0, 199) AS u",
    "INSERT INTO test_executions (upload_id, test_id, outcome, duration_ms, reruns) \
     SELECT u.id, c.id, 0, 5, 0 FROM test_uploads u CROSS JOIN test_cases c",
    "DELETE FROM test_daily",
    "DELETE FROM test_flips",
];

/// The backfills of a database upgraded from before job keys, flaky
/// occurrences and test roll-ups finish under the 1 ms timeout: the test
/// roll-up alone groups 200 000 executions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_backfills_run_without_the_statement_timeout() {
    let Some((name, url)) = crate::helpers::new_postgres_database("cicd_test_").await else { return };
    let store = Store::connect(&url, &StoreOptions::default()).await.expect("store");
    store.migrate().await.expect("migrate");
    store.close().await;
    let mut db = sqlx::PgConnection::connect(&url).await.expect("connect to the new database");
    for sql in OLD_ROWS {
        sqlx::query(*sql).execute(&mut db).await.expect(sql);
    }

    let store = Store::connect(&url, &one_millisecond()).await.expect("store");
    store.migrate().await.expect("backfill under a 1 ms statement timeout");
    store.close().await;

    let count = |sql: &'static str| {
        let url = url.clone();
        async move {
            let mut db = sqlx::PgConnection::connect(&url).await.expect("connect");
            sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut db).await.expect(sql)
        }
    };
    // By hand: every job keyed, under 10 keys (job-0 … job-9, matrix values removed).
    assert_eq!(count("SELECT COUNT(*) FROM jobs WHERE key_id IS NULL").await, 0);
    assert_eq!(count("SELECT COUNT(DISTINCT key_id) FROM jobs").await, 10);
    assert_eq!(count("SELECT COUNT(*) FROM job_keys").await, 10);
    assert_eq!(count("SELECT COUNT(*) FROM jobs WHERE matrix IS NULL").await, 0);
    // 4 days × 1 000 tests, 200 × 1 000 executions in all.
    assert_eq!(count("SELECT COUNT(*) FROM test_daily").await, 4000);
    assert_eq!(count("SELECT CAST(SUM(executions) AS BIGINT) FROM test_daily").await, 200_000);
    assert_eq!(count("SELECT CAST(done AS BIGINT) FROM flaky_backfill").await, 1);
    db.close().await.expect("close");
    crate::helpers::drop_postgres_database(&name).await;
}
