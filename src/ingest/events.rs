//! The generic build API's use case: a request's valid events in, one
//! committed outcome per event out, all or nothing. Each event is recorded
//! like a webhook delivery (provider, idempotency key as its GUID, `run` or
//! `job` as its event name, the event's JSON as its body), so a repeated
//! key is a `duplicate` and the record can be replayed; its change goes
//! through the same write path and merge rules as a webhook's.
//!
//! Parsing is `providers::generic`'s, storage the store's, HTTP the API's.

use std::collections::HashSet;

use bytes::Bytes;
use chrono::Utc;

use crate::providers::generic::BuildEvent;
use crate::store::{DeliveryOutcome, DeliveryRecord, DeliveryWrite, Recorded, Store, StoreError};

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// Its change was committed.
    Applied,
    /// Its idempotency key was recorded before (or earlier in the same
    /// request) for its provider: nothing changed.
    Duplicate,
}

impl EventOutcome {
    /// The word answered per event.
    pub fn as_str(self) -> &'static str {
        match self {
            EventOutcome::Applied => "applied",
            EventOutcome::Duplicate => "duplicate",
        }
    }
}

/// Records and applies `events` in one transaction; answers their outcomes
/// in order. An event whose (provider, key) appeared earlier in `events` is
/// a duplicate of that one and is not written again.
///
/// Errors: the store's (503 when the database is unavailable); then
/// nothing of the request was committed.
pub async fn ingest_events(store: &Store, events: &[BuildEvent]) -> Result<Vec<EventOutcome>, StoreError> {
    let received_at = Utc::now();
    let mut seen = HashSet::new();
    let mut first = Vec::with_capacity(events.len());
    let mut writes = Vec::new();
    for event in events {
        let is_first = seen.insert((event.provider, event.key.as_str()));
        first.push(is_first);
        if is_first {
            writes.push(DeliveryWrite {
                delivery: DeliveryRecord {
                    provider: event.provider,
                    guid: event.key.clone(),
                    event: event.kind.to_owned(),
                    action: None,
                    received_at,
                    body: Bytes::from(serde_json::to_vec(&event.raw).unwrap_or_default()),
                },
                outcome: DeliveryOutcome::Stored,
                error: None,
                change: Some(event.change.clone()),
            });
        }
    }
    let mut recorded = store.deliveries().record_all(&writes).await?.into_iter();
    Ok(first
        .into_iter()
        .map(|is_first| match is_first.then(|| recorded.next()).flatten() {
            Some(Recorded::New) => EventOutcome::Applied,
            _ => EventOutcome::Duplicate,
        })
        .collect())
}
