//! Failure insights benchmark (a bench binary, not a timed test).
//!
//!     cargo bench --bench failures
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench BENCH_RUN_ATTEMPTS=1000000 cargo bench --bench failures
//!
//! Seeds `BENCH_RUN_ATTEMPTS` (default 100 000) run attempts over the last
//! 30 days with one job each, one in ten failed; each failed job gets a
//! recorded reason with one of 500 failure signatures (skewed: low ids far
//! more often; one in five infrastructure), 50 repositories, 20 branches,
//! all in bulk SQL (the same on SQLite and PostgreSQL). Then prints p50/p99
//! of `BENCH_REQUESTS` (default 100) sequential requests to
//! `/api/insights/failures` for 7 and 30 days (all, one class, one
//! repository) and to the top signature's detail. `BENCH_DATABASE_URL`
//! picks the database (default: a temp SQLite file; PostgreSQL: an empty
//! database, or with `BENCH_REUSE=1` one a previous run filled, which is
//! then not seeded again). The failure roll-up is rebuilt after the bulk
//! fill (the rows bypass the write path).

use std::time::Instant;

use chrono::Utc;
use cicd_dashboard::store::Store;
use sqlx::Connection;

#[path = "common/http.rs"]
mod http;
#[path = "common/reuse.rs"]
mod reuse;
use http::{env_number, latency, start_server};

const SEED_BUILDS: &str = "INSERT INTO builds (provider_id, repo, external_id, run_attempt, workflow, \
     workflow_id, run_number, event, branch, commit_sha, triggered_by, url, provider_status, conclusion, \
     status, created_at, started_at, updated_at, finished_at, first_job_started_at, duration_seconds, \
     sort_at, changed_at) \
     WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < $2 - 1) \
     SELECT 1, 'seed-org/repo-' || (i % 50), CAST(3000000000 + i AS TEXT), 1, 'workflow-' || (i % 5), \
     i % 5, i, 'push', 'branch-' || (i % 20), 'sha-' || i, 'octocat', 'https://github.com/seed-org/repo/actions/runs/' || i, \
     'completed', CASE WHEN i % 10 = 0 THEN 'failure' ELSE 'success' END, \
     CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'success' END, t, t, t + 900, t + 900, t + 30, 900, t, $1 \
     FROM (SELECT i, $1 - ((i * 7919) % (30 * 86400)) AS t FROM s) AS x";

/// The job keys the write path creates for the seeded jobs (name `job-N`,
/// no matrix values), before the jobs that name them.
const SEED_KEYS: &str = "INSERT INTO job_keys (provider_id, repo, workflow, name) \
     SELECT DISTINCT 1, repo, workflow, 'job-' || (id % 8) FROM builds";

/// One job per attempt, keyed (`key_id`, `matrix`) as the write path keys it.
const SEED_JOBS: &str = "INSERT INTO jobs (build_id, provider_id, external_id, name, workflow, branch, \
     commit_sha, provider_status, conclusion, status, runner_name, labels, created_at, started_at, \
     completed_at, changed_at, key_id, matrix) \
     SELECT b.id, 1, CAST(b.id AS TEXT), 'job-' || (b.id % 8), b.workflow, b.branch, b.commit_sha, 'completed', \
     b.conclusion, b.status, 'runner', '[]', b.sort_at, b.sort_at + 30, b.sort_at + 600, $1, k.id, NULL \
     FROM builds b JOIN job_keys k ON k.provider_id = 1 AND k.repo = b.repo AND k.workflow = b.workflow \
     AND k.name = 'job-' || (b.id % 8)";

const SEED_SIGNATURES: &str = "INSERT INTO failure_signatures (fingerprint, text, first_seen) \
     WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < 499) \
     SELECT CAST(1000000000000000 + i AS TEXT), 'error: seeded failure <n> kind ' || i, $1 - 40 * 86400 FROM s";

const SEED_FAILURES: &str = "INSERT INTO job_failures (job_id, build_id, provider_id, repo, workflow, branch, \
     job_name, failed_at, failed_step, failed_step_number, source, error_lines, signature_id, class, \
     class_reason, fetched, recorded_at) \
     SELECT j.id, j.build_id, 1, b.repo, b.workflow, b.branch, j.name, j.completed_at, 'Run tests', 3, \
     'annotation', '[\"error: seeded failure\"]', x.sig, \
     CASE WHEN x.sig % 5 = 0 THEN 'infrastructure' ELSE 'code' END, \
     CASE WHEN x.sig % 5 = 0 THEN 'network' ELSE NULL END, 1, $1 \
     FROM jobs j JOIN builds b ON b.id = j.build_id \
     JOIN (SELECT id, 1 + ((id * 7919) % 500) * ((id * 31) % 500) / 500 AS sig FROM jobs) AS x ON x.id = j.id \
     WHERE j.status = 'failed'";

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
        for sql in [SEED_JOBS, SEED_SIGNATURES, SEED_FAILURES] {
            sqlx::query(sql).bind(now).execute(&mut conn).await.expect("seed");
        }
    }
    // The rows were written around the write path: the failure roll-up is
    // rebuilt from them (as after `db copy`).
    let store = Store::connect(&database_url, &Default::default()).await.expect("store");
    store.failures().rebuild_days().await.expect("roll-up");
    let postgres = database_url.starts_with("postgres");
    for sql in if postgres {
        ["VACUUM ANALYZE job_failures", "VACUUM ANALYZE failure_signatures", "VACUUM ANALYZE failure_days"]
    } else {
        ["ANALYZE", "ANALYZE", "ANALYZE"]
    } {
        sqlx::query(sql).execute(&mut conn).await.expect("analyze");
    }
    println!(
        "database: {}; {} {} run attempts, {} failed jobs with reasons over 30 days, roll-up rebuilt, in {:.1} s",
        if postgres { "PostgreSQL" } else { "SQLite (temp file)" },
        if reuse { "reused" } else { "seeded" },
        if reuse { stored as usize } else { attempts },
        if reuse { stored as usize } else { attempts } / 10,
        start.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::new();
    let top: serde_json::Value = client
        .get(format!("{base}/api/insights/failures?window_days=30"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let fingerprint = top["signatures"][0]["fingerprint"].as_str().expect("a signature").to_owned();
    for path in [
        "/api/insights/failures?window_days=7".to_owned(),
        "/api/insights/failures?window_days=30".to_owned(),
        "/api/insights/failures?window_days=30&class=infrastructure".to_owned(),
        "/api/insights/failures?window_days=30&repo=seed-org/repo-7".to_owned(),
        format!("/api/insights/failures/{fingerprint}?window_days=30"),
    ] {
        let (p50, p99) = latency(&client, &format!("{base}{path}"), 5, requests).await;
        println!(
            "{path:<60} p50 {:>8.2} ms   p99 {:>8.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
}
