//! What the HTTP benchmarks share: settings from the environment, a
//! server on a free port, and p50/p99 of sequential GET requests to it.

use std::path::Path;
use std::time::{Duration, Instant};

use cicd_dashboard::config::ServeSettings;
use cicd_dashboard::startup::Application;

/// Starts the server (no rate limit, no background worker) on
/// `BENCH_DATABASE_URL`, else a SQLite file in `dir`; answers the database
/// URL and the server's base URL.
pub async fn start_server(dir: &Path) -> (String, String) {
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
    let mut settings = ServeSettings::new("127.0.0.1:0".parse().expect("addr"), &database_url);
    settings.api_rate_limit = 0;
    settings.no_worker = true;
    let app = Application::build(&settings).await.expect("server starts");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    (database_url, base)
}

/// `name` from the environment as a number, else `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The nearest-rank `p` quantile of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// p50 and p99 of `requests` sequential GETs of `url` after `warm_ups`
/// unmeasured ones; a non-2xx answer stops the benchmark.
pub async fn latency(
    client: &reqwest::Client,
    url: &str,
    warm_ups: usize,
    requests: usize,
) -> (Duration, Duration) {
    for _ in 0..warm_ups {
        client.get(url).send().await.expect("warm-up").bytes().await.expect("body");
    }
    let mut samples = Vec::with_capacity(requests);
    for _ in 0..requests {
        let start = Instant::now();
        let response = client.get(url).send().await.expect("request");
        assert!(response.status().is_success(), "{url}: {}", response.status());
        response.bytes().await.expect("body");
        samples.push(start.elapsed());
    }
    samples.sort();
    (percentile(&samples, 0.50), percentile(&samples, 0.99))
}
