//! The HTTP/1.1 accept loop (hyper): at most `max_connections` client
//! connections at once, each closed when it takes longer than the header
//! timeout to send a request's headers or stays idle that long between
//! requests (hyper counts the wait for the next request's headers from the
//! end of the previous answer). At the limit the loop stops accepting, so new
//! connections wait in the kernel's listen queue (a client's connect
//! succeeds; its request is read once a slot frees, as timeouts close silent
//! or slow connections) and a warning is logged at most every 10 s, as for
//! connections closed by the header timeout. Answers in progress finish on
//! shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// What the loop bounds.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most connections open at once (at least 1).
    pub max_connections: usize,
    /// Longest wait for a request's headers, and longest idle keep-alive.
    pub header_read_timeout: Duration,
}

/// Least time between two warnings about the same limit.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// open connections finish their answers.
///
/// Errors: none so far (accept errors are logged and retried).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let mut full_warned: Option<Instant> = None;
    let mut error_warned: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if due(&mut full_warned) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: new connections wait until one closes (--max-connections)"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    if !is_per_connection(&err) {
                        if due(&mut error_warned) {
                            tracing::warn!(error = %err, "accepting connections failed (out of file descriptors?); retrying");
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                if err.is_timeout() && due_shared(&TIMEOUT_WARNED) {
                    tracing::warn!(%peer, "closed a connection that sent no complete request headers in time \
                        (--header-read-timeout); further ones are logged at most every 10 s");
                } else {
                    tracing::debug!(error = %err, %peer, "connection ended");
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Whether a warning marked by `last` may be logged now (and marks it).
fn due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|at| now.duration_since(at) < WARN_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

/// When a header timeout was last logged (seconds since [`START`]).
static TIMEOUT_WARNED: AtomicU64 = AtomicU64::new(0);
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

/// [`due`] for a warning shared by every connection's task.
fn due_shared(last: &AtomicU64) -> bool {
    // Offset by one period so the first warning is always due.
    let now = START.elapsed().as_secs() + WARN_EVERY.as_secs();
    let before = last.load(Ordering::Relaxed);
    now >= before + WARN_EVERY.as_secs()
        && last.compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}

/// Errors that concern one connection only (the next accept may succeed).
fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}
