//! `GET /api/metrics/summary` and `GET /api/metrics/health`.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::{RepoBranch, Window};
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;
use crate::domain::time::format_timestamp;
use crate::metrics::summary::{PreviousWindow, Summary, summarize, window_start};

/// `GET /api/metrics/summary`, `GET /api/metrics/health` (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(summary)).routes(routes!(health)), Role::Read, state)
}

/// The summary over the last `window_days` (1–365, default 7), optionally
/// only attempts of exact-match `repo` and `branch`; definitions in
/// `crate::metrics::summary` (with the previous window's figures). 422 on a
/// bad `window_days`.
#[utoipa::path(get, path = "/api/metrics/summary", tag = "metrics",
    description = "Counts, rates, build-time percentiles and queue time over the last `window_days`, with the previous window's figures (definitions in the README). `repo` and `branch` narrow every figure to that repository / branch (exact match).",
    params(Window, RepoBranch),
    responses((status = 200, body = Summary), QueryProblems),
    security((), ("token" = [])))]
pub async fn summary(
    State(state): State<AppState>,
    Window { window_days }: Window,
    only: RepoBranch,
) -> Result<Json<Summary>, Problem> {
    let filter = only.filter();
    let now = Utc::now();
    let since = window_start(now, window_days);
    let before = window_start(since, window_days);
    let (inputs, percentiles, previous) =
        state.store.metrics().summary_inputs(now, since, before, &filter).await?;
    let mut summary = summarize(window_days, &inputs, percentiles);
    summary.window_start = Some(format_timestamp(since));
    summary.previous = Some(PreviousWindow {
        window_start: format_timestamp(before),
        window_end: format_timestamp(since),
        figures: previous.figures(),
    });
    Ok(Json(summary))
}

/// `{"window_days", "rows": [HealthLine]}`: one line per repository and
/// workflow over the last `window_days` (1–365, default 7), optionally only
/// exact-match `repo` and `branch`; definitions in
/// `crate::metrics::health`. 422 on a bad `window_days`.
#[utoipa::path(get, path = "/api/metrics/health", tag = "metrics",
    description = "One line per repository and workflow: latest status, success rate, last failure, recent statuses.",
    params(Window, RepoBranch),
    responses((status = 200, body = Object, description = "`{window_days, rows: [HealthLine]}`"), QueryProblems),
    security((), ("token" = [])))]
pub async fn health(
    State(state): State<AppState>,
    Window { window_days }: Window,
    only: RepoBranch,
) -> Result<Json<serde_json::Value>, Problem> {
    let filter = only.filter();
    let rows = state.store.metrics().health_rows(window_start(Utc::now(), window_days), &filter).await?;
    let mut lines = crate::metrics::health::health(&rows);
    let referenced: Vec<i64> = lines.iter().flat_map(|line| line.referenced()).collect();
    let urls = state.store.metrics().build_urls(&referenced).await?;
    for line in &mut lines {
        line.set_urls(&urls);
    }
    Ok(Json(serde_json::json!({ "window_days": window_days, "rows": lines })))
}
