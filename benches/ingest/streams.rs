//! `BENCH_STREAMS=N`: ingest with N open `/api/events` streams, each
//! reading every event, compared with ingest alone.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Opens `streams` event streams on `base`, runs `ingest` (answering
/// deliveries per second) while they read, and prints it beside `alone`.
pub async fn compare(base: &str, streams: usize, alone: f64, ingest: impl Future<Output = f64>) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    let events = Arc::new(AtomicUsize::new(0));
    let clock = Instant::now();
    // Milliseconds since `clock` of the latest event read by any stream.
    let latest = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::with_capacity(streams);
    for _ in 0..streams {
        let mut response = client.get(format!("{base}/api/events")).send().await.expect("stream opens");
        assert_eq!(response.status().as_u16(), 200, "stream status");
        let (events, latest) = (events.clone(), latest.clone());
        readers.push(tokio::spawn(async move {
            let mut carry = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                carry.push_str(&String::from_utf8_lossy(&chunk));
                let complete = carry.matches("\n\n").count();
                if let Some(end) = carry.rfind("\n\n") {
                    carry.drain(..end + 2);
                }
                events.fetch_add(complete, Ordering::Relaxed);
                latest.fetch_max(clock.elapsed().as_millis() as u64, Ordering::Relaxed);
            }
        }));
    }
    let with = ingest.await;
    let answered = clock.elapsed().as_millis() as u64;
    // Let the streams drain what is still under way, then close them.
    let mut seen = events.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = events.load(Ordering::Relaxed);
        if now == seen {
            break;
        }
        seen = now;
    }
    for reader in &readers {
        reader.abort();
    }
    println!(
        "with {streams} open /api/events streams: {with:.0} deliveries/s = {:.0} % of {alone:.0} without; \
         {seen} events read in all ({:.0} per stream), the last within {:.1} s after the last delivery was answered",
        100.0 * with / alone,
        seen as f64 / streams.max(1) as f64,
        latest.load(Ordering::Relaxed).saturating_sub(answered) as f64 / 1000.0
    );
}
