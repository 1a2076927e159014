//! `GET /api/metrics/summary` and `GET /api/metrics/health`.

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::Utc;

use super::AppState;
use super::params::Params;
use super::problem::Problem;
use crate::domain::time::format_timestamp;
use crate::metrics::summary::{PreviousWindow, Summary, summarize, window_start};
use crate::store::PointFilter;

/// The summary over the last `window_days` (1–365, default 7), optionally
/// only attempts of exact-match `repo` and `branch`; definitions in
/// `crate::metrics::summary` (with the previous window's figures). 422 on a
/// bad `window_days`.
#[utoipa::path(get, path = "/api/metrics/summary", tag = "metrics",
    description = "Counts, rates, build-time percentiles and queue time over the last `window_days`, with the previous window's figures (definitions in the README). `repo` and `branch` narrow every figure to that repository / branch (exact match).",
    params(
        ("window_days" = Option<i64>, Query, description = "Days, 1–365 (default 7)", minimum = 1, maximum = 365),
        ("repo" = Option<String>, Query, description = "Only this repository (`owner/name`, exact)"),
        ("branch" = Option<String>, Query, description = "Only this branch (exact)"),
    ),
    responses((status = 200, body = Summary), (status = 401, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 403, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 422, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 429, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 503, body = super::problem::ProblemDoc, content_type = "application/problem+json")),
    security((), ("token" = [])))]
pub async fn summary(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Summary>, Problem> {
    let params = Params::parse(query.as_deref())?;
    let window_days = params.int_in("window_days", 7, 1, 365)? as u32;
    let filter = PointFilter { repo: params.text("repo"), branch: params.text("branch") };
    let now = Utc::now();
    let since = window_start(now, window_days);
    let before = window_start(since, window_days);
    let (inputs, percentiles, previous) = state.store.summary_inputs(now, since, before, &filter).await?;
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
    params(
        ("window_days" = Option<i64>, Query, description = "Days, 1–365 (default 7)", minimum = 1, maximum = 365),
        ("repo" = Option<String>, Query), ("branch" = Option<String>, Query),
    ),
    responses((status = 200, body = Object, description = "`{window_days, rows: [HealthLine]}`"), (status = 401, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 403, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 422, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 429, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 503, body = super::problem::ProblemDoc, content_type = "application/problem+json")),
    security((), ("token" = [])))]
pub async fn health(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, Problem> {
    let params = Params::parse(query.as_deref())?;
    let window_days = params.int_in("window_days", 7, 1, 365)? as u32;
    let filter = PointFilter { repo: params.text("repo"), branch: params.text("branch") };
    let rows = state.store.health_rows(window_start(Utc::now(), window_days), &filter).await?;
    let mut lines = crate::metrics::health::health(&rows);
    let referenced: Vec<i64> = lines.iter().flat_map(|line| line.referenced()).collect();
    let urls = state.store.build_urls(&referenced).await?;
    for line in &mut lines {
        line.set_urls(&urls);
    }
    Ok(Json(serde_json::json!({ "window_days": window_days, "rows": lines })))
}
