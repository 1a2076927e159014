//! HTTP API: the router, one file per resource (each brings its own routes
//! behind the role they need), RFC 9457 problem answers.
//!
//! Handlers stay thin: parse and validate input, one or two store or ingest
//! calls, shape the answer. Errors are mapped once, in `problem`. This module
//! must not hold SQL or payload parsing.

mod alerts;
mod audit;
pub mod auth;
pub mod body_budget;
mod build_events;
mod builds;
mod deployments;
mod dora;
mod dora_facts;
mod dora_inputs;
mod dora_scope;
mod dora_sums;
mod dto;
pub mod events;
mod export;
mod failures;
mod flaky;
mod health;
mod incident_list;
mod incidents;
mod insights;
mod json_body;
mod known_params;
mod metrics;
mod not_configured;
pub mod openapi;
mod params;
pub mod problem;
pub mod prometheus;
mod providers;
pub mod rate_limit;
mod repos;
mod responses;
pub mod runner_metrics;
mod runners;
mod test_insights;
mod test_results;
mod tickets;
mod timeseries;
pub mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::auth::Role;
use crate::secret::Secret;
use crate::store::Store;

/// Who may post deliveries to the webhook endpoint.
#[derive(Debug, Clone, Default)]
pub struct IngestAuth {
    /// Verifies GitHub's `X-Hub-Signature-256`.
    pub webhook_secret: Option<Secret>,
    /// Compared with GitLab's `X-Gitlab-Token`.
    pub gitlab_webhook_secret: Option<Secret>,
    /// Accepted as `Authorization: Bearer <token>`.
    pub ingest_token: Option<Secret>,
}

impl IngestAuth {
    /// The shared webhook secret of `provider`'s endpoint, if configured.
    pub fn secret_for(&self, provider: crate::domain::ProviderKind) -> Option<&Secret> {
        match provider {
            crate::domain::ProviderKind::GitHub => self.webhook_secret.as_ref(),
            crate::domain::ProviderKind::GitLab => self.gitlab_webhook_secret.as_ref(),
            _ => None,
        }
    }
}

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Templates and HTTP client for alerts (configure, test).
    pub alerts: Arc<crate::alerts::AlertService>,
    pub ingest_auth: Arc<IngestAuth>,
    /// Whether read routes answer without a token.
    pub public_read: bool,
    /// Requests per minute per client and token on the API routes (`None`:
    /// unlimited).
    pub api_budget: Option<Arc<rate_limit::Budget>>,
    /// Failed webhook deliveries per minute per client (see `webhook`).
    pub webhook_budget: Option<Arc<rate_limit::Budget>>,
    /// Bytes of webhook bodies held at once (see `body_budget`).
    pub webhook_bodies: Arc<body_budget::BodyBudget>,
    /// Serialized change events shared by every `/api/events` stream.
    pub events: events::Hub,
    /// `--runner-cost`: prices per runner minute by label glob.
    pub runner_cost: Arc<crate::metrics::minutes::RunnerCost>,
    /// The runner series of `/metrics` (`--metrics-label-sets`).
    pub runner_metrics: Arc<runner_metrics::RunnerMetrics>,
    /// `--production-environments` and `--deployment-rule`.
    pub delivery: Arc<crate::metrics::dora::config::DeliveryConfig>,
    /// GitHub's webhook parser with `--incident-label`.
    pub github_webhooks: crate::providers::github::GitHubWebhooks,
    /// Each GET route's query parameters, from the OpenAPI document once
    /// `router` has built it (`known_params`).
    pub known_params: Arc<std::sync::OnceLock<known_params::KnownParams>>,
}

/// The API routes (`/health`, `/api/…`), each group behind the role it
/// needs (see `auth`): public probes, `read`, `admin`, and the webhook,
/// which authenticates deliveries itself; plus `/openapi.json` and `/docs`.
pub fn router(state: AppState) -> Router {
    let (routes, document) = documented_routes(state.clone()).split_for_parts();
    let _ = state.known_params.set(known_params::KnownParams::from_document(&document));
    // Swagger UI's components set style attributes: its pages (only) may
    // use inline styles; scripts stay same-origin files. Its online
    // validator badge (a request to validator.swagger.io) is off.
    let swagger = SwaggerUi::new("/docs")
        .url("/openapi.json", document)
        .config(Config::default().validator_url("none"));
    let docs = Router::<AppState>::from(swagger).layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    ));
    routes.merge(docs).route_layer(axum::middleware::from_fn(prometheus::track)).with_state(state)
}

/// The Content-Security-Policy of `/docs`.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Every API route with its OpenAPI entry: each resource's module brings
/// its routes behind the role they need.
pub fn documented_routes(state: AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::routes())
        .merge(builds::routes(&state))
        .merge(build_events::routes(&state))
        .merge(export::routes(&state))
        .merge(metrics::routes(&state))
        .merge(insights::routes(&state))
        .merge(flaky::routes(&state))
        .merge(timeseries::routes(&state))
        .merge(runners::routes(&state))
        .merge(events::routes(&state))
        .merge(tickets::routes(&state))
        .merge(providers::routes(&state))
        .merge(repos::routes(&state))
        .merge(prometheus::routes(&state))
        .merge(alerts::routes(&state))
        .merge(audit::routes(&state))
        .merge(test_results::routes(&state))
        .merge(test_insights::routes(&state))
        .merge(failures::routes(&state))
        .merge(dora::routes(&state))
        .merge(deployments::routes(&state))
        .merge(incidents::routes(&state))
        .merge(incident_list::routes(&state))
        .merge(webhook::routes())
}

/// `routes` behind `role` (see `auth`) and the API rate limit, which wraps
/// authentication so floods without a token count too; inside both, the
/// refusal of unknown query parameters (`known_params`), so a request
/// without the role is 401/403 whatever its query.
fn guarded(routes: OpenApiRouter<AppState>, role: Role, state: &AppState) -> OpenApiRouter<AppState> {
    let routes =
        routes.route_layer(axum::middleware::from_fn_with_state(state.clone(), known_params::refuse_unknown));
    let routes = match role {
        Role::Read => {
            routes.route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_read))
        }
        Role::Write => {
            routes.route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_write))
        }
        Role::Admin => {
            routes.route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_admin))
        }
    };
    limited(routes, &state.api_budget)
}

fn limited(
    routes: OpenApiRouter<AppState>,
    budget: &Option<Arc<rate_limit::Budget>>,
) -> OpenApiRouter<AppState> {
    match budget {
        Some(budget) => {
            routes.route_layer(axum::middleware::from_fn_with_state(budget.clone(), rate_limit::limit))
        }
        None => routes,
    }
}
