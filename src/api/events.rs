//! `GET /api/events`: a Server-Sent Events stream of committed changes —
//! `event: build` with the Build JSON of `/api/builds`, `event: job` with
//! the job JSON plus its `build_id` — and a comment heartbeat every 15 s.
//! A subscriber that falls behind gets `event: resync` (`{"missed": N}`) and
//! should re-read what it shows. Fed by the store's change events, so with
//! PostgreSQL a change stored through any replica reaches every replica.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::dto::{BuildJson, JobJson};
use crate::store::{ChangeEvent, Store};

/// The stream (see the module doc).
#[utoipa::path(get, path = "/api/events", tag = "builds",
    description = "Server-Sent Events: `build`, `job` and `resync` events for every committed change, heartbeats every 15 s.",
    responses((status = 200, content_type = "text/event-stream", body = String),
        (status = 401, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 403, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 429, body = super::problem::ProblemDoc, content_type = "application/problem+json")),
    security((), ("token" = [])))]
pub async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.store.subscribe();
    let stream = stream::unfold((receiver, state.store), |(mut receiver, store)| async move {
        loop {
            let event = match receiver.recv().await {
                Ok(change) => to_event(&store, change).await,
                Err(RecvError::Lagged(missed)) => {
                    Some(Event::default().event("resync").data(json!({ "missed": missed }).to_string()))
                }
                Err(RecvError::Closed) => return None,
            };
            if let Some(event) = event {
                return Some((Ok(event), (receiver, store)));
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn to_event(store: &Store, change: ChangeEvent) -> Option<Event> {
    match change {
        ChangeEvent::Build { id } => {
            let record = store.get_build(id).await.ok()??;
            Event::default().event("build").json_data(BuildJson::from(&record)).ok()
        }
        ChangeEvent::Job { id, build_id } => {
            let record = store.get_job(id).await.ok()??;
            let mut body = serde_json::to_value(JobJson::from(&record)).ok()?;
            body["build_id"] = build_id.into();
            Event::default().event("job").json_data(body).ok()
        }
    }
}
