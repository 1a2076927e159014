//! Runner figures benchmark (a bench binary, not a timed test).
//!
//!     cargo bench --bench runners
//!
//! Seeds `BENCH_RUN_ATTEMPTS` (default 10 000) completed run attempts with
//! 10 jobs each over the last 30 days (five runner label sets, hosted and
//! self-hosted; one job in 500 still queued), in bulk SQL (one recursive
//! `INSERT … SELECT`, the same on SQLite and PostgreSQL), then prints
//! p50/p99 of `BENCH_REQUESTS` (default 100) sequential requests to
//! `/api/insights/runners` and `/api/insights/minutes` for 7- and 30-day
//! windows, and of a `/metrics` scrape (which samples the runner gauges).
//! `BENCH_DATABASE_URL` picks the database (default: a temp SQLite file;
//! PostgreSQL: an empty database). The seed bypasses the write path, so
//! the roll-ups are then folded once (as the `rollups` job does every
//! minute; its time is printed) before the requests: the figures read the
//! runner roll-ups for every folded day (today too, once its jobs'
//! timestamps are past: the seed's run up to 22 minutes ahead) and, of
//! today and yesterday, every folded hour whose jobs' timestamps are past,
//! and scan the rest. README *Runners benchmark* has the figures.

use std::time::Instant;

use chrono::Utc;
use sqlx::Connection;

#[path = "common/http.rs"]
#[allow(dead_code, reason = "this bench starts its server itself, to fold the roll-ups")]
mod http;
use cicd_dashboard::config::ServeSettings;
use cicd_dashboard::startup::Application;
use http::{env_number, latency};

/// Attempts `0..n`, started over the last 30 days, and their 10 jobs each.
const SEED_BUILDS: &str = "INSERT INTO builds (provider_id, repo, external_id, run_attempt, workflow, \
     workflow_id, run_number, event, branch, commit_sha, triggered_by, url, provider_status, conclusion, \
     status, created_at, started_at, updated_at, finished_at, first_job_started_at, duration_seconds, \
     sort_at, changed_at) \
     WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < $2 - 1) \
     SELECT 1, 'seed-org/repo-' || (i % 50), CAST(2000000000 + i AS TEXT), 1, 'workflow-' || (i % 5), \
     i % 5, i, 'push', 'main', 'sha', 'octocat', 'https://github.com/seed-org/repo/actions/runs/' || i, \
     'completed', 'success', 'success', t, t, t + 900, t + 900, t + 30, 900, t, $1 \
     FROM (SELECT i, $1 - ((i * 7919) % (30 * 86400)) AS t FROM s) AS x";

const SEED_JOBS: &str = "INSERT INTO jobs (build_id, provider_id, external_id, name, workflow, branch, \
     commit_sha, provider_status, conclusion, status, runner_name, runner_group, labels, url, created_at, \
     started_at, completed_at, changed_at) \
     WITH ks(k) AS (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) \
     SELECT b.id, 1, CAST(b.id * 10 + k AS TEXT), 'job-' || k, b.workflow, 'main', 'sha', \
     CASE WHEN (b.id * 10 + k) % 500 = 0 THEN 'queued' ELSE 'completed' END, \
     CASE WHEN (b.id * 10 + k) % 500 = 0 THEN NULL ELSE 'success' END, \
     CASE WHEN (b.id * 10 + k) % 500 = 0 THEN 'queued' ELSE 'success' END, 'runner', \
     CASE WHEN (b.id + k) % 5 >= 3 THEN 'farm' ELSE 'GitHub Actions' END, \
     CASE (b.id + k) % 5 WHEN 0 THEN '[\"ubuntu-latest\"]' WHEN 1 THEN '[\"windows-latest\"]' \
       WHEN 2 THEN '[\"macos-14\"]' WHEN 3 THEN '[\"self-hosted\",\"linux\"]' ELSE '[\"self-hosted\",\"gpu\"]' END, \
     'https://github.com/seed-org/repo/actions/runs/1/job/' || k, b.sort_at + k * 10, \
     b.sort_at + k * 10 + ((b.id * 7 + k * 13) % 300), \
     b.sort_at + k * 10 + ((b.id * 7 + k * 13) % 300) + 60 + ((b.id + k) % 600), $1 \
     FROM builds b CROSS JOIN ks";

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let attempts = env_number("BENCH_RUN_ATTEMPTS", 10_000);
    let requests = env_number("BENCH_REQUESTS", 100);
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let mut settings = ServeSettings::new("127.0.0.1:0".parse().expect("addr"), &database_url);
    settings.api_rate_limit = 0;
    settings.no_worker = true;
    let app = Application::build(&settings).await.expect("server starts");
    let base = format!("http://{}", app.local_addr());
    let store = app.store().clone();
    tokio::spawn(app.run_until(std::future::pending()));

    let start = Instant::now();
    let mut conn = sqlx::AnyConnection::connect(&database_url).await.expect("connect");
    let now = Utc::now().timestamp();
    for sql in [SEED_BUILDS, SEED_JOBS] {
        sqlx::query(sql).bind(now).bind(attempts as i64).execute(&mut conn).await.expect("seed");
    }
    let analyze = if database_url.starts_with("postgres") { "VACUUM ANALYZE jobs" } else { "ANALYZE" };
    sqlx::query(analyze).execute(&mut conn).await.expect("analyze");
    println!(
        "database: {}; seeded {attempts} run attempts, {} jobs over 30 days in {:.1} s",
        if database_url.starts_with("sqlite") { "SQLite (temp file)" } else { "PostgreSQL" },
        attempts * 10,
        start.elapsed().as_secs_f64()
    );
    let folding = Instant::now();
    // Through the end of the seed, not its start: a seed longer than the
    // roll-ups' freshness (15 minutes; 10 M jobs on a busy machine) would
    // leave them stale, and every request would scan.
    let through = Utc::now().timestamp() + 1;
    let days = store.metrics().fold_rollups(through).await.expect("fold roll-ups");
    println!("rollups: folded {days} days in {:.1} s", folding.elapsed().as_secs_f64());
    let client = reqwest::Client::new();
    for path in [
        "/api/insights/runners?window_days=7",
        "/api/insights/runners?window_days=30",
        "/api/insights/minutes?window_days=7&group_by=label",
        "/api/insights/minutes?window_days=30&group_by=job",
        "/metrics",
    ] {
        let (p50, p99) = latency(&client, &format!("{base}{path}"), 5, requests).await;
        println!(
            "{path:<52} p50 {:>8.2} ms   p99 {:>8.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
}
