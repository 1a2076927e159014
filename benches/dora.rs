//! DORA figures benchmark (a bench binary, not a timed test).
//!
//!     cargo bench --bench dora
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/empty_db BENCH_DEPLOYMENTS=100000 cargo bench --bench dora
//!
//! Seeds `BENCH_DEPLOYMENTS` (default 10 000) production deployments of
//! 50 repositories spread over the last 90 days (one in ten failed), each
//! carrying 10 commits pushed on top of the previous deployment of its
//! repository (so `BENCH_DEPLOYMENTS` × 10 commits), in bulk SQL (the same
//! on SQLite and PostgreSQL); then prints p50/p99 of `BENCH_REQUESTS`
//! (default 20) sequential requests to `/api/dora` (7- and 30-day windows,
//! one repository) and `/api/dora/timeseries`. Between the two it
//! derives the seeded rows' DORA facts as start-up would (timed).
//! `BENCH_REUSE=1` measures a database an earlier run seeded, as it is.
//! `BENCH_DISTINCT_LEADS=1` spreads the commits' lead times over seconds
//! (mostly distinct, as real ones are) instead of whole hours. `BENCH_DATABASE_URL` picks
//! the database (default: a temp SQLite file; PostgreSQL: an empty
//! database).

use std::time::Instant;

use chrono::Utc;
use cicd_dashboard::store::{Store, StoreOptions};
use sqlx::Connection;

#[path = "common/http.rs"]
mod http;
use http::{env_number, latency, start_server};

/// Deployments `0..n` finished over the last 90 days, oldest first.
const SEED_DEPLOYMENTS: &str = "INSERT INTO deployments (provider_id, repo, external_id, environment, sha, \
     ref, created_at, status, status_at, status_tier, outcome, finished_at, changed_at) \
     WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < $2 - 1) \
     SELECT 1, 'seed-org/repo-' || (i % 50), CAST(i AS TEXT), 'production', 'sha-' || i, 'main', t - 300, \
     CASE WHEN i % 10 = 3 THEN 'failure' ELSE 'success' END, t, 2, \
     CASE WHEN i % 10 = 3 THEN 1 ELSE 0 END, t, $1 \
     FROM (SELECT i, $1 - (90 * 86400) + (i * (90 * 86400) / $2) AS t FROM s) AS x";

/// 10 commits per deployment, pushed on top of the previous deployment of
/// the same repository, committed 1 to 10 hours before it finished; with
/// `BENCH_DISTINCT_LEADS=1` up to an hour earlier again, by a number of
/// seconds that differs from commit to commit (real lead times are mostly
/// distinct; whole hours give 10 values).
const SEED_COMMITS: &str = "INSERT INTO commits (provider_id, repo, sha, authored_at, committed_at, ref, \
     push_head, push_before, position, first_seen) \
     WITH ks(k) AS (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) \
     SELECT 1, d.repo, 'c-' || d.external_id || '-' || k, t, t, 'main', d.sha, \
     'sha-' || CAST(CAST(d.external_id AS BIGINT) - 50 AS TEXT), k, t \
     FROM (SELECT d.*, k, d.finished_at - 3600 * (10 - k) - ($1 * ((CAST(d.external_id AS BIGINT) * 37 + k * 911) % 3600)) AS t \
     FROM deployments d CROSS JOIN ks) AS d";

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let deployments = env_number("BENCH_DEPLOYMENTS", 10_000);
    let requests = env_number("BENCH_REQUESTS", 20);
    let dir = tempfile::tempdir().expect("tempdir");
    let (database_url, base) = start_server(dir.path()).await;
    let reuse = std::env::var("BENCH_REUSE").is_ok_and(|v| v == "1");

    let mut conn = sqlx::AnyConnection::connect(&database_url).await.expect("connect");
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deployments").fetch_one(&mut conn).await.expect("count");
    if reuse && stored > 0 {
        println!("database: reused as it is, {stored} deployments (BENCH_REUSE=1)");
    } else {
        seed_and_derive(&mut conn, &database_url, deployments).await;
    }
    // What autovacuum does after a bulk write in a real installation (the
    // derive's trigger-kept roll-ups leave dead rows; index-only scans need
    // the visibility map); this machine's PostgreSQL runs without it.
    let analyze = if database_url.starts_with("sqlite") { "ANALYZE" } else { "VACUUM ANALYZE" };
    sqlx::query(analyze).execute(&mut conn).await.expect("analyze");
    let client = reqwest::Client::new();
    for path in [
        "/api/dora?window_days=7",
        "/api/dora?window_days=30",
        "/api/dora?window_days=30&repo=seed-org/repo-7",
        "/api/dora/timeseries?window_days=28&bucket=week",
    ] {
        let (p50, p99) = latency(&client, &format!("{base}{path}"), 2, requests).await;
        println!(
            "{path:<52} p50 {:>8.2} ms   p99 {:>8.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
}

/// Seeds `deployments` deployments and their commits, then derives their
/// facts as start-up does (both timed).
async fn seed_and_derive(conn: &mut sqlx::AnyConnection, database_url: &str, deployments: usize) {
    let start = Instant::now();
    let now = Utc::now().timestamp();
    sqlx::query(SEED_DEPLOYMENTS).bind(now).bind(deployments as i64).execute(&mut *conn).await.expect("seed");
    let distinct = i64::from(env_number("BENCH_DISTINCT_LEADS", 0) != 0);
    sqlx::query(SEED_COMMITS).bind(distinct).execute(&mut *conn).await.expect("seed");
    println!(
        "database: {}; seeded {deployments} deployments and {} commits{} over 90 days in {:.1} s",
        if database_url.starts_with("sqlite") { "SQLite (temp file)" } else { "PostgreSQL" },
        deployments * 10,
        if distinct == 1 { " (distinct lead times)" } else { "" },
        start.elapsed().as_secs_f64()
    );
    // Bulk-seeded rows are derived as start-up derives rows stored before
    // migration 0021 (ingest derives each deployment as it is written).
    let start = Instant::now();
    let store = Store::connect_existing(database_url, &StoreOptions::default()).await.expect("store");
    let streams = store.deployments().derive_pending().await.expect("derive");
    println!("derived the DORA facts of {streams} streams in {:.1} s", start.elapsed().as_secs_f64());
}
