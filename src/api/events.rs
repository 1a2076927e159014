//! `GET /api/events`: a Server-Sent Events stream of committed changes —
//! `event: build` with the Build JSON of `/api/builds`, `event: job` with
//! the job JSON plus its `build_id`, `event: alert` with the alert JSON of
//! `/api/alerts` (when an alert is created, its delivery outcome recorded,
//! or it is acknowledged or resolved) — and a comment heartbeat every 15 s.
//! A subscriber that falls behind gets `event: resync` (`{"missed": N}`) and
//! should re-read what it shows. Fed by the store's change events, so with
//! PostgreSQL a change stored through any replica reaches every replica.
//!
//! Resume: every event carries `id: <Unix seconds when sent>`. A client that
//! reconnects with `Last-Event-ID: T` (browsers do so by themselves) first
//! gets the builds changed since `T − 5 s` (the margin absorbs notification
//! batching and replica clocks) and their jobs changed since then, then the
//! live stream; repeats are harmless (each event is a full snapshot). Alert
//! changes are not replayed: a resuming client re-reads the alert history. A gap
//! longer than an hour or holding more than [`MAX_REPLAY`] builds is answered
//! with one `resync` (`{"missed": null}`) instead.
//!
//! Fan-out: one [`Hub`] task per server reads each change once (changes
//! that arrive together are read once per row) and serializes it once; every
//! stream sends those same bytes. The hub reads nothing while no stream is
//! open.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot};

use super::AppState;
use super::alerts::AlertJson;
use super::dto::{BuildJson, JobJson};
use crate::store::{BuildRecord, ChangeEvent, JobRecord, Store};

/// Most builds replayed on resume.
pub const MAX_REPLAY: i64 = 1000;
/// Seconds replayed before the client's `Last-Event-ID`.
const RESUME_MARGIN: i64 = 5;
/// Longest gap replayed, seconds.
const MAX_GAP: i64 = 3600;
/// Quiet time after which a heartbeat comment is sent.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Serialized events kept for slow streams before they lag.
const CAPACITY: usize = 4096;
/// Most changes read in one batch.
const BATCH: usize = 256;

/// The shared reader of change events (see the module doc); its task ends
/// when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[derive(Debug)]
struct HubInner {
    sender: broadcast::Sender<Bytes>,
    _stop: oneshot::Sender<()>,
}

impl Hub {
    /// Starts the hub's task on `store`'s change events.
    pub fn start(store: Store) -> Hub {
        let (sender, _) = broadcast::channel(CAPACITY);
        let (stop_tx, mut stop) = oneshot::channel();
        let out = sender.clone();
        let mut changes = store.subscribe();
        tokio::spawn(async move {
            loop {
                let first = tokio::select! {
                    _ = &mut stop => return,
                    first = changes.recv() => first,
                };
                let mut batch = Vec::new();
                match first {
                    Ok(change) => batch.push(change),
                    Err(RecvError::Lagged(missed)) => {
                        let _ = out.send(resync(Some(missed)));
                    }
                    Err(RecvError::Closed) => return,
                }
                while batch.len() < BATCH
                    && let Ok(change) = changes.try_recv()
                {
                    batch.push(change);
                }
                if out.receiver_count() == 0 {
                    continue;
                }
                let mut seen = HashSet::new();
                for change in batch {
                    if seen.insert(key(change))
                        && let Some(bytes) = encode(&store, change).await
                    {
                        let _ = out.send(bytes);
                    }
                }
            }
        });
        Hub { inner: Arc::new(HubInner { sender, _stop: stop_tx }) }
    }

    fn subscribe(&self) -> broadcast::Receiver<Bytes> {
        self.inner.sender.subscribe()
    }
}

/// The stream (see the module doc).
#[utoipa::path(get, path = "/api/events", tag = "builds",
    description = "Server-Sent Events: `build`, `job`, `alert` and `resync` events for every committed change, heartbeats every 15 s; resumes after `Last-Event-ID` (builds and jobs).",
    params(("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received")),
    responses((status = 200, content_type = "text/event-stream", body = String), (status = 401, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 403, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 429, body = super::problem::ProblemDoc, content_type = "application/problem+json")),
    security((), ("token" = [])))]
pub async fn events(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let receiver = state.events.subscribe();
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|text| text.trim().parse::<i64>().ok());
    let replayed = match last_id {
        Some(last) => replay(&state.store, last).await,
        None => Vec::new(),
    };
    let live = stream::unfold(receiver, |mut receiver| async move {
        let bytes = match tokio::time::timeout(HEARTBEAT, receiver.recv()).await {
            Err(_) => Bytes::from_static(b":\n\n"),
            Ok(Ok(bytes)) => bytes,
            Ok(Err(RecvError::Lagged(missed))) => resync(Some(missed)),
            Ok(Err(RecvError::Closed)) => return None,
        };
        Some((Ok::<_, Infallible>(bytes), receiver))
    });
    let body = Body::from_stream(stream::iter(replayed.into_iter().map(Ok)).chain(live));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// One event as sent: name, JSON data, and `id` = Unix seconds now.
fn frame(name: &str, data: &impl Serialize) -> Option<Bytes> {
    let data = serde_json::to_string(data).ok()?;
    Some(Bytes::from(format!("event: {name}\ndata: {data}\nid: {}\n\n", Utc::now().timestamp())))
}

fn resync(missed: Option<u64>) -> Bytes {
    frame("resync", &json!({ "missed": missed })).unwrap_or_default()
}

fn build_event(record: &BuildRecord) -> Option<Bytes> {
    frame("build", &BuildJson::from(record))
}

fn job_event(record: &JobRecord) -> Option<Bytes> {
    let mut body = serde_json::to_value(JobJson::from(record)).ok()?;
    body["build_id"] = record.build_id.into();
    frame("job", &body)
}

/// The events a client resuming after `last` (Unix seconds) missed.
async fn replay(store: &Store, last: i64) -> Vec<Bytes> {
    if Utc::now().timestamp() - last > MAX_GAP {
        return vec![resync(None)];
    }
    match store.changed_since(last - RESUME_MARGIN, MAX_REPLAY).await {
        Ok(changed) if !changed.truncated => changed
            .builds
            .iter()
            .filter_map(build_event)
            .chain(changed.jobs.iter().filter_map(job_event))
            .collect(),
        // Too much to replay, or the database failed: re-read everything.
        _ => vec![resync(None)],
    }
}

/// What a change is about, to read each row once per batch.
fn key(change: ChangeEvent) -> (u8, i64) {
    match change {
        ChangeEvent::Build { id } => (0, id),
        ChangeEvent::Job { id, .. } => (1, id),
        ChangeEvent::Alert { id } => (2, id),
    }
}

async fn encode(store: &Store, change: ChangeEvent) -> Option<Bytes> {
    match change {
        ChangeEvent::Build { id } => build_event(&store.get_build(id).await.ok()??),
        ChangeEvent::Job { id, .. } => job_event(&store.get_job(id).await.ok()??),
        ChangeEvent::Alert { id } => frame("alert", &AlertJson::from(store.get_alert(id).await.ok()??)),
    }
}
