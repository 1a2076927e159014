//! `BENCH_STREAMS=N`: ingest with N open `/api/events` streams, each
//! reading every event, compared with ingest alone.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens `streams` event streams on `base`, runs `ingest` (answering
/// deliveries per second) while they read, and prints it beside `alone`.
pub async fn compare(base: &str, streams: usize, alone: f64, ingest: impl Future<Output = f64>) {
    let addr = base.trim_start_matches("http://").to_owned();
    let events = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::with_capacity(streams);
    for _ in 0..streams {
        // Plain sockets with large reads: the figure is the server's work,
        // not an HTTP client's.
        let mut stream = TcpStream::connect(&addr).await.expect("stream opens");
        stream
            .write_all(format!("GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .expect("request");
        let events = events.clone();
        readers.push(tokio::spawn(async move {
            let mut buffer = vec![0u8; 256 * 1024];
            // Events end with a blank line ("\n\n"); one may span two reads.
            let mut previous = 0u8;
            while let Ok(read) = stream.read(&mut buffer).await {
                if read == 0 {
                    break;
                }
                let mut complete = 0;
                for &byte in &buffer[..read] {
                    complete += usize::from(byte == b'\n' && previous == b'\n');
                    previous = byte;
                }
                events.fetch_add(complete, Ordering::Relaxed);
            }
        }));
    }
    let with = ingest.await;
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
         {seen} events read in all ({:.0} per stream; a row changed several times within 20 ms is sent once)",
        100.0 * with / alone,
        seen as f64 / streams.max(1) as f64,
    );
}
