//! `POST /api/webhook/github-actions`: authenticate, check, ingest.
//!
//! Order of checks: body size (413) → authentication (401; 503 when no
//! secret or token is configured at all) → content type (415) → delivery
//! headers (400) → payload (400) → store (503 when the database is down, so
//! GitHub shows the delivery as failed and it can be redelivered).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Bearer, authorize, bearer};
use super::problem::Problem;
use super::responses::DeliveryProblems;
use super::{AppState, IngestAuth};
use crate::auth::Role;
use crate::ingest::service::{Delivery, Outcome, ingest};
use crate::providers::github::GitHubWebhooks;
use crate::providers::github::webhook::{KNOWN_EVENTS, event_header};
use crate::providers::{HeaderError, WebhookProvider};

/// `POST /api/webhook/github-actions`: authenticates its deliveries itself,
/// under the webhook budget and the body limit.
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new().routes(routes!(github_actions)).layer(body_limit());
    super::limited(routes, &state.webhook_budget)
}

/// Largest accepted body: 25 MiB, GitHub's own cap on webhook payloads.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// The body-size layer for this route.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_BODY_BYTES)
}

/// `/api/webhook/github-actions` answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookAnswer {
    /// `X-GitHub-Delivery`.
    pub delivery: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// `stored`, `duplicate` or `ignored`.
    pub outcome: String,
}

/// Answers 202 (200 for `ping`) with `{"delivery", "event", "outcome"}`.
#[utoipa::path(post, path = "/api/webhook/github-actions", tag = "ingest",
    description = "GitHub `workflow_run` / `workflow_job` deliveries, signed with `X-Hub-Signature-256` \
        (or sent with a bearer ingest token / write-role token). Deduplicated by `X-GitHub-Delivery`.",
    params(
        ("X-GitHub-Event" = String, Header, description = "Event name, e.g. workflow_run"),
        ("X-GitHub-Delivery" = String, Header, description = "Unique delivery id (dedupe key)"),
        ("X-Hub-Signature-256" = Option<String>, Header, description = "sha256=HMAC of the raw body"),
    ),
    request_body(content = Object, content_type = "application/json", description = "The webhook payload"),
    responses((status = 200, body = WebhookAnswer, description = "ping"), (status = 202, body = WebhookAnswer), DeliveryProblems),
    security((), ("token" = [])))]
pub async fn github_actions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let started = std::time::Instant::now();
    let event = event_label(event_header(&headers));
    let result = accept(&state, &GitHubWebhooks, &headers, body).await;
    let outcome = match &result {
        Ok((_, outcome)) => outcome.as_str(),
        Err(problem) => problem.slug,
    };
    metrics::counter!("webhook_deliveries_total", "event" => event, "outcome" => outcome).increment(1);
    if result.is_ok() {
        metrics::histogram!("webhook_ingest_seconds").record(started.elapsed().as_secs_f64());
    }
    result.map(|(response, _)| response)
}

fn event_label(event: Option<&str>) -> &'static str {
    match event {
        None => "none",
        Some(event) => KNOWN_EVENTS.iter().find(|known| **known == event).copied().unwrap_or("other"),
    }
}

async fn accept(
    state: &AppState,
    provider: &dyn WebhookProvider,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Response, Outcome), Problem> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                format!("the body exceeds {MAX_BODY_BYTES} bytes (25 MiB)"),
            )
        } else {
            Problem::bad_request("unreadable-body", rejection.body_text())
        }
    })?;
    authenticate(state, provider, headers, &body).await?;
    check_content_type(headers)?;
    let named = provider.delivery_headers(headers).map_err(|err| {
        let slug = match err {
            HeaderError::Missing { .. } => "missing-header",
            HeaderError::Invalid { .. } => "invalid-header",
        };
        Problem::bad_request(slug, err.to_string())
    })?;
    let (guid, event) = (named.guid.as_str(), named.event.as_str());
    let delivery = Delivery { guid: guid.to_owned(), event: event.to_owned(), body: body.clone() };
    let outcome = ingest(&state.store, provider, delivery).await?;
    tracing::info!(delivery.guid = guid, delivery.event = event, outcome = ?outcome, "webhook delivery");
    let status = if event == "ping" { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((
        (status, Json(json!({ "delivery": guid, "event": event, "outcome": outcome.as_str() })))
            .into_response(),
        outcome,
    ))
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// Constant-time-enough comparison of bearer tokens: compares SHA-256
/// digests, so timing reveals nothing about the token's characters.
fn same_token(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

/// A delivery is accepted with a valid `X-Hub-Signature-256`, or with
/// `Authorization: Bearer` carrying the ingest token or an API token with the
/// `write` role.
async fn authenticate(
    state: &AppState,
    provider: &dyn WebhookProvider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Problem> {
    let auth: &IngestAuth = &state.ingest_auth;
    match bearer(headers) {
        Bearer::Token(token) => {
            if let Some(expected) = &auth.ingest_token
                && same_token(token, expected.expose())
            {
                return Ok(());
            }
            return authorize(state, headers, Role::Write).await.map(|_| ());
        }
        Bearer::Malformed => {
            return Err(Problem::unauthorized("the Authorization header must be `Bearer <token>`"));
        }
        Bearer::Absent => {}
    }
    if auth.webhook_secret.is_none() && auth.ingest_token.is_none() {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ingest-not-configured",
            "Webhook ingestion is not configured",
            "set GITHUB_WEBHOOK_SECRET (--github-webhook-secret) to the secret of the GitHub webhook, \
             or CICD_INGEST_TOKEN (--ingest-token) for other senders, and restart",
        ));
    }
    let Some(secret) = &auth.webhook_secret else {
        return Err(Problem::unauthorized("send Authorization: Bearer <ingest token>"));
    };
    provider.verify(headers, body, secret.expose().as_bytes()).map_err(Problem::unauthorized)
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Problem> {
    let essence = header_str(headers, header::CONTENT_TYPE.as_str())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/json") => Ok(()),
        Some(t) if t.starts_with("application/") && t.ends_with("+json") => Ok(()),
        other => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!(
                "the body must be JSON (Content-Type: application/json), got {}; \
                 set the GitHub webhook's content type to application/json",
                other.unwrap_or("no Content-Type")
            ),
        )),
    }
}
