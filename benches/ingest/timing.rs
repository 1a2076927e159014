//! Request latency: p50 and p99 of sequential requests (after a warm-up).

use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub async fn latency(client: &reqwest::Client, url: &str, requests: usize) -> (Duration, Duration) {
    latency_after(client, url, requests, 10).await
}

/// [`latency`] after `warm_ups` unmeasured requests.
pub async fn latency_after(
    client: &reqwest::Client,
    url: &str,
    requests: usize,
    warm_ups: usize,
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
