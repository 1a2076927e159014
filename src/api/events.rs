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

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::alerts::AlertJson;
use super::dto::{BuildJson, JobJson};
use crate::auth::Role;
use crate::store::alerts::AlertRecord;
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

/// The stream (see the module doc).
#[utoipa::path(get, path = "/api/events", tag = "builds",
    description = "Server-Sent Events: `build`, `job`, `alert` and `resync` events for every committed change, heartbeats every 15 s; resumes after `Last-Event-ID` (builds and jobs).",
    params(("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received")),
    responses((status = 200, content_type = "text/event-stream", body = String), (status = 401, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 403, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 429, body = super::problem::ProblemDoc, content_type = "application/problem+json")),
    security((), ("token" = [])))]
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.store.subscribe();
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|text| text.trim().parse::<i64>().ok());
    let replayed = match last_id {
        Some(last) => replay(&state.store, last).await,
        None => Vec::new(),
    };
    let live = stream::unfold((receiver, state.store), |(mut receiver, store)| async move {
        loop {
            let event = match receiver.recv().await {
                Ok(change) => to_event(&store, change).await,
                Err(RecvError::Lagged(missed)) => Some(resync(Some(missed))),
                Err(RecvError::Closed) => return None,
            };
            if let Some(event) = event {
                return Some((Ok(event), (receiver, store)));
            }
        }
    });
    Sse::new(stream::iter(replayed.into_iter().map(Ok)).chain(live))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn stamped(event: Event) -> Event {
    event.id(Utc::now().timestamp().to_string())
}

fn resync(missed: Option<u64>) -> Event {
    stamped(Event::default().event("resync").data(json!({ "missed": missed }).to_string()))
}

fn build_event(record: &BuildRecord) -> Option<Event> {
    Event::default().event("build").json_data(BuildJson::from(record)).ok().map(stamped)
}

fn job_event(record: &JobRecord) -> Option<Event> {
    let mut body = serde_json::to_value(JobJson::from(record)).ok()?;
    body["build_id"] = record.build_id.into();
    Event::default().event("job").json_data(body).ok().map(stamped)
}

fn alert_event(record: AlertRecord) -> Option<Event> {
    Event::default().event("alert").json_data(AlertJson::from(record)).ok().map(stamped)
}

/// The events a client resuming after `last` (Unix seconds) missed.
async fn replay(store: &Store, last: i64) -> Vec<Event> {
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

async fn to_event(store: &Store, change: ChangeEvent) -> Option<Event> {
    match change {
        ChangeEvent::Build { id } => build_event(&store.get_build(id).await.ok()??),
        ChangeEvent::Job { id, .. } => job_event(&store.get_job(id).await.ok()??),
        ChangeEvent::Alert { id } => alert_event(store.get_alert(id).await.ok()??),
    }
}
