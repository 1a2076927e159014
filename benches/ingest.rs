//! Ingest and query benchmark (a bench binary, not a timed test).
//!
//!     cargo bench --bench ingest
//!
//! Prints (a) ingest throughput of realistic signed `workflow_run` deliveries
//! (~17 KB each: the real recorded delivery in `tests/fixtures`, with varied
//! run ids, attempts, states and repositories) posted at concurrency 32 over
//! loopback to the real server, then checks that every accepted delivery is
//! stored; with `BENCH_JOBS` set, the same for as many `workflow_job`
//! deliveries (runs of 10 jobs, posted in GitHub's bursts); (b) p50/p99 latency of `/api/metrics/summary`, `/timeseries`, `/health` and `/api/builds`
//! with `BENCH_ATTEMPTS` (default 100 000) attempts stored, spread over 90
//! days, including a deep page at half the history by `offset` and by
//! keyset `cursor`. Settings: `BENCH_DATABASE_URL` (default: a temp SQLite file),
//! `BENCH_DELIVERIES` (default 20 000), `BENCH_ATTEMPTS`, `BENCH_REQUESTS`
//! (default 300 per endpoint).
//!
//!     BENCH_STREAMS=200 cargo bench --bench ingest
//!
//! instead measures ingest twice, without and then with 200 open
//! `/api/events` streams reading every event, prints both and stops.
//!
//!     BENCH_JOB_INSIGHTS=1 cargo bench --bench ingest
//!
//! instead measures job insights (`ingest/jobs.rs`) and stops.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use cicd_dashboard::config::ServeSettings;
use cicd_dashboard::domain::{Change, Conclusion, ProviderKind, RunAttempt, RunStatus};
use cicd_dashboard::providers::github::webhook::signature::sign;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::startup::Application;
use cicd_dashboard::store::{DeliveryOutcome, DeliveryRecord, DeliveryWrite, Store};
use serde_json::Value;
use tokio::sync::Semaphore;

#[path = "ingest/jobs.rs"]
mod jobs;
#[path = "common/reuse.rs"]
mod reuse;
#[path = "ingest/streams.rs"]
mod streams;
#[path = "ingest/timing.rs"]
mod timing;

use timing::latency;

const SECRET: &str = "bench-secret";
const CONCURRENCY: usize = 32;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn iso(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The i-th delivery: one of 2 000 runs in 50 repositories, each run going
/// through requested → in_progress → completed (success or failure).
fn delivery(template: &Value, i: usize) -> Vec<u8> {
    let mut payload = template.clone();
    let run_id = 9_000_000 + (i / 3) as i64;
    let step = i % 3;
    let started = Utc::now() - chrono::Duration::minutes((i % 5000) as i64);
    let (status, conclusion, action) = match step {
        0 => ("queued", Value::Null, "requested"),
        1 => ("in_progress", Value::Null, "in_progress"),
        _ => ("completed", Value::from(if run_id % 7 == 0 { "failure" } else { "success" }), "completed"),
    };
    payload["action"] = action.into();
    let run = &mut payload["workflow_run"];
    run["id"] = run_id.into();
    run["run_attempt"] = 1.into();
    run["status"] = status.into();
    run["conclusion"] = conclusion;
    run["run_started_at"] = iso(started).into();
    run["created_at"] = iso(started).into();
    run["updated_at"] = iso(started + chrono::Duration::seconds(step as i64 * 60)).into();
    payload["repository"]["full_name"] = format!("bench-org/repo-{}", run_id % 50).into();
    serde_json::to_vec(&payload).expect("json")
}

/// The i-th `workflow_job` delivery: runs of 10 jobs in 50 repositories,
/// each run's jobs queued together, then started, then completed (success,
/// or failure for one job in seven), the bursts GitHub sends for a run.
fn job_delivery(template: &Value, i: usize) -> Vec<u8> {
    let mut payload = template.clone();
    let run_id = 8_000_000 + (i / 30) as i64;
    let (step, job) = ((i % 30) / 10, (i % 10) as i64);
    let started = Utc::now() - chrono::Duration::minutes(((i / 30) % 5000) as i64);
    let (status, conclusion, action) = match step {
        0 => ("queued", Value::Null, "queued"),
        1 => ("in_progress", Value::Null, "in_progress"),
        _ => (
            "completed",
            Value::from(if (run_id + job) % 7 == 0 { "failure" } else { "success" }),
            "completed",
        ),
    };
    payload["action"] = action.into();
    let object = &mut payload["workflow_job"];
    object["id"] = (run_id * 100 + job).into();
    object["run_id"] = run_id.into();
    object["run_attempt"] = 1.into();
    object["name"] = format!("job-{job}").into();
    object["status"] = status.into();
    object["conclusion"] = conclusion;
    object["started_at"] = if step == 0 { Value::Null } else { iso(started).into() };
    object["completed_at"] =
        if step == 2 { iso(started + chrono::Duration::seconds(60 + job)).into() } else { Value::Null };
    payload["repository"]["full_name"] = format!("bench-org/repo-{}", run_id % 50).into();
    serde_json::to_vec(&payload).expect("json")
}

/// A real recorded delivery under `tests/fixtures/github/recorded/webhooks`,
/// which the benchmark payloads are made from.
fn template(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/github/recorded/webhooks/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json")
}

/// Posts `bodies` (with their signatures; GUIDs tagged `tag`) at
/// concurrency [`CONCURRENCY`], prints the throughput, and whether every
/// accepted delivery was stored; answers deliveries per second.
async fn post_all(store: &Store, base: &str, event: &str, tag: &str, bodies: Vec<(Vec<u8>, String)>) -> f64 {
    let deliveries = bodies.len();
    let mean_size = bodies.iter().map(|(body, _)| body.len()).sum::<usize>() / deliveries.max(1);
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().expect("client");
    let url = Arc::new(format!("{base}/api/webhook/github-actions"));
    let semaphore = Arc::new(Semaphore::new(CONCURRENCY));
    let before = store.deliveries().delivery_count(None).await.expect("count");
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(deliveries);
    for (i, (body, signature)) in bodies.into_iter().enumerate() {
        let permit = semaphore.clone().acquire_owned().await.expect("permit");
        let (client, url, event, tag) = (client.clone(), url.clone(), event.to_owned(), tag.to_owned());
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url.as_str())
                .header("content-type", "application/json")
                .header("x-github-event", event.as_str())
                .header("x-github-delivery", format!("bench-{tag}{event}-{i}"))
                .header("x-hub-signature-256", signature)
                .body(body)
                .send()
                .await;
            drop(permit);
            matches!(response, Ok(r) if r.status().as_u16() == 202)
        }));
    }
    let mut accepted = 0usize;
    for task in tasks {
        accepted += usize::from(task.await.expect("task"));
    }
    let elapsed = start.elapsed();
    let stored = (store.deliveries().delivery_count(None).await.expect("count") - before) as usize;
    println!(
        "ingest: {deliveries} {event} deliveries of ~{} KB at concurrency {CONCURRENCY}: {:.0} deliveries/s ({:.2} s); accepted {accepted}, stored {stored}{}",
        mean_size / 1024,
        deliveries as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        if stored == accepted && accepted == deliveries { ", nothing lost" } else { "  <-- MISMATCH" }
    );
    deliveries as f64 / elapsed.as_secs_f64()
}

/// Bodies and their signatures, made before the clock starts, as GitHub
/// makes them on its side: the figure is the server's work.
fn signed(count: usize, make: impl Fn(usize) -> Vec<u8>) -> Vec<(Vec<u8>, String)> {
    (0..count)
        .map(|i| {
            let body = make(i);
            let signature = sign(SECRET.as_bytes(), &body);
            (body, signature)
        })
        .collect()
}

async fn seed(store: &Store, attempts: usize) -> Duration {
    let start = Instant::now();
    let now = Utc::now();
    let ninety_days = 90 * 24 * 3600;
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..attempts {
        let started = now - chrono::Duration::seconds((i as i64 * 7919) % ninety_days);
        let conclusion = match i % 10 {
            0 => "failure",
            1 => "cancelled",
            2 => "skipped",
            _ => "success",
        };
        let attempt = RunAttempt {
            provider: ProviderKind::GitHub,
            repo: format!("seed-org/repo-{}", i % 200).into(),
            run_id: (1_000_000_000 + i).to_string(),
            run_attempt: 1 + (i % 3 == 0) as i64,
            workflow: Some(format!("workflow-{}", i % 5)),
            workflow_id: Some((i % 5) as i64),
            run_number: Some(i as i64),
            event: Some("push".into()),
            branch: Some(if i % 4 == 0 { "main".into() } else { format!("feature/{}", i % 97).into() }),
            commit_sha: Some(format!("{i:040x}")),
            triggered_by: Some("octocat".into()),
            url: Some(format!("https://github.com/seed-org/repo/actions/runs/{i}")),
            provider_status: RunStatus::Completed,
            conclusion: Some(Conclusion::parse(conclusion)),
            created_at: Some(started),
            started_at: Some(started),
            updated_at: Some(started + chrono::Duration::seconds(60 + (i % 900) as i64)),
            first_job_started_at: None,
        };
        let delivery = DeliveryRecord {
            provider: ProviderKind::GitHub,
            guid: format!("seed-{i}"),
            event: "workflow_run".into(),
            action: Some("completed".into()),
            received_at: now,
            body: bytes::Bytes::from_static(b"{}"),
        };
        let write = DeliveryWrite {
            delivery,
            outcome: DeliveryOutcome::Stored,
            error: None,
            change: Some(Change::Run(attempt)),
        };
        let store = store.clone();
        pending.spawn(async move { store.deliveries().record_delivery(write).await.expect("seed") });
        if pending.len() >= 64 {
            pending.join_next().await;
        }
    }
    pending.join_all().await;
    start.elapsed()
}

/// The same attempts as [`seed`], written by one `INSERT … SELECT` over
/// `generate_series` (PostgreSQL only; a million attempts through the ingest
/// path would take the benchmark many minutes). Set `BENCH_SEED_VIA_INGEST`
/// to seed through `record_delivery` instead.
async fn seed_postgres_in_bulk(url: &str, attempts: usize) -> Duration {
    use sqlx::Connection;
    let start = Instant::now();
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let now = Utc::now().timestamp();
    sqlx::query(
        "INSERT INTO builds (provider_id, repo, external_id, run_attempt, workflow, workflow_id, run_number, \
         event, branch, commit_sha, triggered_by, url, provider_status, conclusion, status, created_at, \
         started_at, updated_at, finished_at, first_job_started_at, duration_seconds, sort_at, changed_at) \
         SELECT 1, 'seed-org/repo-' || (i % 200), (1000000000 + i)::text, 1 + (i % 3 = 0)::int, \
         'workflow-' || (i % 5), i % 5, i, 'push', \
         CASE WHEN i % 4 = 0 THEN 'main' ELSE 'feature/' || (i % 97) END, lpad(to_hex(i), 40, '0'), \
         'octocat', 'https://github.com/seed-org/repo/actions/runs/' || i, 'completed', c, \
         CASE c WHEN 'failure' THEN 'failed' ELSE c END, t, t, t + 60 + (i % 900), t + 60 + (i % 900), NULL, \
         60 + (i % 900), t, $1 \
         FROM (SELECT i, $1 - ((i::bigint * 7919) % (90 * 86400)) AS t, \
               CASE i % 10 WHEN 0 THEN 'failure' WHEN 1 THEN 'cancelled' WHEN 2 THEN 'skipped' ELSE 'success' END AS c \
               FROM generate_series(0, $2 - 1) AS i) s",
    )
    .bind(now)
    .bind(attempts as i64)
    .execute(&mut conn)
    .await
    .expect("bulk seed");
    // What autovacuum does on a live database: statistics and the visibility
    // map (without it PostgreSQL cannot answer from indexes alone).
    sqlx::query("VACUUM ANALYZE builds").execute(&mut conn).await.expect("vacuum");
    start.elapsed()
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let deliveries = env_number("BENCH_DELIVERIES", 20_000);
    let attempts = env_number("BENCH_ATTEMPTS", 100_000);
    let requests = env_number("BENCH_REQUESTS", 300);
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));

    let mut settings = ServeSettings::new("127.0.0.1:0".parse().expect("addr"), &database_url);
    settings.github_webhook_secret = Some(Secret::from(SECRET));
    settings.database.db_max_connections = 16;
    // One load generator on one address: measure the server, not the limiter.
    settings.api_rate_limit = 0;
    settings.webhook_rate_limit = 0;
    // Job insights: no periodic job (retention, folds) moves the data measured.
    settings.no_worker = std::env::var("BENCH_JOB_INSIGHTS").is_ok();
    let app = Application::build(&settings).await.expect("server starts");
    let store = app.store().clone();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    println!(
        "database: {}",
        if database_url.starts_with("sqlite") { "SQLite (temp file)" } else { "PostgreSQL" }
    );

    // (a0) the store alone: sequential record_delivery calls, no HTTP
    if std::env::var("BENCH_STORE_ONLY").is_ok() {
        let template = template("workflow_run.completed.json");
        let n = 5000;
        let bodies: Vec<Vec<u8>> = (0..n).map(|i| delivery(&template, i + 10_000_000)).collect();
        let start = Instant::now();
        for (i, body) in bodies.iter().enumerate() {
            let parsed = cicd_dashboard::providers::github::webhook::parse_delivery("workflow_run", body)
                .expect("parse");
            let cicd_dashboard::providers::Parsed::Change { change, .. } = parsed else { panic!("change") };
            let delivery = DeliveryRecord {
                provider: ProviderKind::GitHub,
                guid: format!("store-only-{i}"),
                event: "workflow_run".into(),
                action: None,
                received_at: Utc::now(),
                body: bytes::Bytes::copy_from_slice(body),
            };
            let write = DeliveryWrite {
                delivery,
                outcome: DeliveryOutcome::Stored,
                error: None,
                change: Some(change),
            };
            store.deliveries().record_delivery(write).await.expect("store");
        }
        println!(
            "store only (parse + record_delivery, sequential): {:.0} deliveries/s",
            n as f64 / start.elapsed().as_secs_f64()
        );
    }

    if std::env::var("BENCH_JOB_INSIGHTS").is_ok() {
        return jobs::run(&store, &database_url, &base, attempts, requests).await;
    }
    // (a) ingest throughput
    let runs = template("workflow_run.completed.json");
    let alone = post_all(&store, &base, "workflow_run", "", signed(deliveries, |i| delivery(&runs, i))).await;
    if let Some(streams) = std::env::var("BENCH_STREAMS").ok().and_then(|v| v.parse().ok()) {
        // (a') the same again with `streams` open event streams, then stop.
        let bodies = signed(deliveries, |i| delivery(&runs, i + deliveries * 3));
        streams::compare(&base, streams, alone, post_all(&store, &base, "workflow_run", "streams-", bodies))
            .await;
        return;
    }
    if std::env::var("BENCH_JOBS").is_ok() {
        let jobs = template("workflow_job.completed.failure.json");
        post_all(&store, &base, "workflow_job", "", signed(deliveries, |i| job_delivery(&jobs, i))).await;
    }
    let client = reqwest::Client::new();

    // (b) query latency with many attempts stored
    let seeded = if database_url.starts_with("postgres") && std::env::var("BENCH_SEED_VIA_INGEST").is_err() {
        seed_postgres_in_bulk(&database_url, attempts).await
    } else {
        seed(&store, attempts).await
    };
    println!("seeded {attempts} attempts over 90 days in {:.1} s", seeded.as_secs_f64());
    // The summary's roll-ups: what the `rollups` job does a minute after
    // the writes, done now so the figures below measure the steady state.
    let folding = Instant::now();
    let days = store.metrics().fold_rollups(Utc::now().timestamp()).await.expect("fold roll-ups");
    println!("rollups: folded {days} days in {:.1} s", folding.elapsed().as_secs_f64());
    let deep = attempts / 2;
    let (_, deep_page) = {
        let response =
            client.get(format!("{base}/api/builds?limit=1&offset={deep}")).send().await.expect("deep");
        let body: Value = response.json().await.expect("json");
        (0, body)
    };
    let cursor = deep_page["next_cursor"].as_str().unwrap_or_default().to_owned();
    let deep_offset = format!("/api/builds?offset={deep}");
    let deep_cursor = format!("/api/builds?cursor={cursor}");
    for (name, path) in [
        ("summary (window 7 d)", "/api/metrics/summary"),
        ("summary (window 90 d)", "/api/metrics/summary?window_days=90"),
        ("summary (window 30 d)", "/api/metrics/summary?window_days=30"),
        ("timeseries (7 d, Berlin)", "/api/metrics/timeseries?window_days=7&tz=Europe/Berlin"),
        ("timeseries (30 d, Berlin)", "/api/metrics/timeseries?window_days=30&tz=Europe/Berlin"),
        ("health (7 d)", "/api/metrics/health?window_days=7"),
        ("builds search (q)", "/api/builds?q=repo-7"),
        ("builds first page", "/api/builds"),
        ("builds filtered by repo", "/api/builds?repo=seed-org/repo-7"),
        ("builds deep page (offset)", deep_offset.as_str()),
        ("builds deep page (cursor)", deep_cursor.as_str()),
    ] {
        let (p50, p99) = latency(&client, &format!("{base}{path}"), requests).await;
        println!(
            "{name:<28} p50 {:>7.2} ms   p99 {:>7.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    println!("(deep page = position {deep} of {attempts})");
}
