//! Change events: after a delivery's change is committed, every subscriber
//! on every replica hears which build (and job) changed.
//!
//! SQLite (one process owns the file): an in-process broadcast, published
//! after the commit. PostgreSQL (several replicas): `pg_notify` inside the
//! delivery's transaction — PostgreSQL delivers it only if and when the
//! transaction commits — and a `LISTEN` task in each replica forwards what
//! it hears into that replica's broadcast, its own writes included.
//!
//! Subscribers that fall behind lose the oldest events
//! (`RecvError::Lagged`) and should re-read what they show.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use super::StoreError;

/// The PostgreSQL channel change events travel on.
pub const CHANNEL: &str = "cicd_changes";

/// Events kept for slow subscribers before they lag.
const CAPACITY: usize = 4096;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeEvent {
    /// A build (run attempt) row was created or changed.
    Build { id: i64 },
    /// A job row was created or changed; `build_id` is its attempt.
    Job { id: i64, build_id: i64 },
}

/// The per-process end of the event stream.
pub(super) fn channel() -> broadcast::Sender<ChangeEvent> {
    broadcast::channel(CAPACITY).0
}

/// Queues `events` for delivery at commit (PostgreSQL `pg_notify`).
pub(super) async fn notify_at_commit(
    conn: &mut AnyConnection,
    events: &[ChangeEvent],
) -> Result<(), StoreError> {
    for event in events {
        let payload = serde_json::to_string(event).unwrap_or_default();
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Forwards notifications from PostgreSQL into `sender` for as long as the
/// process runs, reconnecting after errors. Resolves once the first `LISTEN`
/// is in place (or after 5 s, with a warning), so that nothing committed
/// after start-up is missed.
pub(super) async fn start_listener(url: String, sender: broadcast::Sender<ChangeEvent>) {
    let (ready, listening) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut ready = Some(ready);
        let mut backoff = Duration::from_millis(200);
        loop {
            match listen(&url, &sender, &mut ready).await {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(error = %err, "change-event listener lost PostgreSQL; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
    if tokio::time::timeout(Duration::from_secs(5), listening).await.is_err() {
        tracing::warn!(
            "change-event listener not ready after 5 s; continuing, events may be missed until it is"
        );
    }
}

async fn listen(
    url: &str,
    sender: &broadcast::Sender<ChangeEvent>,
    ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    if let Some(ready) = ready.take() {
        let _ = ready.send(());
    }
    loop {
        let notification = listener.recv().await?;
        match serde_json::from_str::<ChangeEvent>(notification.payload()) {
            Ok(event) => {
                let _ = sender.send(event);
            }
            Err(err) => tracing::warn!(error = %err, "ignoring a malformed change event"),
        }
    }
}
