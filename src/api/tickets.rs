//! `POST /api/events/ticket`: a short-lived ticket for the event stream. A
//! browser's `EventSource` cannot send `Authorization`, so when reads need a
//! token the page trades its token for a ticket (Bearer-authenticated) and
//! opens `/api/events?ticket=…`; the long-lived token never goes in a URL.
//! Tickets are 256 random bits, stored hashed, valid for
//! [`TICKET_SECONDS`], usable only on `/api/events` (reconnects included).

use axum::extract::State;
use axum::{Extension, Json};
use chrono::Utc;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::problem::Problem;
use super::responses::ReadProblems;
use crate::auth::Role;
use crate::auth::{Caller, generate_token, token_hash};
use crate::domain::time::{format_timestamp, from_unix};

/// `POST /api/events/ticket` (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(issue)), Role::Read, state)
}

/// How long a ticket opens the stream, seconds.
pub const TICKET_SECONDS: i64 = 300;

/// `{"ticket", "expires_at"}` (RFC 3339 UTC).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketAnswer {
    pub ticket: String,
    pub expires_at: String,
}

/// Issues a ticket for the caller's token (its name and role).
#[utoipa::path(post, path = "/api/events/ticket", tag = "builds",
    description = "A short-lived ticket for `/api/events?ticket=…` (EventSource cannot send Authorization).",
    responses((status = 200, body = TicketAnswer), ReadProblems),
    security((), ("token" = [])))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<TicketAnswer>, Problem> {
    let caller = caller.map(|Extension(c)| c).unwrap_or(Caller { name: "anonymous".into(), role: None });
    let ticket = generate_token().map_err(|_| {
        Problem::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "no-randomness",
            "Service unavailable",
            "no random source",
        )
    })?;
    let now = Utc::now().timestamp();
    let expires_at = now + TICKET_SECONDS;
    let role = caller.role.map_or("read", |r| r.as_str());
    state
        .store
        .tokens()
        .create_stream_ticket(&token_hash(&ticket), &caller.name, role, expires_at, now)
        .await?;
    Ok(Json(TicketAnswer {
        ticket,
        expires_at: from_unix(expires_at).map(format_timestamp).unwrap_or_default(),
    }))
}
