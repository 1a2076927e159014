//! `POST /api/builds/events`: the generic build API. Any CI reports its
//! runs and jobs as documented JSON events (`providers::generic`); they are
//! recorded and applied all or nothing (`ingest::events`).
//!
//! Who may post: a token with the `write` role, or the ingest token
//! (`--ingest-token`), as `Authorization: Bearer`. Answers: 200 with one
//! outcome per event (`applied` / `duplicate`); 400 for a body that is not
//! JSON of a known shape; 413 over 2 MiB; 422 listing every invalid field
//! of every event (nothing of the request is stored); 401/403 for the
//! token; 503 when the database is unavailable (nothing was stored).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::problem::{FieldProblem, Problem};
use super::responses::EventProblems;
use crate::ingest::events::ingest_events;
use crate::providers::generic::{EventsError, MAX_EVENTS, parse_events};

/// `POST /api/builds/events` behind the API rate limit; it authenticates
/// its callers itself (a write token or the ingest token).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new()
        .routes(routes!(post_events))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), super::auth::require_sender));
    super::limited(routes, &state.api_budget)
}

/// One event's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventAnswer {
    /// The event's position in the request (from 0).
    pub index: usize,
    pub idempotency_key: String,
    pub provider: &'static str,
    /// `run` or `job`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `applied` (committed) or `duplicate` (its key was recorded before
    /// for this provider; nothing changed).
    pub outcome: &'static str,
}

/// The answer: every event's outcome, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsAnswer {
    pub events: Vec<EventAnswer>,
    /// How many were applied.
    pub applied: usize,
    /// How many were duplicates.
    pub duplicate: usize,
}

/// Records run and job events of any CI (see the README's *Generic build
/// API*), all or nothing.
#[utoipa::path(post, path = "/api/builds/events", tag = "ingest",
    description = "Run and job events of any CI (Jenkins, Buildkite, CircleCI, Azure Pipelines, …): one event, \
        an array, or {\"events\": [...]}, at most 500. Each carries an idempotency key (a repeat is answered \
        `duplicate`). Same merge rules as webhooks, so events may arrive in any order. A 422 lists every \
        invalid field (`errors[].field` = `events[INDEX].FIELD`); nothing of such a request is stored. \
        Needs a write-role token or the ingest token.",
    request_body(content = Object, content_type = "application/json",
        description = "An event object, an array of them, or {\"events\": [...]} (see the README)"),
    responses((status = 200, body = EventsAnswer), EventProblems),
    security(("token" = [])))]
pub async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EventsAnswer>, Problem> {
    super::json_body::require_json(&headers)?;
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return Problem::new(
                status,
                "body-too-large",
                "Payload too large",
                "the body is over 2 MiB; send the events in several requests (at most 500 events each)",
            );
        }
        Problem::new(status, "invalid-body", "Bad request body", rejection.to_string())
    })?;
    let events = parse_events(&body).map_err(|err| match err {
        EventsError::Malformed(message) => Problem::bad_request("invalid-json", message),
        EventsError::Invalid(errors) => Problem::invalid_fields(
            format!(
                "{} invalid field(s); nothing of this request was stored (at most {MAX_EVENTS} events)",
                errors.len()
            ),
            errors.into_iter().map(|e| FieldProblem { field: e.field, message: e.message }).collect(),
        ),
    })?;
    let outcomes = ingest_events(&state.store, &events).await?;
    let mut answer = EventsAnswer { events: Vec::with_capacity(events.len()), applied: 0, duplicate: 0 };
    for (index, (event, outcome)) in events.iter().zip(outcomes).enumerate() {
        metrics::counter!("build_events_total", "provider" => event.provider.kind(), "outcome" => outcome.as_str())
            .increment(1);
        match outcome {
            crate::ingest::events::EventOutcome::Applied => answer.applied += 1,
            crate::ingest::events::EventOutcome::Duplicate => answer.duplicate += 1,
        }
        answer.events.push(EventAnswer {
            index,
            idempotency_key: event.key.clone(),
            provider: event.provider.kind(),
            kind: event.kind,
            outcome: outcome.as_str(),
        });
    }
    tracing::info!(applied = answer.applied, duplicate = answer.duplicate, "build events");
    Ok(Json(answer))
}
