//! `GET /api/metrics/timeseries`: per-day figures in the viewer's time zone
//! (definitions in `crate::metrics::timeseries`).

use std::str::FromStr;

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use chrono_tz::Tz;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::{Params, RepoBranch, Window};
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;
use crate::domain::time::format_timestamp;
use crate::domain::{BranchName, RepoName};
use crate::metrics::timeseries::{BucketFigures, Figures, day_buckets, figures, series};

/// `GET /api/metrics/timeseries` (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(timeseries)), Role::Read, state)
}

/// The answer: the buckets, oldest first, and the figures of the whole
/// series. `from`/`to` are the series' UTC bounds (RFC 3339).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimeseriesJson {
    pub window_days: u32,
    /// `"day"`.
    pub bucket: &'static str,
    /// The IANA time zone the days are counted in.
    pub tz: String,
    pub repo: Option<String>,
    pub branch: Option<String>,
    /// The `provider` filter (a provider kind), if any.
    #[schema(value_type = Option<String>)]
    pub provider: Option<&'static str>,
    pub from: String,
    pub to: String,
    pub buckets: Vec<BucketFigures>,
    pub totals: Figures,
}

/// `window_days` 1–365 (default 7), `bucket` `day` (the default and only
/// size), `tz` an IANA name (default `UTC`), exact-match `repo`,
/// `branch` and `provider`. 422 problem on a bad parameter.
#[utoipa::path(get, path = "/api/metrics/timeseries", tag = "metrics",
    description = "Per-day figures in the viewer's time zone: builds by outcome, success rate, duration p50/p95, median queue time.",
    params(
        Window,
        ("bucket" = Option<String>, Query, description = "`day` (the only size)", pattern = "^(day)?$"),
        ("tz" = Option<String>, Query, description = "IANA time zone (default UTC)"),
        RepoBranch,
    ),
    responses((status = 200, body = TimeseriesJson), QueryProblems),
    security((), ("token" = [])))]
pub async fn timeseries(
    State(state): State<AppState>,
    Window { window_days }: Window,
    only: RepoBranch,
    params: Params,
) -> Result<Json<TimeseriesJson>, Problem> {
    if let Some(bucket) = params.text("bucket")
        && bucket != "day"
    {
        return Err(Problem::invalid_parameter(format!("bucket must be \"day\", got {bucket:?}")));
    }
    let tz_name = params.text("tz").unwrap_or_else(|| "UTC".to_owned());
    let tz = Tz::from_str(&tz_name).map_err(|_| {
        Problem::invalid_parameter(format!(
            "tz must be an IANA time zone name such as \"Europe/Berlin\" or \"UTC\", got {tz_name:?}"
        ))
    })?;
    let filter = only.filter();
    let buckets = day_buckets(tz, Utc::now(), window_days);
    let (from, to) = match (buckets.first(), buckets.last()) {
        (Some(first), Some(last)) => (first.start, last.end),
        _ => return Err(Problem::invalid_parameter("no day of that window can be represented")),
    };
    let points = state.store.metrics().window_points(from, to, &filter).await?;
    Ok(Json(TimeseriesJson {
        window_days,
        bucket: "day",
        tz: tz.name().to_owned(),
        repo: filter.repo.map(RepoName::into_string),
        branch: filter.branch.map(BranchName::into_string),
        provider: filter.provider.map(|p| p.kind()),
        from: format_timestamp(from),
        to: format_timestamp(to),
        buckets: series(&buckets, &points),
        totals: figures(&points),
    }))
}
