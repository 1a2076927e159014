//! `BENCH_JOB_INSIGHTS=1 cargo bench --bench ingest`: job insights at
//! scale. Seeds `BENCH_ATTEMPTS` run attempts over 90 days (200
//! repositories), each with 10 jobs (3 of them matrix jobs, 1 in 9
//! failed, some skipped) of 3 steps, by bulk SQL on either database (the
//! ingest path would take far longer), folds the roll-ups, and prints
//! p50/p99 of `/api/insights/jobs` (whole list, one repository, one page,
//! and a day on one branch, which is read by raw scans only),
//! `/api/insights/jobs/{key}`, `/api/insights/runners` and
//! `/api/insights/minutes` for 7- and 30-day windows; then, in process,
//! the list's two window reads (current with steps, previous without)
//! from the packed hourly roll-up against the daily roll-ups it replaced
//! (`BENCH_OLD_READS`, default 5, reads of the old path). The runner and
//! minutes reads (from the runner roll-ups, `store/runner_rollups`, plus
//! whatever of the window is not folded) take `BENCH_SCAN_REQUESTS`
//! requests (default `BENCH_REQUESTS`) after one warm-up. Last, the list
//! as between two folds of a live system: jobs of the last three hours'
//! runs written since the fold. Before each part it prints what the list
//! reads besides packed rows (runs read by id, stale hours scanned).
//! `BENCH_REUSE=1` with `BENCH_DATABASE_URL`
//! measures a database an earlier run seeded, as it is (its roll-ups
//! folded again first; its runs no longer end at now).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use cicd_dashboard::metrics::job_report::{JobKeyJson, SortBy, insights, sort};
use cicd_dashboard::metrics::summary::window_start;
use cicd_dashboard::store::{Grain, JobFilter, Store};
use sqlx::Connection;

use crate::timing::latency_after;

/// Numbers 0..$2 as `n(i)`, on both databases.
const NUMBERS: &str =
    "WITH RECURSIVE n(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $2 - 1) ";

const BUILDS: &str = "INSERT INTO builds (provider_id, repo, external_id, run_attempt, workflow, workflow_id, \
     run_number, event, branch, commit_sha, triggered_by, url, provider_status, conclusion, status, created_at, \
     started_at, updated_at, finished_at, first_job_started_at, duration_seconds, sort_at, changed_at) \
     SELECT 1, 'seed-org/repo-' || (i % 200), CAST(2000000000 + i AS TEXT), 1, 'workflow-' || (i % 5), i % 5, i, \
     'push', CASE WHEN i % 4 = 0 THEN 'main' ELSE 'feature/' || (i % 97) END, 'c' || i, 'octocat', NULL, \
     'completed', 'success', 'success', t, t, t + 700, t + 700, t + 5, 700, t, $1 - 3600 \
     FROM (SELECT i, $1 - ((i * 7919) % 7776000) AS t FROM n) s";

const KEYS: &str = "INSERT INTO job_keys (provider_id, repo, workflow, name) \
     SELECT 1, 'seed-org/repo-' || (i % 200), 'workflow-' || ((i % 200) % 5), 'job-' || (i / 200) FROM n";

const JOBS: &str = "INSERT INTO jobs (build_id, provider_id, external_id, name, workflow, branch, provider_status, \
     conclusion, status, runner_name, labels, created_at, started_at, completed_at, changed_at, key_id, matrix) \
     SELECT b.id, 1, b.external_id || '-' || d.j, \
     'job-' || d.j || CASE WHEN d.j < 3 THEN ' (ubuntu-latest, ' || (b.id % 3) || ')' ELSE '' END, \
     b.workflow, b.branch, 'completed', \
     CASE WHEN d.j = 9 AND b.id % 4 = 0 THEN 'skipped' WHEN (b.id + d.j) % 9 = 0 THEN 'failure' ELSE 'success' END, \
     CASE WHEN d.j = 9 AND b.id % 4 = 0 THEN 'skipped' WHEN (b.id + d.j) % 9 = 0 THEN 'failed' ELSE 'success' END, \
     'runner', '[]', b.started_at + d.j, b.started_at + d.j + (b.id * 13 + d.j) % 120, \
     b.started_at + d.j + (b.id * 13 + d.j) % 120 + 60 * (d.j + 1) + (b.id * 31 + d.j * 17) % 300, $1 - 3600, k.id, \
     CASE WHEN d.j < 3 THEN 'ubuntu-latest, ' || (b.id % 3) END \
     FROM builds b CROSS JOIN (SELECT i AS j FROM n) d \
     JOIN job_keys k ON k.provider_id = 1 AND k.repo = b.repo AND k.workflow = b.workflow AND k.name = 'job-' || d.j \
     WHERE b.external_id >= '2000000000' AND b.repo LIKE 'seed-org/%'";

const STEPS: &str = "INSERT INTO steps (job_id, number, name, provider_status, conclusion, status, started_at, \
     completed_at) \
     SELECT j.id, s.i + 1, 'step ' || (s.i + 1), 'completed', \
     CASE WHEN j.status = 'skipped' THEN 'skipped' WHEN j.status = 'failed' AND s.i = 2 THEN 'failure' ELSE 'success' END, \
     CASE WHEN j.status = 'skipped' THEN 'skipped' WHEN j.status = 'failed' AND s.i = 2 THEN 'failed' ELSE 'success' END, \
     j.started_at + s.i * ((j.completed_at - j.started_at) / 3), j.started_at + (s.i + 1) * ((j.completed_at - j.started_at) / 3) \
     FROM jobs j CROSS JOIN (SELECT i FROM n) s WHERE j.key_id IS NOT NULL";

async fn seed(database_url: &str, attempts: usize) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.expect("connect");
    if let Some(stored) = crate::reuse::reuse_seeded(&mut conn).await {
        println!("database: reused as it is, {stored} attempts (BENCH_REUSE=1)");
        return;
    }
    let now = Utc::now().timestamp();
    for (what, sql, count) in [
        ("attempts", BUILDS, attempts as i64),
        ("job keys", KEYS, 2000),
        ("jobs", JOBS, 10),
        ("steps", STEPS, 3),
    ] {
        let start = Instant::now();
        let done = sqlx::query(sqlx::AssertSqlSafe(format!("{NUMBERS}{sql}")))
            .bind(now)
            .bind(count)
            .execute(&mut conn)
            .await
            .expect("seed");
        println!("seeded {} {what} in {:.1} s", done.rows_affected(), start.elapsed().as_secs_f64());
    }
    let analyze = if database_url.starts_with("postgres") { "VACUUM ANALYZE" } else { "ANALYZE" };
    sqlx::query(analyze).execute(&mut conn).await.expect("analyze");
}

/// The jobs mode: seed, fold, measure; prints as it goes.
pub async fn run(store: &Store, database_url: &str, base: &str, attempts: usize, requests: usize) {
    seed(database_url, attempts).await;
    let folding = Instant::now();
    let days = store.metrics().fold_rollups(Utc::now().timestamp()).await.expect("fold roll-ups");
    println!("rollups: folded {days} days (summary and jobs) in {:.1} s", folding.elapsed().as_secs_f64());
    // An incremental fold with nothing written since (as the `rollups` job every minute).
    let folding = Instant::now();
    store.metrics().fold_rollups(Utc::now().timestamp()).await.expect("fold roll-ups");
    println!("rollups: a fold with nothing new in {:.2} s", folding.elapsed().as_secs_f64());
    print_view(store, "after the fold").await;
    let client = reqwest::Client::new();
    let list: serde_json::Value = client
        .get(format!("{base}/api/insights/jobs?window_days=7&repo=seed-org/repo-7"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let key = list["jobs"][0]["key"].as_i64().expect("a job key");
    let scan_requests: usize =
        std::env::var("BENCH_SCAN_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(requests);
    for (name, path) in [
        ("insights/jobs (7 d, all 1000)", "/api/insights/jobs?window_days=7&limit=1000".to_owned()),
        ("insights/jobs (30 d, all 1000)", "/api/insights/jobs?window_days=30&limit=1000".to_owned()),
        ("insights/jobs (7 d, page of 25)", "/api/insights/jobs?window_days=7&limit=25".to_owned()),
        ("insights/jobs (30 d, page of 25)", "/api/insights/jobs?window_days=30&limit=25".to_owned()),
        ("insights/jobs (7 d, by p95)", "/api/insights/jobs?window_days=7&sort=p95_duration".to_owned()),
        ("insights/jobs (7 d, one repo)", "/api/insights/jobs?window_days=7&repo=seed-org/repo-7".to_owned()),
        (
            "insights/jobs (30 d, one repo)",
            "/api/insights/jobs?window_days=30&repo=seed-org/repo-7".to_owned(),
        ),
        // A branch filter reads raw only: a day's runs on `main` (a quarter), jobs and steps scanned.
        (
            "insights/jobs (1 d, branch: raw scan)",
            "/api/insights/jobs?window_days=1&branch=main&limit=1000".to_owned(),
        ),
        ("insights/jobs/{key} (7 d)", format!("/api/insights/jobs/{key}?window_days=7")),
        ("insights/jobs/{key} (30 d)", format!("/api/insights/jobs/{key}?window_days=30")),
        ("insights/runners (7 d)", "/api/insights/runners?window_days=7".to_owned()),
        ("insights/runners (30 d)", "/api/insights/runners?window_days=30".to_owned()),
        ("insights/minutes (7 d, by job)", "/api/insights/minutes?window_days=7&group_by=job".to_owned()),
        ("insights/minutes (30 d, by job)", "/api/insights/minutes?window_days=30&group_by=job".to_owned()),
    ] {
        // The runner and minutes reads: their own request count (they once scanned jobs).
        // As the `rollups` job does every minute: the roll-ups stay fresh
        // (a fold with nothing written since recomputes only the earliest day).
        store.metrics().fold_rollups(Utc::now().timestamp()).await.expect("fold");
        let scans = path.contains("/runners") || path.contains("/minutes");
        let (n, warm) = if scans { (requests.min(scan_requests), 1) } else { (requests, 10) };
        let (p50, p99) = latency_after(&client, &format!("{base}{path}"), n, warm).await;
        println!(
            "{name:<34} p50 {:>9.2} ms   p99 {:>9.2} ms   ({n} requests)",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    println!("({attempts} attempts, {} jobs, {} job keys)", attempts * 10, 2000);
    compare_reads(store).await;
    live(store, database_url, &client, base, requests).await;
}

/// The list as a live system serves it between folds (every 20 s), with
/// runs and jobs being written, timed with no fold in between: first the
/// runs of the last 20 minutes going at the fold (run and jobs in progress)
/// and completed after it; then, also, late writes to settled runs — some
/// jobs of the runs started in the last three hours written after the fold
/// (a run in 50 of those hours).
async fn live(store: &Store, database_url: &str, client: &reqwest::Client, base: &str, requests: usize) {
    let now = Utc::now().timestamp();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.expect("connect");
    // Runs of the 20 minutes up to the latest start (now, unless reused).
    let going = "SELECT id FROM builds WHERE sort_at >= $2";
    let latest: i64 =
        sqlx::query_scalar("SELECT MAX(sort_at) FROM builds").fetch_one(&mut conn).await.expect("latest");
    for (table, key) in [("builds", "id"), ("jobs", "build_id")] {
        let sql = format!(
            "UPDATE {table} SET provider_status = 'in_progress', status = 'running', changed_at = $1 \
             WHERE {key} IN ({going})"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(latest - 1200)
            .execute(&mut conn)
            .await
            .expect("going");
    }
    store.metrics().fold_rollups(now).await.expect("fold");
    let mut done = 0;
    for (table, key) in [("builds", "id"), ("jobs", "build_id")] {
        let status = if table == "jobs" {
            "CASE WHEN conclusion = 'failure' THEN 'failed' ELSE conclusion END"
        } else {
            "'success'"
        };
        let sql = format!(
            "UPDATE {table} SET provider_status = 'completed', status = {status}, changed_at = $1 \
             WHERE {key} IN ({going})"
        );
        let written = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now + 60)
            .bind(latest - 1200)
            .execute(&mut conn)
            .await
            .expect("done");
        done = written.rows_affected();
    }
    println!("live: {done} jobs of runs going at the fold completed since");
    print_view(store, "live").await;
    time_lists(client, base, requests, "live").await;
    let written = sqlx::query(
        "UPDATE jobs SET changed_at = $1 WHERE build_id IN \
         (SELECT id FROM builds WHERE sort_at >= $2 AND sort_at < $3 AND id % 50 = 0)",
    )
    .bind(now + 60)
    .bind(now - 3 * 3600)
    .bind(now)
    .execute(&mut conn)
    .await
    .expect("write");
    println!("late: {} jobs of settled runs written since the fold", written.rows_affected());
    print_view(store, "late").await;
    time_lists(client, base, requests, "late").await;
}

/// What the list reads besides packed rows as of now: the runs read by id
/// (left out of the packed rows as still going, or new since the fold) and
/// the stale hours scanned raw. A run or job written less than 10 minutes
/// before a fold is left out as still going, so on a reused database the
/// writes of a run started within that long of the last one show here.
async fn print_view(store: &Store, case: &str) {
    let view = store.job_insights().job_rollup_view(Utc::now().timestamp()).await.expect("view");
    match view {
        Some(view) => println!(
            "view ({case}): {} runs read by id, {} stale hours scanned, {} stale days",
            view.unpacked.len(),
            view.hours.as_ref().map_or(0, |hours| hours.len()),
            view.dirty.len()
        ),
        None => println!("view ({case}): not folded recently, every read is raw"),
    }
}

/// The whole 7- and 30-day lists, `requests` each after 3 warm-ups, as the
/// `case` of a live system.
async fn time_lists(client: &reqwest::Client, base: &str, requests: usize, case: &str) {
    for days in [7, 30] {
        let path = format!("/api/insights/jobs?window_days={days}&limit=1000");
        let (p50, p99) = latency_after(client, &format!("{base}{path}"), requests, 3).await;
        println!(
            "{:<34} p50 {:>9.2} ms   p99 {:>9.2} ms   ({requests} requests)",
            format!("insights/jobs ({days} d, {case}, all 1000)"),
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The list's reads in process: packed hours (now) against the daily
/// roll-ups (before), both windows of a request each time.
async fn compare_reads(store: &Store) {
    let old_reads: usize = std::env::var("BENCH_OLD_READS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let reads = store.job_insights();
    let every = JobFilter::default();
    for days in [7, 30] {
        store.metrics().fold_rollups(Utc::now().timestamp()).await.expect("fold");
        let now = Utc::now();
        let since = window_start(now, days);
        let before = window_start(since, days);
        let (at, s, b) = (now.timestamp(), since.timestamp(), before.timestamp());
        let view = reads.job_rollup_view(at).await.expect("view");
        let timed = |samples: &mut Vec<Duration>, start: Instant| samples.push(start.elapsed());
        let (mut packed, mut daily) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            let start = Instant::now();
            let a = reads.job_list_window(s, None, &every, view.as_ref(), at, true).await.expect("packed");
            let p =
                reads.job_list_window(b, Some(s), &every, view.as_ref(), at, false).await.expect("packed");
            timed(&mut packed, start);
            assert!(!a.jobs.is_empty() && !p.jobs.is_empty());
        }
        for _ in 0..old_reads {
            let start = Instant::now();
            reads.job_window((s, None), &every, Grain::Key, true, view.as_ref()).await.expect("daily");
            reads.job_window((b, Some(s)), &every, Grain::Key, false, view.as_ref()).await.expect("daily");
            timed(&mut daily, start);
        }
        // The rest of a request in process: key names (held in memory once
        // read, so only the first sample reads them), figures and order, JSON.
        let (mut named, mut figured, mut encoded) = (Vec::new(), Vec::new(), Vec::new());
        let a = reads.job_list_window(s, None, &every, view.as_ref(), at, true).await.expect("packed");
        let p = reads.job_list_window(b, Some(s), &every, view.as_ref(), at, false).await.expect("packed");
        for _ in 0..20 {
            let start = Instant::now();
            let ids: Vec<i64> = a.jobs.keys().map(|cell| cell.key_id).collect();
            let keys: HashMap<i64, JobKeyJson> = reads
                .job_keys_by_id(&ids)
                .await
                .expect("keys")
                .into_values()
                .map(|k| {
                    let json = JobKeyJson {
                        key: k.id,
                        provider_kind: k.provider.map(|p| p.kind().to_owned()),
                        repo: k.repo,
                        workflow: Some(k.workflow),
                        name: k.name,
                    };
                    (json.key, json)
                })
                .collect();
            timed(&mut named, start);
            let (a, p) = (a.clone(), p.clone());
            let start = Instant::now();
            let mut lines = insights(&keys, a, p);
            sort(&mut lines, SortBy::RunnerSeconds, true);
            timed(&mut figured, start);
            let start = Instant::now();
            let bytes = serde_json::to_vec(&lines).expect("json");
            timed(&mut encoded, start);
            assert!(!bytes.is_empty());
        }
        for (what, samples) in [
            ("packed (now)", &mut packed),
            ("daily roll-ups (before)", &mut daily),
            ("+ key names", &mut named),
            ("+ figures and order", &mut figured),
            ("+ JSON", &mut encoded),
        ] {
            samples.sort();
            if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
                let mid = samples[samples.len() / 2];
                println!(
                    "list reads {days:>2} d, {what:<24} min {:>8.1} ms  p50 {:>8.1} ms  max {:>8.1} ms ({} reads)",
                    ms(*first),
                    ms(mid),
                    ms(*last),
                    samples.len()
                );
            }
        }
    }
}
