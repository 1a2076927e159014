//! `GET /api/insights/jobs` and `GET /api/insights/jobs/{key}`: job
//! insights per job key (definitions in `crate::metrics::jobs`, answers
//! assembled in `crate::metrics::job_report`).
//!
//! A job key is addressed by its numeric id (`key` of each line), an
//! opaque handle: the same (provider, repository, workflow, job name)
//! keeps its id for the life of the database.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::{Paging, Params, PathText, Window, plain_integer};
use super::problem::Problem;
use super::responses::{ItemQueryProblems, QueryProblems};
use crate::auth::Role;
use crate::domain::ProviderKind;
use crate::domain::time::format_timestamp;
use crate::metrics::job_report::{JobDetail, JobInsight, JobKeyJson, SortBy, detail, insights, sort};
use crate::metrics::summary::window_start;
use crate::store::rollups::DAY;
use crate::store::{Grain, JobFilter, JobKeyRecord};

/// Both routes (read role, like `/api/metrics/*`).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(list)).routes(routes!(one)), Role::Read, state)
}

/// The query of `/api/insights/jobs` besides `window_days`, as the
/// OpenAPI document shows it (read through [`Params`]: a bad value is a
/// 422 naming it).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by utoipa only
pub struct JobQuery {
    /// Only this repository (`owner/name`, exact)
    repo: Option<String>,
    /// Only this workflow (exact)
    workflow: Option<String>,
    /// Only runs of this branch (exact)
    branch: Option<String>,
    /// Only this provider kind (e.g. `github`)
    provider: Option<String>,
    /// `name`, `runs`, `failure_rate`, `p50_duration`, `p95_duration`, `p50_queue`, `p95_queue`, `runner_seconds` (default), `change_runs`, `change_failure_rate`, `change_p50_duration`, `slowest_step`
    #[param(
        pattern = "^(name|runs|failure_rate|p50_duration|p95_duration|p50_queue|p95_queue|runner_seconds|change_runs|change_failure_rate|change_p50_duration|slowest_step)$"
    )]
    sort: Option<String>,
    /// `desc` (default) or `asc`; nulls last either way
    #[param(pattern = "^(asc|desc)$")]
    order: Option<String>,
    /// Lines per page, 1–1000 (default 100), after sorting
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// Lines to skip (default 0)
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// `/api/insights/jobs/{key}` takes `window_days` and `branch`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by utoipa only
pub struct DetailQuery {
    /// Only runs of this branch (exact)
    branch: Option<String>,
}

fn filter(params: &Params) -> Result<JobFilter, Problem> {
    let provider = match params.text("provider") {
        None => None,
        Some(text) => Some(ProviderKind::from_kind(&text).ok_or_else(|| {
            let known: Vec<&str> = ProviderKind::ALL.iter().map(|p| p.kind()).collect();
            Problem::invalid_parameter(format!("provider must be one of {}, got {text:?}", known.join(", ")))
        })?),
    };
    Ok(JobFilter {
        repo: params.text("repo"),
        workflow: params.text("workflow"),
        branch: params.text("branch"),
        provider,
        key_id: None,
    })
}

fn key_json(record: &JobKeyRecord) -> JobKeyJson {
    JobKeyJson {
        key: record.id,
        provider_kind: record.provider.map(|p| p.kind().to_owned()),
        repo: record.repo.clone(),
        workflow: (!record.workflow.is_empty()).then(|| record.workflow.clone()),
        name: record.name.clone(),
    }
}

/// `/api/insights/jobs` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobInsightList {
    pub window_days: u32,
    pub window_start: String,
    /// Start of the previous window (it ends at `window_start`).
    pub previous_window_start: String,
    pub sort: String,
    pub order: String,
    /// Job keys with jobs in the window (all pages).
    pub total: usize,
    pub limit: i64,
    pub offset: i64,
    /// This page of the sorted lines.
    pub jobs: Vec<JobInsight>,
}

/// `/api/insights/jobs/{key}` answer: the window, then the key's detail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobDetailJson {
    pub window_days: u32,
    /// Start of the window (now − `window_days` × 24 h), as in the list.
    pub window_start: String,
    /// Start of the previous window (it ends at `window_start`).
    pub previous_window_start: String,
    #[serde(flatten)]
    pub detail: JobDetail,
}

/// Per job key over the last `window_days`: runs, failure rate, p50/p95
/// duration and queue, runner time, the slowest step and the change
/// against the previous window; sorted. 422 on a bad parameter.
#[utoipa::path(get, path = "/api/insights/jobs", tag = "insights",
    description = "One line per job key (repository, workflow, job name without matrix values) with jobs in the last `window_days`: runs, failure rate, p50/p95 duration and queue time, runner time, the slowest step (by p50), and the change against the window of the same length just before (definitions in the README, *Job insights*); sorted, then paged by `limit` and `offset` (`total` counts every line).",
    params(Window, JobQuery),
    responses((status = 200, body = JobInsightList), QueryProblems),
    security((), ("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Window { window_days }: Window,
    Paging { limit, offset }: Paging<100, 1000>,
    params: Params,
) -> Result<Json<JobInsightList>, Problem> {
    let filter = filter(&params)?;
    let sort_text = params.text("sort").unwrap_or_else(|| "runner_seconds".into());
    let by = SortBy::parse(&sort_text).ok_or_else(|| {
        let known: Vec<&str> = SortBy::ALL.iter().map(|(name, _)| *name).collect();
        Problem::invalid_parameter(format!("sort must be one of {}, got {sort_text:?}", known.join(", ")))
    })?;
    let order = params.text("order").unwrap_or_else(|| "desc".into());
    if order != "asc" && order != "desc" {
        return Err(Problem::invalid_parameter(format!("order must be asc or desc, got {order:?}")));
    }
    let now = Utc::now();
    let since = window_start(now, window_days);
    let before = window_start(since, window_days);
    let reads = state.store.job_insights();
    let (at, view) = (now.timestamp(), reads.job_rollup_view(now.timestamp()).await?);
    // The two windows are read at once, each on its own connection; then
    // the names of the window's keys (held in memory once read).
    let (current, previous) = tokio::try_join!(
        reads.job_list_window(since.timestamp(), None, &filter, view.as_ref(), at, true),
        reads.job_list_window(before.timestamp(), Some(since.timestamp()), &filter, view.as_ref(), at, false),
    )?;
    let ids: BTreeSet<i64> = current.jobs.keys().map(|cell| cell.key_id).collect();
    let keys = reads.job_keys_by_id(&ids.into_iter().collect::<Vec<_>>()).await?;
    let keys: HashMap<i64, JobKeyJson> = keys.values().map(|k| (k.id, key_json(k))).collect();
    let mut jobs = insights(&keys, current, previous);
    sort(&mut jobs, by, order == "desc");
    let total = jobs.len();
    let jobs: Vec<JobInsight> = jobs
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    Ok(Json(JobInsightList {
        window_days,
        window_start: format_timestamp(since),
        previous_window_start: format_timestamp(before),
        sort: sort_text,
        order,
        total,
        limit,
        offset,
        jobs,
    }))
}

/// One job key over the last `window_days`: its figures, its steps, its
/// matrix variants and a daily series. 404 for an unknown key.
#[utoipa::path(get, path = "/api/insights/jobs/{key}", tag = "insights",
    description = "One job key (its `key` in `/api/insights/jobs`): the list's figures, per step name (p50/p95 duration, failures), per matrix variant, and per UTC day of the window.",
    params(("key" = i64, Path, description = "Job key id (`key` of `/api/insights/jobs`)"), Window, DetailQuery),
    responses((status = 200, body = JobDetailJson), ItemQueryProblems),
    security((), ("token" = [])))]
pub async fn one(
    State(state): State<AppState>,
    PathText(key): PathText,
    Window { window_days }: Window,
    params: Params,
) -> Result<Json<JobDetailJson>, Problem> {
    let missing = || Problem::not_found(format!("no job key {key:?}"));
    let id = plain_integer(&key).ok_or_else(missing)?;
    let filter = JobFilter { key_id: Some(id), branch: params.text("branch"), ..JobFilter::default() };
    let reads = state.store.job_insights();
    let record = reads.job_keys(&filter).await?.remove(&id).ok_or_else(missing)?;
    let now = Utc::now();
    let since = window_start(now, window_days);
    let before = window_start(since, window_days);
    let view = reads.job_rollup_view(now.timestamp()).await?;
    let current =
        reads.job_window((since.timestamp(), None), &filter, Grain::DayMatrix, true, view.as_ref()).await?;
    // The previous window's figures only: no steps.
    let previous = reads
        .job_window((before.timestamp(), Some(since.timestamp())), &filter, Grain::Key, false, view.as_ref())
        .await?;
    let first_day = since.timestamp().div_euclid(DAY);
    let last_day = now.timestamp().div_euclid(DAY);
    Ok(Json(JobDetailJson {
        window_days,
        window_start: format_timestamp(since),
        previous_window_start: format_timestamp(before),
        detail: detail(&key_json(&record), &current, &previous, first_day, last_day),
    }))
}
