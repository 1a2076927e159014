//! Alert benchmark (a bench binary, not a timed test).
//!
//!     cargo bench --bench alerts
//!
//! Starts the real server in-process (temp SQLite file, or
//! `BENCH_DATABASE_URL`) and a webhook receiver on loopback, configures one
//! `build_failed` rule to a generic-webhook channel and to a Slack-shaped
//! channel, and prints (a) the latency from posting a failed `workflow_run`
//! delivery to the receiver getting its alert — p50 / p95 / max over
//! `BENCH_ALERTS` (default 200) deliveries posted one after another; (b)
//! ingest throughput at concurrency 32 with that rule configured (one run in
//! seven fails), and that every failed attempt's alert arrived exactly once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::{SecondsFormat, Utc};
use cicd_dashboard::config::ServeSettings;
use cicd_dashboard::providers::github::webhook::signature::sign;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::startup::Application;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

const SECRET: &str = "bench-secret";
const CONCURRENCY: usize = 32;

fn iso(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A completed run `id` (failed when `failed`), in the real payload's shape.
fn delivery(template: &Value, id: i64, failed: bool) -> Vec<u8> {
    let mut payload = template.clone();
    let started = Utc::now() - chrono::Duration::minutes(5);
    payload["action"] = "completed".into();
    let run = &mut payload["workflow_run"];
    run["id"] = id.into();
    run["run_attempt"] = 1.into();
    run["status"] = "completed".into();
    run["conclusion"] = (if failed { "failure" } else { "success" }).into();
    run["head_branch"] = "main".into();
    run["run_started_at"] = iso(started).into();
    run["created_at"] = iso(started).into();
    run["updated_at"] = iso(started + chrono::Duration::seconds(90)).into();
    serde_json::to_vec(&payload).expect("json")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn post(client: &reqwest::Client, url: &str, guid: String, body: Vec<u8>) -> bool {
    let signature = sign(SECRET.as_bytes(), &body);
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-github-event", "workflow_run")
        .header("x-github-delivery", guid)
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await;
    matches!(response, Ok(r) if r.status().as_u16() == 202)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let alerts: usize = std::env::var("BENCH_ALERTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));

    // The receiver: reports (path, build run id) of every alert.
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, i64, Instant)>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let receiver = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: Bytes| {
        let tx = tx.clone();
        async move {
            let at = Instant::now();
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let id = value["build"]["run_number"].as_i64().unwrap_or(-1);
            let _ = tx.send((uri.path().to_owned(), id, at));
            "ok"
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut settings = ServeSettings::new("127.0.0.1:0".parse().expect("addr"), &database_url);
    settings.github_webhook_secret = Some(Secret::from(SECRET));
    settings.database.db_max_connections = 16;
    let server = Application::build(&settings).await.expect("server starts");
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until(std::future::pending()));
    println!(
        "database: {}",
        if database_url.starts_with("sqlite") { "SQLite (temp file)" } else { "PostgreSQL" }
    );

    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().expect("client");
    let config = json!({
        "channels": [
            {"id": "hook", "type": "webhook", "url": format!("{receiver}/hook")},
            {"id": "slack-like", "type": "webhook", "url": format!("{receiver}/slack")}
        ],
        "rules": [{"id": "failures", "kind": "build_failed", "channels": ["hook", "slack-like"]}]
    });
    // BENCH_NO_RULES: the same ingest without any rule, for comparison.
    let with_rules = std::env::var("BENCH_NO_RULES").is_err();
    if with_rules {
        let answer = client
            .post(format!("{base}/api/alerts/configure"))
            .json(&config)
            .send()
            .await
            .expect("configure");
        assert_eq!(answer.status().as_u16(), 200);
    }
    let template: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/github/recorded/webhooks/workflow_run.completed.json"
        ))
        .expect("fixture"),
    )
    .expect("json");
    let webhook = format!("{base}/api/webhook/github-actions");

    // (a) latency, one delivery at a time; the run number identifies it.
    let mut samples = Vec::with_capacity(alerts);
    for i in 0..if with_rules { alerts } else { 0 } {
        let id = 50_000_000 + i as i64;
        let mut body: Value = serde_json::from_slice(&delivery(&template, id, true)).expect("json");
        body["workflow_run"]["run_number"] = (i as i64).into();
        let body = serde_json::to_vec(&body).expect("json");
        let sent = Instant::now();
        assert!(post(&client, &webhook, format!("latency-{i}"), body).await, "accepted");
        let mut seen = 0;
        while seen < 2 {
            let (_, run, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("alert within 10 s")
                .expect("open");
            if run == i as i64 {
                seen += 1;
                if seen == 2 {
                    samples.push(at - sent);
                }
            }
        }
    }
    samples.sort();
    if with_rules {
        println!(
            "alert latency (202 sent → both receivers got it), {alerts} sequential failures: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            percentile(&samples, 0.5).as_secs_f64() * 1e3,
            percentile(&samples, 0.95).as_secs_f64() * 1e3,
            samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3
        );
    }

    // (b) ingest with the rule configured; then every alert exactly once.
    let deliveries = 7000usize;
    let semaphore = Arc::new(Semaphore::new(CONCURRENCY));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(deliveries);
    for i in 0..deliveries {
        let id = 60_000_000 + i as i64;
        let mut body: Value = serde_json::from_slice(&delivery(&template, id, i % 7 == 0)).expect("json");
        body["workflow_run"]["run_number"] = (1_000_000 + i as i64).into();
        let body = serde_json::to_vec(&body).expect("json");
        let permit = semaphore.clone().acquire_owned().await.expect("permit");
        let (client, url) = (client.clone(), webhook.clone());
        tasks.push(tokio::spawn(async move {
            let ok = post(&client, &url, format!("ingest-{i}"), body).await;
            drop(permit);
            ok
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.expect("task"));
    }
    let elapsed = start.elapsed();
    let want = if with_rules { deliveries.div_ceil(7) * 2 } else { 0 };
    let counts: Arc<Mutex<HashMap<(String, i64), usize>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = 0;
    while got < want && Instant::now() < deadline {
        if let Ok(Some((path, run, _))) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            *counts.lock().expect("lock").entry((path, run)).or_default() += 1;
            got += 1;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    while let Ok((path, run, _)) = rx.try_recv() {
        *counts.lock().expect("lock").entry((path, run)).or_default() += 1;
    }
    let counts = counts.lock().expect("lock");
    let duplicates = counts.values().filter(|n| **n > 1).count();
    println!(
        "ingest {}: {deliveries} deliveries at concurrency {CONCURRENCY}: {:.0} deliveries/s, accepted {accepted}; alerts received {} of {want} (distinct), {duplicates} duplicated, all in {:.1} s",
        if with_rules { "with a build_failed rule" } else { "without rules" },
        deliveries as f64 / elapsed.as_secs_f64(),
        counts.len(),
        start.elapsed().as_secs_f64()
    );
}
