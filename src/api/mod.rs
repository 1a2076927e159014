//! HTTP API: the router, one file per resource, RFC 9457 problem answers.
//!
//! Handlers stay thin: parse and validate input, one or two store or ingest
//! calls, shape the answer. Errors are mapped once, in `problem`. This module
//! must not hold SQL or payload parsing.

mod audit;
pub mod auth;
mod builds;
mod dto;
mod events;
mod health;
mod metrics;
mod params;
pub mod problem;
pub mod prometheus;
mod providers;
pub mod rate_limit;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::config::Secret;
use crate::store::Store;

/// Who may post deliveries to the webhook endpoint.
#[derive(Debug, Clone, Default)]
pub struct IngestAuth {
    /// Verifies `X-Hub-Signature-256`.
    pub webhook_secret: Option<Secret>,
    /// Accepted as `Authorization: Bearer <token>`.
    pub ingest_token: Option<Secret>,
}

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub ingest_auth: Arc<IngestAuth>,
    /// Whether read routes answer without a token.
    pub public_read: bool,
    /// Requests per minute per client and token on the API routes (`None`:
    /// unlimited).
    pub api_budget: Option<Arc<rate_limit::Budget>>,
    /// The same for the webhook route.
    pub webhook_budget: Option<Arc<rate_limit::Budget>>,
}

/// The API routes (`/health`, `/api/…`), each group behind the role it
/// needs (see `auth`): public probes, `read`, `admin`, and the webhook,
/// which authenticates deliveries itself.
pub fn router(state: AppState) -> Router {
    let public = Router::new().route("/health", get(health::health)).route("/ready", get(health::ready));
    let read = Router::new()
        .route("/api/builds", get(builds::list))
        .route("/api/builds/{id}", get(builds::detail))
        .route("/api/metrics/summary", get(metrics::summary))
        .route("/api/events", get(events::events))
        .route("/api/providers", get(providers::list))
        .route("/metrics", get(prometheus::metrics))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_read));
    let admin = Router::new()
        .route("/api/audit", get(audit::list))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_admin));
    let webhook = Router::new()
        .route("/api/webhook/github-actions", post(webhook::github_actions).layer(webhook::body_limit()));
    // Rate limits wrap authentication, so floods without a token count too.
    let (read, admin) = (limited(read, &state.api_budget), limited(admin, &state.api_budget));
    let webhook = limited(webhook, &state.webhook_budget);
    public
        .merge(read)
        .merge(admin)
        .merge(webhook)
        .route_layer(axum::middleware::from_fn(prometheus::track))
        .with_state(state)
}

fn limited(routes: Router<AppState>, budget: &Option<Arc<rate_limit::Budget>>) -> Router<AppState> {
    match budget {
        Some(budget) => {
            routes.route_layer(axum::middleware::from_fn_with_state(budget.clone(), rate_limit::limit))
        }
        None => routes,
    }
}
