//! `GET /api/metrics/summary`.

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::Utc;

use super::AppState;
use super::params::Params;
use super::problem::Problem;
use crate::metrics::summary::{Summary, build_time_percentiles, summarize, window_start};

/// The summary over the last `window_days` (1–365, default 7); definitions
/// in `crate::metrics::summary`. 422 on a bad `window_days`.
#[utoipa::path(get, path = "/api/metrics/summary", tag = "metrics",
    description = "Counts, rates and build-time percentiles over the last `window_days` (definitions in the README).",
    params(("window_days" = Option<i64>, Query, description = "Days, 1–365 (default 7)", minimum = 1, maximum = 365)),
    responses((status = 200, body = Summary), (status = 401, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 403, body = super::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 422, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 429, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 503, body = super::problem::ProblemDoc, content_type = "application/problem+json")),
    security((), ("token" = [])))]
pub async fn summary(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Summary>, Problem> {
    let params = Params::parse(query.as_deref());
    let window_days = params.int_in("window_days", 7, 1, 365)? as u32;
    let since = window_start(Utc::now(), window_days);
    let inputs = state.store.summary_inputs(since).await?;
    let percentiles =
        build_time_percentiles(inputs.duration_count, |ranks| state.store.durations_at_ranks(since, ranks))
            .await?;
    Ok(Json(summarize(window_days, &inputs, percentiles)))
}
