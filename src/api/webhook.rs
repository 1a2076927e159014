//! Webhook routes: authenticate, check, ingest — the same for every
//! provider (`&dyn WebhookProvider`); a provider's route is one annotated
//! handler here (`POST /api/webhook/github-actions`, `POST
//! /api/webhook/gitlab`).
//!
//! Order of checks: a client whose failed deliveries spent its budget (429,
//! before anything is read) → declared body size (413, before the body is
//! read) → authentication: a bearer token, or the presence of the
//! provider's signature header, before the body is read (401; 503 when no
//! secret or token is configured at all) → the body, read within the
//! process-wide body budget (`body_budget`: 413 over 25 MiB, 503 when the
//! budget is full) → the signature over it (401) → content type (415) →
//! delivery headers (400) → payload (400) → store (503 when the database is
//! down, so the provider shows the delivery as failed and it can be
//! redelivered).
//!
//! Rate limit: only failed authentication spends the webhook budget
//! (`--webhook-rate-limit` per minute per client address); verified
//! deliveries are never refused for their number.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Bearer, authorize, bearer, same_token};
use super::problem::Problem;
use super::responses::DeliveryProblems;
use super::{AppState, IngestAuth};
use crate::auth::Role;
use crate::ingest::service::{Delivery, Outcome, ingest};
use crate::providers::github::webhook::{DeliveryHeaderDocs, KNOWN_EVENTS, event_header};
use crate::providers::gitlab::{self, GitLabWebhooks};
use crate::providers::{HeaderError, WebhookProvider};

/// `POST /api/webhook/github-actions` and `POST /api/webhook/gitlab`: they
/// authenticate their deliveries and spend the webhook budget themselves.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(github_actions)).routes(routes!(gitlab_ci))
}

/// Largest accepted body: 25 MiB (GitHub's own cap on webhook payloads;
/// no provider sends more).
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// A webhook route's answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookAnswer {
    /// The delivery id (dedupe key).
    pub delivery: String,
    /// The event name.
    pub event: String,
    /// `stored`, `duplicate` or `ignored`.
    pub outcome: String,
}

/// Answers 202 (200 for `ping`) with `{"delivery", "event", "outcome"}`.
#[utoipa::path(post, path = "/api/webhook/github-actions", tag = "ingest",
    description = "The provider's run and job deliveries, signed with its signature header (or sent with \
        a bearer ingest token / write-role token). Deduplicated by the delivery id header.",
    params(DeliveryHeaderDocs),
    request_body(content = Object, content_type = "application/json", description = "The webhook payload"),
    responses((status = 200, body = WebhookAnswer, description = "ping"), (status = 202, body = WebhookAnswer), DeliveryProblems),
    security((), ("token" = [])))]
pub async fn github_actions(State(state): State<AppState>, request: Request) -> Result<Response, Problem> {
    let event = event_label(KNOWN_EVENTS, event_header(request.headers()));
    let provider = state.github_webhooks.clone();
    counted(&state, &provider, event, request).await
}

/// Answers 202 with `{"delivery", "event", "outcome"}`.
#[utoipa::path(post, path = "/api/webhook/gitlab", tag = "ingest",
    description = "GitLab's Pipeline Hook, Job Hook and Deployment Hook deliveries, with the webhook's secret token in \
        X-Gitlab-Token (or sent with a bearer ingest token / write-role token). Deduplicated by \
        Idempotency-Key, else X-Gitlab-Event-UUID. Other events (the Test button's \
        samples) are recorded and answered `ignored`.",
    params(gitlab::DeliveryHeaderDocs),
    request_body(content = Object, content_type = "application/json", description = "The webhook payload"),
    responses((status = 202, body = WebhookAnswer), DeliveryProblems),
    security((), ("token" = [])))]
pub async fn gitlab_ci(State(state): State<AppState>, request: Request) -> Result<Response, Problem> {
    let event = event_label(gitlab::KNOWN_EVENTS, gitlab::event_header(request.headers()));
    counted(&state, &GitLabWebhooks, event, request).await
}

/// Accepts one delivery and counts it (`webhook_deliveries_total` by
/// event and outcome, `webhook_ingest_seconds`).
async fn counted(
    state: &AppState,
    provider: &dyn WebhookProvider,
    event: &'static str,
    request: Request,
) -> Result<Response, Problem> {
    let started = std::time::Instant::now();
    let result = accept(state, provider, request).await;
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

fn event_label(known: &'static [&'static str], event: Option<&str>) -> &'static str {
    match event {
        None => "none",
        Some(event) => known.iter().find(|known| **known == event).copied().unwrap_or("other"),
    }
}

async fn accept(
    state: &AppState,
    provider: &dyn WebhookProvider,
    request: Request,
) -> Result<(Response, Outcome), Problem> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let budget = state.webhook_budget.as_deref();
    let client = budget.map(|budget| (budget, budget.client(headers, &parts.extensions)));
    if let Some((budget, client)) = client
        && let Some(wait) = budget.penalty(client)
    {
        return Err(budget.refusal(wait));
    }
    let declared = state.webhook_bodies.check_declared(headers)?;
    // Failed authentication spends the client's budget; over it, 429.
    let failed = |problem: Problem| match client {
        Some((budget, client)) if matches!(problem.status.as_u16(), 401 | 403) => {
            budget.fail(client).map_or_else(|wait| budget.refusal(wait), |()| problem)
        }
        _ => problem,
    };
    let verified = authenticate_headers(state, provider, headers).await.map_err(failed)?;
    // Held (and counted in the body budget) until the delivery is answered.
    let held = state.webhook_bodies.read(body, declared).await?;
    let body = held.bytes.clone();
    if !verified {
        verify_signature(state, provider, headers, &body).map_err(failed)?;
    }
    check_content_type(provider, headers)?;
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

/// A delivery is accepted with a valid provider signature, or with `Authorization: Bearer` carrying the
/// ingest token or an API token with the `write` role. What the headers
/// alone decide, before the body is read: `Ok(true)` verified by token,
/// `Ok(false)` a signature to check over the body ([`verify_signature`]).
async fn authenticate_headers(
    state: &AppState,
    provider: &dyn WebhookProvider,
    headers: &HeaderMap,
) -> Result<bool, Problem> {
    let auth: &IngestAuth = &state.ingest_auth;
    match bearer(headers) {
        Bearer::Token(token) => {
            if let Some(expected) = &auth.ingest_token
                && same_token(token, expected.expose())
            {
                return Ok(true);
            }
            return authorize(state, headers, Role::Write).await.map(|_| true);
        }
        Bearer::Malformed => {
            return Err(Problem::unauthorized("the Authorization header must be `Bearer <token>`"));
        }
        Bearer::Absent => {}
    }
    let secret = auth.secret_for(provider.kind());
    if secret.is_none() && auth.ingest_token.is_none() {
        super::not_configured::warn_once(provider.kind(), provider.secret_setting());
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ingest-not-configured",
            "Webhook ingestion is not configured",
            format!(
                "set {} to the secret of the {} webhook, or CICD_INGEST_TOKEN (--ingest-token) for other \
                 senders, and restart",
                provider.secret_setting(),
                provider.kind().display_name()
            ),
        )
        .logged());
    }
    if secret.is_none() {
        return Err(Problem::unauthorized("send Authorization: Bearer <ingest token>"));
    }
    provider.signature_header(headers).map(|()| false).map_err(Problem::unauthorized)
}

/// Checks the provider's signature over the raw body.
fn verify_signature(
    state: &AppState,
    provider: &dyn WebhookProvider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Problem> {
    let secret =
        state.ingest_auth.secret_for(provider.kind()).map(|s| s.expose().as_bytes()).unwrap_or_default();
    provider.verify(headers, body, secret).map_err(Problem::unauthorized)
}

fn check_content_type(provider: &dyn WebhookProvider, headers: &HeaderMap) -> Result<(), Problem> {
    if super::json_body::is_json(headers) {
        return Ok(());
    }
    let essence = super::json_body::essence(headers);
    // Only GitHub's webhook form has a content-type setting; other senders
    // set the header themselves.
    let hint = match provider.kind() {
        crate::domain::ProviderKind::GitHub => {
            "set the GitHub webhook's content type to application/json".to_owned()
        }
        other => {
            format!("send {} deliveries with the header Content-Type: application/json", other.display_name())
        }
    };
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        format!(
            "the body must be JSON (Content-Type: application/json), got {}; {hint}",
            essence.as_deref().unwrap_or("no Content-Type"),
        ),
    ))
}
