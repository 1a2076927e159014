//! `GET /metrics` in the Prometheus text format, and the middleware that
//! records per-route request metrics. Metrics recorded elsewhere:
//! `webhook_deliveries_total{event, outcome}` and
//! `webhook_ingest_seconds` (receipt to committed answer) in `webhook`;
//! the runner series (`ci_jobs_queued`, `ci_jobs_running`,
//! `ci_job_queue_seconds`) in `runner_metrics`, sampled at each scrape.
//!
//! Label values are bounded: routes are the matched route templates, events
//! outside a known list are `other`, outcomes are problem slugs.

use std::sync::OnceLock;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{Request, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::responses::StreamProblems;
use crate::auth::Role;

/// `GET /metrics` (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(metrics)), Role::Read, state)
}

/// Buckets (seconds) of every latency histogram.
const LATENCY_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use (the metrics
/// facade has one global recorder per process). `None` if another recorder
/// was installed first.
pub fn recorder() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("ci_job_queue_seconds".into()),
                    super::runner_metrics::QUEUE_BUCKETS,
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(err) => {
                    tracing::warn!(error = %err, "Prometheus metrics are off: another recorder is installed");
                    None
                }
            }
        })
        .clone()
}

/// Records `http_requests_total{method, route, status}` and
/// `http_request_duration_seconds{method, route}` for every routed request.
pub async fn track(request: Request<Body>, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The scrape endpoint (also samples the database pools).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    description = "Prometheus text exposition format (metric names in the README).",
    responses((status = 200, content_type = "text/plain", body = String), StreamProblems),
    security((), ("token" = [])))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = recorder() else {
        return super::problem::Problem::not_found("metrics are not enabled in this process").into_response();
    };
    for (pool, size, idle) in state.store.pool_stats() {
        metrics::gauge!("db_pool_connections", "pool" => pool, "state" => "open").set(f64::from(size));
        metrics::gauge!("db_pool_connections", "pool" => pool, "state" => "idle").set(idle as f64);
    }
    // Builds started in the last 24 h by status; every known status is
    // written (0 when absent) so a status that stops occurring drops to 0.
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    if let Ok(counts) = state.store.metrics().status_counts_since(since).await {
        for status in crate::domain::BuildStatus::ALL {
            let n = counts.iter().find(|(s, _)| s == &status).map_or(0, |(_, n)| *n);
            metrics::gauge!("builds_last_24h", "status" => status.as_str()).set(n as f64);
        }
    }
    state.runner_metrics.sample(&state.store).await;
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
