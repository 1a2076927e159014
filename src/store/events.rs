//! Change events: after a change is committed, every subscriber on every
//! replica hears which build, job, alert, deployment or incident changed.
//!
//! SQLite (one process owns the file): an in-process broadcast, published
//! after the commit. PostgreSQL (several replicas): after each commit the
//! events go to a notifier task that sends them in batches with `pg_notify`
//! (a JSON array per notification), and a `LISTEN` task in each replica
//! forwards what it hears into that replica's broadcast, its own writes
//! included. Notifying inside the ingest transaction would be atomic, but
//! PostgreSQL serialises the commits of all notifying transactions, which
//! cut ingest to one fsync at a time (~340 deliveries/s here); batching
//! after commit keeps commits parallel. The cost: a process that dies
//! between commit and notify loses those events (an open page re-reads what
//! it shows every 5 minutes).
//!
//! Subscribers that fall behind lose the oldest events
//! (`RecvError::Lagged`) and should re-read what they show.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, mpsc};

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
    /// An alert was created, or its delivery outcome, acknowledgement or
    /// resolution changed.
    Alert { id: i64 },
    /// A deployment row was created or changed (its DORA facts derived
    /// again with it).
    Deployment { id: i64 },
    /// An incident row was created or changed.
    Incident { id: i64 },
}

/// Where a process announces committed changes and its subscribers hear
/// them: an in-process broadcast (SQLite), or the `pg_notify` notifier whose
/// announcements every replica's listener feeds into its broadcast
/// (PostgreSQL).
#[derive(Debug, Clone)]
pub(super) struct Announcer {
    local: broadcast::Sender<ChangeEvent>,
    notifier: Option<mpsc::UnboundedSender<ChangeEvent>>,
}

impl Announcer {
    /// In-process only (SQLite: one process owns the file).
    pub(super) fn local() -> Announcer {
        Announcer { local: broadcast::channel(CAPACITY).0, notifier: None }
    }

    /// Across replicas through PostgreSQL at `url` (listener) and `pool`
    /// (notifier).
    pub(super) async fn postgres(url: &str, pool: AnyPool) -> Announcer {
        let local = broadcast::channel(CAPACITY).0;
        start_listener(url.to_owned(), local.clone()).await;
        Announcer { local, notifier: Some(start_notifier(pool)) }
    }

    /// Announces the events of a committed transaction.
    pub(super) fn publish(&self, events: &[ChangeEvent]) {
        for event in events {
            match &self.notifier {
                Some(notifier) => {
                    let _ = notifier.send(*event);
                }
                None => {
                    let _ = self.local.send(*event);
                }
            }
        }
    }

    /// Every event announced from now on.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.local.subscribe()
    }
}

/// Largest notification payload sent (PostgreSQL's limit is 8 000 bytes).
const MAX_PAYLOAD: usize = 7000;

/// Starts the notifier: events sent to the answered channel after their
/// commit are announced with `pg_notify` in batches.
fn start_notifier(pool: AnyPool) -> mpsc::UnboundedSender<ChangeEvent> {
    let (sender, mut receiver) = mpsc::unbounded_channel::<ChangeEvent>();
    tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(first) = receiver.recv().await {
            batch.push(first);
            while let Ok(more) = receiver.try_recv() {
                batch.push(more);
            }
            for payload in payloads(&batch) {
                if let Err(err) =
                    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&pool).await
                {
                    tracing::warn!(error = %err, "could not announce changes to other replicas");
                }
            }
            batch.clear();
        }
    });
    sender
}

/// JSON arrays of events, each under [`MAX_PAYLOAD`] bytes.
fn payloads(events: &[ChangeEvent]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = 2;
    for event in events {
        let text = serde_json::to_string(event).unwrap_or_default();
        if size + text.len() + 1 > MAX_PAYLOAD && !current.is_empty() {
            out.push(format!("[{}]", current.join(",")));
            current.clear();
            size = 2;
        }
        size += text.len() + 1;
        current.push(text);
    }
    if !current.is_empty() {
        out.push(format!("[{}]", current.join(",")));
    }
    out
}

/// Forwards notifications from PostgreSQL into `sender` for as long as the
/// process runs, reconnecting after errors. Resolves once the first `LISTEN`
/// is in place (or after 5 s, with a warning), so that nothing committed
/// after start-up is missed.
async fn start_listener(url: String, sender: broadcast::Sender<ChangeEvent>) {
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
        match serde_json::from_str::<Vec<ChangeEvent>>(notification.payload()) {
            Ok(events) => {
                for event in events {
                    let _ = sender.send(event);
                }
            }
            Err(err) => tracing::warn!(error = %err, "ignoring a malformed change event"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_json_arrays_under_the_limit() {
        let events: Vec<ChangeEvent> =
            (0..2000).map(|i| ChangeEvent::Job { id: i, build_id: i * 1_000_000 }).collect();
        let texts = payloads(&events);
        assert!(texts.len() > 1);
        let mut back = Vec::new();
        for text in &texts {
            assert!(text.len() <= MAX_PAYLOAD);
            back.extend(serde_json::from_str::<Vec<ChangeEvent>>(text).expect("json"));
        }
        assert_eq!(back, events);
        assert!(payloads(&[]).is_empty());
    }
}
