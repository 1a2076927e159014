//! `GET /api/insights/runners` (runners and queues per label set) and
//! `GET /api/insights/minutes` (where the runner minutes go). Definitions
//! in `crate::metrics::runners` and `crate::metrics::minutes`; rows from
//! the store's runner reads (roll-ups of clean days, the other days' jobs,
//! the jobs queued or running now). Thin: parse, read, compute, answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::{Params, Window};
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;
use crate::domain::RepoName;
use crate::domain::time::{format_timestamp, from_unix};
use crate::metrics::minutes::{GroupBy, MinutesRow, RunnerCost, minutes_from_cells};
use crate::metrics::runner_parts::figures_from;
use crate::metrics::runners::LabelSetFigures;
use crate::store::RunnerFilter;

/// Both routes (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(
        OpenApiRouter::new().routes(routes!(runners)).routes(routes!(minutes_by)),
        Role::Read,
        state,
    )
}

/// `repo` and `provider`: exact-match narrowing of the runner figures.
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "read by utoipa only; the handlers read `Params`")]
pub struct RepoProvider {
    /// Only this repository (`owner/name`, exact)
    pub repo: Option<String>,
    /// Only this provider's jobs (a provider kind: `github`, `gitlab`, `jenkins`, …)
    pub provider: Option<String>,
}

fn runner_filter(params: &Params) -> Result<RunnerFilter, Problem> {
    let provider = params.provider()?;
    Ok(RunnerFilter { repo: params.text("repo").map(RepoName::from), provider })
}

/// `[from, now)`: the `window_days` UTC days ending with today.
fn window(window_days: u32) -> (i64, i64) {
    let now = chrono::Utc::now().timestamp();
    let today = now.div_euclid(86_400) * 86_400;
    (today - (i64::from(window_days) - 1) * 86_400, now)
}

fn ts(seconds: i64) -> String {
    from_unix(seconds).map(format_timestamp).unwrap_or_default()
}

/// The runners answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunnersJson {
    pub window_days: u32,
    pub repo: Option<String>,
    pub provider: Option<String>,
    /// The window's start: UTC midnight `window_days − 1` days before today.
    pub from: String,
    /// When the figures were computed (the window's end, and "now").
    pub now: String,
    /// One row per runner label set, most queued now first.
    pub label_sets: Vec<LabelSetFigures>,
}

/// Per runner label set: jobs, queue p50/p95/max, queued and running now,
/// the longest-waiting job, peak concurrency per hour and a daily series.
#[utoipa::path(get, path = "/api/insights/runners", tag = "insights",
    description = "Runners and queues per runner label set (definitions in the README, *Runners and queues*): jobs, queue time p50/p95/max, jobs queued and running now with the longest-waiting one, peak concurrency per UTC hour, and a daily series of queue p50/p95 and peak concurrency.",
    params(Window, RepoProvider),
    responses((status = 200, body = RunnersJson), QueryProblems),
    security((), ("token" = [])))]
pub async fn runners(
    State(state): State<AppState>,
    Window { window_days }: Window,
    params: Params,
) -> Result<Json<RunnersJson>, Problem> {
    let filter = runner_filter(&params)?;
    let (from, now) = window(window_days);
    let (rolled, spans) = state.store.metrics().runner_inputs(from, now, &filter).await?;
    Ok(Json(RunnersJson {
        window_days,
        repo: filter.repo.map(RepoName::into_string),
        provider: filter.provider.map(|p| p.kind().to_owned()),
        from: ts(from),
        now: ts(now),
        label_sets: figures_from(&rolled, &spans, from, now),
    }))
}

/// The minutes answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MinutesJson {
    pub window_days: u32,
    pub repo: Option<String>,
    pub provider: Option<String>,
    /// `repo`, `workflow`, `job` or `label`.
    pub group_by: String,
    pub from: String,
    pub now: String,
    /// Whether `--runner-cost` is set (without it every cost is 0).
    pub priced: bool,
    /// Most expensive first (then billable, then runner minutes).
    pub rows: Vec<MinutesRow>,
    pub totals: MinutesRow,
}

/// Runner minutes, billable minutes and cost per repository, workflow, job or label set.
#[utoipa::path(get, path = "/api/insights/minutes", tag = "insights",
    description = "Where the runner minutes go (definitions in the README, *Where the minutes go*): per group, completed jobs, runner minutes (each job rounded up to whole minutes), billable minutes (GitHub's per-OS multipliers for hosted runners, 0 for self-hosted) and cost from `--runner-cost`.",
    params(
        Window,
        RepoProvider,
        ("group_by" = Option<String>, Query, description = "`repo` (default), `workflow`, `job` (repository, workflow and job key name: matrix values removed) or `label`", pattern = "^(repo|workflow|job|label)?$"),
    ),
    responses((status = 200, body = MinutesJson), QueryProblems),
    security((), ("token" = [])))]
pub async fn minutes_by(
    State(state): State<AppState>,
    Window { window_days }: Window,
    params: Params,
) -> Result<Json<MinutesJson>, Problem> {
    let filter = runner_filter(&params)?;
    let group_text = params.text("group_by").unwrap_or_else(|| "repo".to_owned());
    let group_by = GroupBy::parse(&group_text).ok_or_else(|| {
        Problem::invalid_parameter(format!(
            "group_by must be repo, workflow, job or label, got {group_text:?}"
        ))
    })?;
    let (from, now) = window(window_days);
    let cells = state.store.metrics().minute_inputs(from, now, group_by, &filter).await?;
    let cost: Arc<RunnerCost> = state.runner_cost.clone();
    let (rows, totals) = minutes_from_cells(cells, group_by, &cost);
    Ok(Json(MinutesJson {
        window_days,
        repo: filter.repo.map(RepoName::into_string),
        provider: filter.provider.map(|p| p.kind().to_owned()),
        group_by: group_text,
        from: ts(from),
        now: ts(now),
        priced: !cost.is_empty(),
        rows,
        totals,
    }))
}
