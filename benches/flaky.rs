//! Flaky insights benchmark (a bench binary, not a timed test).
//!
//!     cargo bench --bench flaky
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench BENCH_RUN_ATTEMPTS=1000000 cargo bench --bench flaky
//!
//! Seeds `BENCH_RUN_ATTEMPTS` (default 100 000) completed run attempts
//! over the last 90 days (50 repositories × 5 workflows, one in 20
//! failed), 2 500 job keys, and — as the write path would have kept them
//! — three flaky occurrences (passed on retry, flaky job, same commit) for
//! one attempt in 33, in bulk SQL (the same on SQLite and PostgreSQL), and
//! their per-day roll-up rebuilt from them (on PostgreSQL the attempt
//! tally is then compacted, as autovacuum keeps it at ingest pace);
//! then prints p50/p99 of `BENCH_REQUESTS` (default 100) sequential
//! requests to `/api/insights/flaky` for 7- and 30-day windows, with and
//! without a repository filter. `BENCH_DATABASE_URL` picks the database
//! (default: a temp SQLite file; PostgreSQL: an empty database, or with
//! `BENCH_REUSE=1` one a previous run filled, which is then not seeded
//! again). The seeded attempts are one per run with a SHA of their own,
//! so the write path would find no occurrence in them besides the seeded
//! ones, and the server's start-up on a reused database has nothing to
//! backfill.

use std::time::Instant;

use chrono::Utc;
use cicd_dashboard::store::Store;
use sqlx::{Connection, Row};

#[path = "common/http.rs"]
mod http;
#[path = "common/reuse.rs"]
mod reuse;
use http::{env_number, latency, start_server};

/// Attempts `0..n` (ids 1..=n in an empty database), started over 90 days.
const SEED_BUILDS: &str = "INSERT INTO builds (provider_id, repo, external_id, run_attempt, workflow, \
     workflow_id, run_number, event, branch, commit_sha, triggered_by, url, provider_status, conclusion, \
     status, created_at, started_at, updated_at, finished_at, first_job_started_at, duration_seconds, \
     sort_at, changed_at) \
     WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < $2 - 1) \
     SELECT 1, 'seed-org/repo-' || ((i + 1) % 50), CAST(3000000000 + i AS TEXT), 1, \
     'workflow-' || (((i + 1) / 50) % 5), 1, i, 'push', 'main', 'sha-' || i, 'octocat', \
     'https://github.com/seed-org/repo/actions/runs/' || i, 'completed', \
     CASE WHEN i % 20 = 0 THEN 'failure' ELSE 'success' END, \
     CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'success' END, t, t, t + 900, t + 900, t + 30, 900, t, $1 \
     FROM (SELECT i, $1 - ((i * 7919) % (90 * 86400)) AS t FROM s) AS x";

/// Job keys: (repository r, workflow w, job k) has id (r·5 + w)·10 + k + 1.
const SEED_KEYS: &str = "INSERT INTO job_keys (id, provider_id, repo, workflow, name) \
     WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < 2499) \
     SELECT i + 1, 1, 'seed-org/repo-' || (i / 50), 'workflow-' || ((i / 10) % 5), 'job-' || (i % 10) FROM s";

const SEED_FLAKY: &str = "INSERT INTO flaky_occurrences (kind, provider_id, repo, workflow, run_id, \
     commit_sha, branch, key_id, job_name, build_id, failed_build_id, job_id, failed_job_id, failures, \
     wasted_seconds, seen_at) \
     SELECT k.kind, 1, b.repo, b.workflow, CASE WHEN k.kind = 'commit' THEN '' ELSE b.external_id END, \
     b.commit_sha, 'main', CASE WHEN k.kind = 'job' THEN ((b.id % 50) * 5 + (b.id / 50) % 5) * 10 + b.id % 10 + 1 END, \
     CASE WHEN k.kind = 'job' THEN 'job-' || (b.id % 10) END, b.id, b.id, NULL, NULL, 1, 300 + b.id % 600, \
     b.sort_at + 1200 \
     FROM builds b CROSS JOIN (SELECT 'retry' AS kind UNION ALL SELECT 'job' UNION ALL SELECT 'commit') AS k \
     WHERE b.id % 33 = 0";

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let attempts = env_number("BENCH_RUN_ATTEMPTS", 100_000);
    let requests = env_number("BENCH_REQUESTS", 100);
    let dir = tempfile::tempdir().expect("tempdir");
    let (database_url, base) = start_server(dir.path()).await;

    let start = Instant::now();
    let mut conn = sqlx::AnyConnection::connect(&database_url).await.expect("connect");
    let now = Utc::now().timestamp();
    let reused = reuse::reuse_seeded(&mut conn).await;
    let (reuse, stored) = (reused.is_some(), reused.unwrap_or(0));
    if !reuse {
        sqlx::query(SEED_BUILDS)
            .bind(now)
            .bind(attempts as i64)
            .execute(&mut conn)
            .await
            .expect("seed builds");
        sqlx::query(SEED_KEYS).execute(&mut conn).await.expect("seed keys");
        sqlx::query(SEED_FLAKY).execute(&mut conn).await.expect("seed flaky");
        // The occurrences were written around the write path: their
        // roll-up is rebuilt from them (as after `db copy`).
        let store = Store::connect(&database_url, &Default::default()).await.expect("store");
        store.flaky().rebuild_days().await.expect("roll-up");
        let analyze = if database_url.starts_with("postgres") { "VACUUM ANALYZE" } else { "ANALYZE" };
        sqlx::query(analyze).execute(&mut conn).await.expect("analyze");
        if database_url.starts_with("postgres") {
            // One statement's million attempts updated each tally row
            // thousands of times; the dead versions fill ~100 MB a read
            // then scans. At ingest pace autovacuum keeps it compact.
            sqlx::query("VACUUM FULL ANALYZE flaky_attempt_days").execute(&mut conn).await.expect("compact");
        }
    }
    let flaky: i64 = sqlx::query("SELECT COUNT(*) AS n FROM flaky_occurrences")
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .try_get("n")
        .expect("n");
    println!(
        "database: {}; {} {} run attempts over 90 days and {flaky} flaky occurrences in {:.1} s",
        if database_url.starts_with("sqlite") { "SQLite (temp file)" } else { "PostgreSQL" },
        if reuse { "reused" } else { "seeded" },
        if reuse { stored as usize } else { attempts },
        start.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::new();
    for path in [
        "/api/insights/flaky?window_days=7",
        "/api/insights/flaky?window_days=30",
        "/api/insights/flaky?window_days=7&repo=seed-org/repo-7",
        "/api/insights/flaky?window_days=30&repo=seed-org/repo-7",
    ] {
        let (p50, p99) = latency(&client, &format!("{base}{path}"), 5, requests).await;
        println!(
            "{path:<56} p50 {:>8.2} ms   p99 {:>8.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
}
