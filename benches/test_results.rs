//! Test-results benchmark (a bench binary, not a timed test).
//!
//!     cargo bench --bench test_results
//!
//! Prints (a) the time to upload and store one generated 50 000-test JUnit
//! report (Surefire style, 2 % failures with stack traces) through
//! `POST /api/test-results` of the real in-process server, gzip-compressed,
//! and the process's peak resident memory (`VmHWM`, client and server
//! together) before and after; (b) latency of `GET /api/insights/tests`
//! (7-day window) at three sizes of stored executions, reached by
//! uploading more such reports to other runs: the first request (the
//! answer computed and cached), p50/p99 of `BENCH_REQUESTS` cached
//! answers, and p50/max of `BENCH_MISSES` requests each right after a
//! small upload (a 10-test report with a failure, on a new run: the
//! cached answer is stale; it is served stale while recomputed in the
//! background when computing it takes longer than the recompute budget,
//! default 100 ms), and how long after the upload the answer includes it.
//! Settings: `BENCH_DATABASE_URL` (default: a temp SQLite file; give an
//! empty database), `BENCH_SIZES` (default `250000,500000,1000000`
//! executions), `BENCH_REQUESTS` (default 20 per size), `BENCH_MISSES`
//! (default 5 per size), `BENCH_FILL` (`upload`, the default: the sizes
//! are reached by uploads; `sql`: by SQL, uploads spread over the last 14
//! days, see `test_results/fill.rs`).
//!
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench BENCH_FILL=sql \
//!         BENCH_SIZES=1000000,3000000,10000000 cargo bench --bench test_results --profile dev

#[path = "test_results/fill.rs"]
mod fill;

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Utc;
use cicd_dashboard::auth::token_hash;
use cicd_dashboard::config::ServeSettings;
use cicd_dashboard::startup::Application;
use flate2::Compression;
use flate2::write::GzEncoder;

const TESTS: usize = 50_000;
const TOKEN: &str = "cicd_bench_test_results_token";

fn env_text(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Peak resident set size of this process, from /proc/self/status.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// A Surefire-style report of `TESTS` tests in 500 classes; every 50th test
/// fails with a message and a short stack trace; durations vary with `seed`.
fn report(seed: usize) -> Vec<u8> {
    let mut xml = String::with_capacity(TESTS * 120);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for class in 0..500 {
        xml.push_str(&format!(
            "<testsuite name=\"com.example.module{}.Class{class}Test\" tests=\"100\">\n",
            class % 20
        ));
        for test in 0..TESTS / 500 {
            let n = class * 100 + test;
            let time = ((n * 7 + seed * 13) % 2000) as f64 / 1000.0;
            xml.push_str(&format!(
                "<testcase classname=\"com.example.module{}.Class{class}Test\" name=\"test{test}_behaves\" time=\"{time:.3}\"",
                class % 20
            ));
            if (n + seed).is_multiple_of(50) {
                xml.push_str(&format!(
                    "><failure message=\"expected:&lt;{n}&gt; but was:&lt;{}&gt;\" type=\"java.lang.AssertionError\">java.lang.AssertionError: expected\n\tat com.example.Class{class}Test.test{test}(Class{class}Test.java:{})\n\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n</failure></testcase>\n",
                    n + 1,
                    test + 10
                ));
            } else {
                xml.push_str("/>\n");
            }
        }
        xml.push_str("</testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml.into_bytes()
}

/// 10 tests of the big report's first class, the `seed`-th failing.
fn small_report(seed: usize) -> Vec<u8> {
    let mut xml = String::from("<testsuite name=\"com.example.module0.Class0Test\" tests=\"10\">\n");
    for test in 0..10 {
        let fails = if test == seed % 10 { "<failure message=\"boom\"/>" } else { "" };
        xml.push_str(&format!(
            "<testcase classname=\"com.example.module0.Class0Test\" name=\"test{test}_behaves\" time=\"0.{test}\">{fails}</testcase>\n"
        ));
    }
    xml.push_str("</testsuite>\n");
    xml.into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// `GET /api/insights/tests?window_days=7` on `server`: how long it took
/// and whether the answer was stale.
async fn insights(client: &reqwest::Client, server: &str) -> (Duration, bool) {
    let started = Instant::now();
    let url = format!("{server}/api/insights/tests?window_days=7");
    let response = client.get(url).bearer_auth(TOKEN).send().await.expect("insights sent");
    assert_eq!(response.status().as_u16(), 200);
    let answer: serde_json::Value = response.json().await.expect("insights read");
    (started.elapsed(), answer["stale"] == true)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sizes: Vec<usize> = env_text("BENCH_SIZES", "250000,500000,1000000")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let requests: usize = env_text("BENCH_REQUESTS", "20").parse().unwrap_or(20);
    let misses: usize = env_text("BENCH_MISSES", "5").parse().unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let mut settings = ServeSettings::new("127.0.0.1:0".parse().expect("addr"), &database_url);
    settings.api_rate_limit = 0;
    let app = Application::build(&settings).await.expect("server starts");
    app.store().tokens().create_token("bench", "write", &token_hash(TOKEN), Utc::now()).await.expect("token");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    // A second server on the same database whose readers always wait for
    // the recomputation (the behaviour without a budget), for comparison.
    settings.limits.test_insights_recompute_budget_ms = u64::MAX;
    settings.no_worker = true;
    let waiting = Application::build(&settings).await.expect("second server starts");
    let waiting_base = format!("http://{}", waiting.local_addr());
    tokio::spawn(waiting.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    println!(
        "database: {}",
        if database_url.starts_with("sqlite") { "SQLite (temp file)" } else { "PostgreSQL" }
    );

    let upload_to = |server: &str, run: usize, body: Vec<u8>| {
        let client = client.clone();
        let url = format!("{server}/api/test-results?repo=bench/monorepo&run_id={run}&job=test");
        async move {
            let response = client
                .post(url)
                .bearer_auth(TOKEN)
                .header("content-type", "application/xml")
                .header("content-encoding", "gzip")
                .body(body)
                .send()
                .await
                .expect("upload sent");
            assert_eq!(response.status().as_u16(), 201, "{}", response.text().await.unwrap_or_default());
        }
    };

    let upload = |run: usize, body: Vec<u8>| upload_to(&base, run, body);

    // (a) one 50 000-test report.
    let xml = report(0);
    let body = gzip(&xml);
    println!("report: {TESTS} tests, {} bytes of XML, {} bytes gzip", xml.len(), body.len());
    drop(xml);
    println!("peak memory before the upload: {}", peak_memory());
    let started = Instant::now();
    upload(0, body).await;
    println!("upload of {TESTS} tests (read + stored): {:.2} s", started.elapsed().as_secs_f64());
    println!("peak memory after the upload: {}", peak_memory());

    // (b) insights at growing sizes.
    let by_sql = env_text("BENCH_FILL", "upload") == "sql";
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database_url).await.expect("bench pool");
    let postgres = !database_url.starts_with("sqlite");
    let mut stored = TESTS;
    let mut run = 1;
    for size in sizes {
        let filling = Instant::now();
        while stored < size {
            if by_sql {
                fill::add_upload(&pool, postgres, run as i64, Utc::now().timestamp()).await;
            } else {
                upload(run, gzip(&report(run))).await;
            }
            run += 1;
            stored += TESTS;
        }
        if postgres {
            // The steady state autovacuum keeps: the roll-up rows' old versions
            // gone, statistics fresh.
            sqlx::query("VACUUM ANALYZE test_daily").execute(&pool).await.expect("vacuum");
            sqlx::query("ANALYZE").execute(&pool).await.expect("analyze");
        }
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM test_daily WHERE day >= $1")
            .bind((Utc::now().timestamp() - 7 * 86_400).div_euclid(86_400))
            .fetch_one(&pool)
            .await
            .expect("roll-up rows");
        println!(
            "filled to {stored} executions in {:.0} s; {rows} roll-up rows in the 7-day window",
            filling.elapsed().as_secs_f64()
        );
        let get = || insights(&client, &base);
        let (first, first_stale) = get().await;
        // The first answer is stored after it is sent.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            times.push(get().await.0);
        }
        times.sort();
        println!(
            "GET /api/insights/tests with {stored} executions: first {:.1} ms ({}); cached p50 {:.1} ms, \
             p99 {:.1} ms ({requests} requests)",
            first.as_secs_f64() * 1000.0,
            if first_stale {
                "the earlier size's answer, stale, recomputed in the background"
            } else {
                "computed"
            },
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
        for (server, how) in [(&base, "budget 100 ms"), (&waiting_base, "no budget: the reader recomputes")] {
            let get = || insights(&client, server);
            // This server's first read of it (it watches what it is asked).
            get().await;
            let mut missed = Vec::with_capacity(misses);
            let mut lags = Vec::with_capacity(misses);
            let mut stale = 0;
            for _ in 0..misses {
                // To this server, so the other one's background pass
                // stays out of the measurement.
                upload_to(server, run, gzip(&small_report(run))).await;
                let uploaded = Instant::now();
                run += 1;
                stored += 10;
                let (time, was_stale) = get().await;
                missed.push(time);
                stale += usize::from(was_stale);
                // Until the background recomputation has the upload.
                let mut current = !was_stale;
                while !current && uploaded.elapsed() < Duration::from_secs(120) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    current = !get().await.1;
                }
                lags.push(uploaded.elapsed());
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            missed.sort();
            lags.sort();
            if !missed.is_empty() {
                println!(
                    "GET /api/insights/tests right after an upload ({how}): p50 {:.1} ms, max {:.1} ms ({misses} uploads, \
                     {stale} answered stale); the upload in the answer after p50 {:.0} ms, max {:.0} ms",
                    percentile(&missed, 0.5),
                    percentile(&missed, 1.0),
                    percentile(&lags, 0.5),
                    percentile(&lags, 1.0)
                );
            }
        }
    }
}
