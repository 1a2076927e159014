//! `GET /api/events`: a Server-Sent Events stream of committed changes —
//! `event: build` with the Build JSON of `/api/builds`, `event: job` with
//! the job JSON plus its `build_id`, `event: alert` with the alert JSON of
//! `/api/alerts` (when an alert is created, its delivery outcome recorded,
//! or it is acknowledged or resolved), `event: deployment` and `event:
//! incident` with `{"id": <row id>}` (a deployment or incident was created
//! or changed, from any source: webhooks, the generic API, `POST
//! /api/incidents`, the deployment poller; a client re-reads the DORA
//! figures it shows) — and a comment heartbeat every 15 s.
//! A subscriber that falls behind gets `event: resync` (`{"missed": N}`) and
//! should re-read what it shows. Fed by the store's change events, so with
//! PostgreSQL a change stored through any replica reaches every replica.
//!
//! Resume: every event carries `id: <Unix seconds when sent>`. A client that
//! reconnects with `Last-Event-ID: T` (browsers do so by themselves) first
//! gets the builds changed since `T − 5 s` (the margin absorbs notification
//! batching and replica clocks) and their jobs changed since then, then the
//! live stream; repeats are harmless (each event is a full snapshot). Alert,
//! deployment and incident changes are not replayed: a resuming client re-reads the alert history. A gap
//! longer than an hour or holding more than [`MAX_REPLAY`] builds is answered
//! with one `resync` (`{"missed": null}`) instead.
//!
//! Fan-out: one [`Hub`] task per server gathers the changes of 20 ms,
//! reads each changed row once and serializes it once, and every stream
//! sends those same bytes (one write per batch); a row changed several
//! times in a batch is sent once, as its latest state. The hub reads nothing
//! while no stream is open. A lagging stream's `resync` counts the lost
//! batches.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::alerts::AlertJson;
use super::dto::{BuildJson, JobJson};
use crate::auth::Role;
use crate::store::{BuildRecord, ChangeEvent, JobRecord, Store};

/// `GET /api/events` (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(events)), Role::Read, state)
}

/// Most builds replayed on resume.
pub const MAX_REPLAY: i64 = 1000;
/// Seconds replayed before the client's `Last-Event-ID`.
const RESUME_MARGIN: i64 = 5;
/// Longest gap replayed, seconds.
const MAX_GAP: i64 = 3600;
/// Quiet time after which a heartbeat comment is sent.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Messages (each one batch of events) kept for slow streams before they lag.
const CAPACITY: usize = 4096;
/// How long the hub gathers changes after the first before reading them:
/// a batch is one write per stream, and a row changed several times in it
/// is read and sent once.
const GATHER: Duration = Duration::from_millis(20);
/// Rows read at once by the hub.
const READS: usize = 8;
/// Most waiting events a stream sends in one write.
const WRITE_BATCH: usize = 64;

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
        let (stop_tx, stop) = oneshot::channel();
        tokio::spawn(fan_out(store.clone(), store.subscribe(), sender.clone(), stop));
        Hub { inner: Arc::new(HubInner { sender, _stop: stop_tx }) }
    }

    fn subscribe(&self) -> broadcast::Receiver<Bytes> {
        self.inner.sender.subscribe()
    }
}

/// The hub's task: gathers the changes of [`GATHER`] after the first,
/// reads each changed row once, and broadcasts their frames as one message.
async fn fan_out(
    store: Store,
    mut changes: broadcast::Receiver<ChangeEvent>,
    out: broadcast::Sender<Bytes>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        let first = tokio::select! {
            _ = &mut stop => return,
            first = changes.recv() => first,
        };
        let (mut batch, mut missed) = (Vec::new(), 0);
        match first {
            Ok(change) => batch.push(change),
            Err(RecvError::Lagged(lost)) => missed += lost,
            Err(RecvError::Closed) => return,
        }
        tokio::time::sleep(GATHER).await;
        loop {
            match changes.try_recv() {
                Ok(change) => batch.push(change),
                Err(broadcast::error::TryRecvError::Lagged(lost)) => missed += lost,
                Err(_) => break,
            }
        }
        if out.receiver_count() == 0 {
            continue;
        }
        let mut seen = HashSet::new();
        batch.retain(|change| seen.insert(key(*change)));
        let mut frames = BytesMut::new();
        if missed > 0 {
            frames.extend_from_slice(&resync(Some(missed)));
        }
        // Builds in one query per batch; jobs and alerts (rarer) one by one.
        let ids: Vec<i64> = batch
            .iter()
            .filter_map(|change| match change {
                ChangeEvent::Build { id } => Some(*id),
                _ => None,
            })
            .collect();
        let mut builds: HashMap<i64, BuildRecord> = match store.builds().get_builds(&ids).await {
            Ok(found) => found.into_iter().map(|build| (build.id, build)).collect(),
            Err(_) => HashMap::new(),
        };
        let mut encoded = stream::iter(batch)
            .map(|change| {
                let build = match change {
                    ChangeEvent::Build { id } => builds.remove(&id),
                    _ => None,
                };
                encode(&store, change, build)
            })
            .buffered(READS);
        while let Some(frame) = encoded.next().await {
            frames.extend_from_slice(&frame.unwrap_or_default());
        }
        if !frames.is_empty() {
            let _ = out.send(frames.freeze());
        }
    }
}

/// The stream (see the module doc).
#[utoipa::path(get, path = "/api/events", tag = "builds",
    description = "Server-Sent Events: `build`, `job`, `alert`, `deployment`, `incident` and `resync` events for every committed change, heartbeats every 15 s; resumes after `Last-Event-ID` (builds and jobs).",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received"),
        ("ticket" = Option<String>, Query, description = "A short-lived stream ticket from `POST /api/events/ticket`, instead of a bearer token (EventSource cannot send headers)")
    ),
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
        let first = match tokio::time::timeout(HEARTBEAT, receiver.recv()).await {
            Err(_) => return Some((Ok::<_, Infallible>(Bytes::from_static(b":\n\n")), receiver)),
            Ok(Ok(bytes)) => bytes,
            Ok(Err(RecvError::Lagged(missed))) => resync(Some(missed)),
            Ok(Err(RecvError::Closed)) => return None,
        };
        // Events already waiting go out in the same write.
        let mut more = Vec::new();
        while more.len() < WRITE_BATCH {
            match receiver.try_recv() {
                Ok(bytes) => more.push(bytes),
                Err(broadcast::error::TryRecvError::Lagged(missed)) => more.push(resync(Some(missed))),
                Err(_) => break,
            }
        }
        if more.is_empty() {
            return Some((Ok(first), receiver));
        }
        let mut joined = BytesMut::with_capacity(first.len() + more.iter().map(Bytes::len).sum::<usize>());
        joined.extend_from_slice(&first);
        for bytes in &more {
            joined.extend_from_slice(bytes);
        }
        Some((Ok(joined.freeze()), receiver))
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
    match store.builds().changed_since(last - RESUME_MARGIN, MAX_REPLAY).await {
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
        ChangeEvent::Deployment { id } => (3, id),
        ChangeEvent::Incident { id } => (4, id),
    }
}

/// The frame of `change`; a build already read is passed as `build`.
async fn encode(store: &Store, change: ChangeEvent, build: Option<BuildRecord>) -> Option<Bytes> {
    match change {
        ChangeEvent::Build { .. } => build_event(&build?),
        ChangeEvent::Job { id, .. } => job_event(&store.builds().get_job(id).await.ok()??),
        ChangeEvent::Alert { id } => {
            frame("alert", &AlertJson::from(store.alerts().get_alert(id).await.ok()??))
        }
        ChangeEvent::Deployment { id } => frame("deployment", &json!({ "id": id })),
        ChangeEvent::Incident { id } => frame("incident", &json!({ "id": id })),
    }
}
