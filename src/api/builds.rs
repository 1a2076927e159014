//! `GET /api/builds` and `GET /api/builds/{id}`.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::dto::{BuildDetailJson, BuildJson, BuildListJson, JobJson};
use super::params::{PageParams, Paging, Params, PathText, plain_integer};
use super::problem::Problem;
use super::responses::{ItemProblems, QueryProblems};
use crate::auth::Role;
use crate::domain::BuildStatus;
use crate::domain::{BranchName, RepoName};
use crate::store::{BuildFilter, BuildSort, PageCursor};

/// `GET /api/builds`, `GET /api/builds/{id}` (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(list)).routes(routes!(detail)), Role::Read, state)
}

/// The filters and order shared by `/api/builds` and `/api/builds/export`:
/// exact-match `repo`, `branch`, `workflow`, `status` (normalised),
/// `provider` (a provider kind: `github`, `jenkins`, …), `event`, `actor`, `run` (the run id: all its
/// attempts); `q` (substring of repository,
/// workflow, branch, commit SHA or actor, case-insensitive); `since` and
/// `until` (RFC 3339, bounds of the start: `since ≤ start < until`);
/// `latest_attempt=true` (only each run's latest attempt: its final
/// outcome); `sort`
/// (`-started` default, `started`, `-duration`, `duration`). 422 on a bad
/// value.
/// The OpenAPI description of [`filter_and_sort`]'s parameters (the
/// handlers read the raw query through [`Params`], so a bad value is a 422
/// naming it rather than an extractor's rejection).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by utoipa only
pub struct FilterParams {
    /// `owner/name`
    repo: Option<String>,
    branch: Option<String>,
    workflow: Option<String>,
    /// Normalised status
    status: Option<BuildStatus>,
    /// Provider kind (`provider_kind` of a Build)
    provider: Option<String>,
    /// Triggering event, e.g. push
    event: Option<String>,
    /// Who triggered the run
    actor: Option<String>,
    /// Run id: all its attempts
    run: Option<String>,
    /// Substring of repository, workflow, branch, commit or actor
    q: Option<String>,
    /// RFC 3339: started at or after
    since: Option<String>,
    /// RFC 3339: started before
    until: Option<String>,
    /// `true`: only each run's latest attempt (its final outcome; an attempt
    /// a re-run replaced is left out, whatever the other filters)
    latest_attempt: Option<bool>,
    /// `-started` (default), `started`, `-duration`, `duration`
    #[param(pattern = "^(-?started|-?duration)?$")]
    sort: Option<String>,
}

pub(super) fn filter_and_sort(params: &Params) -> Result<(BuildFilter, BuildSort), Problem> {
    let status = match params.text("status") {
        None => None,
        Some(text) => Some(BuildStatus::parse(&text).ok_or_else(|| {
            let known: Vec<&str> = BuildStatus::ALL.iter().map(|s| s.as_str()).collect();
            Problem::invalid_parameter(format!("status must be one of {}, got {text:?}", known.join(", ")))
        })?),
    };
    let provider = params.provider()?;
    // Starts are whole seconds: a bound with a fraction is rounded up,
    // which keeps `since ≤ start < until` exact.
    let instant = |name: &str| -> Result<Option<i64>, Problem> {
        params
            .text(name)
            .map(|text| {
                chrono::DateTime::parse_from_rfc3339(text.trim())
                    .map(|t| t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0))
                    .map_err(|_| {
                        Problem::invalid_parameter(format!(
                            "{name} must be an RFC 3339 timestamp such as 2026-11-29T12:00:00Z, got {text:?}"
                        ))
                    })
            })
            .transpose()
    };
    let sort = match params.text("sort") {
        None => BuildSort::default(),
        Some(text) => BuildSort::parse(&text).ok_or_else(|| {
            Problem::invalid_parameter(format!(
                "sort must be one of -started, started, -duration, duration, got {text:?}"
            ))
        })?,
    };
    let filter = BuildFilter {
        repo: params.text("repo").map(RepoName::from),
        branch: params.text("branch").map(BranchName::from),
        workflow: params.text("workflow"),
        status,
        provider,
        event: params.text("event"),
        actor: params.text("actor"),
        search: params.text("q"),
        run_id: params.text("run"),
        since: instant("since")?,
        until: instant("until")?,
        latest_attempt: params.flag("latest_attempt")?,
    };
    Ok((filter, sort))
}

/// Lists run attempts: `limit` 1–100 (default 50), `offset` ≥ 0 (default 0),
/// `cursor` (the `next_cursor` of the previous page, default order only:
/// same cost at any depth), and the filters of [`filter_and_sort`].
/// 422 on a bad parameter.
#[utoipa::path(get, path = "/api/builds", tag = "builds",
    description = "Run attempts, newest start first by default, with filters, search, sorting and offset or cursor paging.",
    params(
        PageParams,
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (default order only)",
            pattern = r"^(-?[0-9]{1,18}\.-?[0-9]{1,18})?$"),
        FilterParams,
    ),
    responses((status = 200, body = BuildListJson), QueryProblems),
    security((), ("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Paging { limit, offset }: Paging<50, 100>,
    params: Params,
) -> Result<Json<BuildListJson>, Problem> {
    let (filter, sort) = filter_and_sort(&params)?;
    let cursor = match params.text("cursor") {
        None => None,
        Some(text) => Some(PageCursor::parse(&text).filter(|_| sort == BuildSort::StartedDesc).ok_or_else(|| {
            Problem::invalid_parameter(format!(
                "cursor must be a next_cursor value from an earlier answer in the default order, got {text:?}"
            ))
        })?),
    };
    let page = state.store.builds().list_builds(&filter, sort, limit, offset, cursor).await?;
    let ids: Vec<i64> = page.builds.iter().map(|b| b.id).collect();
    let flaky = state.store.flaky().flaky_builds(&ids).await?;
    Ok(Json(BuildListJson {
        builds: page
            .builds
            .iter()
            .map(|b| BuildJson { flaky: Some(flaky.contains(&b.id)), ..BuildJson::from(b) })
            .collect(),
        total: page.total,
        limit,
        offset,
        has_more: page.has_more,
        next_cursor: page.next_cursor,
    }))
}

/// One run attempt with its jobs; 404 when no build has that id.
#[utoipa::path(get, path = "/api/builds/{id}", tag = "builds",
    params(("id" = i64, Path, description = "Build id (as in `/api/builds`)")),
    responses((status = 200, body = BuildDetailJson), ItemProblems),
    security((), ("token" = [])))]
pub async fn detail(
    State(state): State<AppState>,
    PathText(id): PathText,
) -> Result<Json<BuildDetailJson>, Problem> {
    let missing = || Problem::not_found(format!("no build with id {id:?}"));
    let Some(numeric) = plain_integer(&id) else {
        return Err(missing());
    };
    let Some(record) = state.store.builds().get_build(numeric).await? else {
        return Err(missing());
    };
    let jobs = state.store.builds().jobs_of_build(numeric).await?;
    let flaky = !state.store.flaky().flaky_builds(&[numeric]).await?.is_empty();
    let flaky_jobs = state.store.flaky().flaky_jobs_of_build(numeric).await?;
    Ok(Json(BuildDetailJson {
        build: BuildJson { flaky: Some(flaky), ..BuildJson::from(&record) },
        jobs: jobs
            .iter()
            .map(|j| JobJson { flaky: Some(flaky_jobs.contains(&j.id)), ..JobJson::from(j) })
            .collect(),
        failures: state.store.failures().build_failures(numeric).await?,
    }))
}
