//! `GET /api/insights/flaky`: flaky workflows and job keys of a window,
//! ranked by wasted runner time (definitions in `crate::domain::flaky` and
//! `crate::metrics::flaky`), read from the per-day roll-up of the flaky
//! occurrences the write path keeps (`crate::store::flaky`).

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::{Params, Window};
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;
use crate::domain::time::format_timestamp;
use crate::metrics::flaky::{JobFlaky, WorkflowFlaky, report_lines};
use crate::metrics::summary::window_start;
use crate::store::FlakyFilter;

/// The route (read role, like the other insights).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(flaky)), Role::Read, state)
}

/// The query of `/api/insights/flaky` besides `window_days`, as the
/// OpenAPI document shows it (read through [`Params`]: a bad value is a
/// 422 naming it).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by utoipa only
pub struct FlakyQuery {
    /// Only this repository (`owner/name`, exact)
    repo: Option<String>,
    /// Only this workflow (exact)
    workflow: Option<String>,
    /// Only occurrences on this branch (exact)
    branch: Option<String>,
    /// Only this provider kind (e.g. `github`)
    provider: Option<String>,
}

/// `/api/insights/flaky` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlakyInsights {
    pub window_days: u32,
    pub window_start: String,
    /// Per workflow, most wasted runner time first.
    pub workflows: Vec<WorkflowFlaky>,
    /// Per job key, most wasted runner time first.
    pub jobs: Vec<JobFlaky>,
}

/// Flaky workflows and job keys over the last `window_days`; 422 on a bad
/// parameter.
#[utoipa::path(get, path = "/api/insights/flaky", tag = "insights",
    description = "Flaky occurrences seen in the last `window_days` (passed on retry, flaky job, same commit with different results), per workflow and per job key: occurrences, flaky rate, last seen, wasted runner time and the latest example builds, ranked by wasted runner time (definitions in the README, *Flaky*).",
    params(Window, FlakyQuery),
    responses((status = 200, body = FlakyInsights), QueryProblems),
    security((), ("token" = [])))]
pub async fn flaky(
    State(state): State<AppState>,
    Window { window_days }: Window,
    params: Params,
) -> Result<Json<FlakyInsights>, Problem> {
    let filter = FlakyFilter {
        repo: params.text("repo"),
        workflow: params.text("workflow"),
        branch: params.text("branch"),
        provider: params.provider()?,
    };
    let now = Utc::now();
    let since = window_start(now, window_days);
    let window = state.store.flaky().insights(since.timestamp(), now.timestamp() + 1, &filter).await?;
    let (workflows, jobs) = report_lines(&window);
    Ok(Json(FlakyInsights { window_days, window_start: format_timestamp(since), workflows, jobs }))
}
