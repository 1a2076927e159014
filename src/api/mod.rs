//! HTTP API: the router, one file per resource, RFC 9457 problem answers.
//!
//! Handlers stay thin: parse and validate input, one or two store or ingest
//! calls, shape the answer. Errors are mapped once, in `problem`. This module
//! must not hold SQL or payload parsing.

mod builds;
mod dto;
mod events;
mod export;
mod health;
mod metrics;
mod params;
pub mod problem;
pub mod prometheus;
mod providers;
mod timeseries;
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
}

/// The API routes (`/health`, `/api/…`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/api/builds", get(builds::list))
        .route("/api/builds/export", get(export::export))
        .route("/api/builds/{id}", get(builds::detail))
        .route("/api/metrics/summary", get(metrics::summary))
        .route("/api/metrics/health", get(metrics::health))
        .route("/api/metrics/timeseries", get(timeseries::timeseries))
        .route("/api/events", get(events::events))
        .route("/api/providers", get(providers::list))
        .route("/api/webhook/github-actions", post(webhook::github_actions).layer(webhook::body_limit()))
        .route("/metrics", get(prometheus::metrics))
        .route_layer(axum::middleware::from_fn(prometheus::track))
        .with_state(state)
}
