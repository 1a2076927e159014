//! Reading test results (read role): `GET /api/builds/{id}/tests` (a
//! build's test counts and failed tests, per job), `GET
//! /api/insights/tests` (most failing, slowest, flaky tests; definitions in
//! `store::test_results::insights` and the README) and `GET
//! /api/insights/tests/{id}` (one test's history).

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::{Params, PathText, plain_integer};
use super::problem::Problem;
use super::responses::{ItemProblems, QueryProblems};
use crate::auth::Role;
use crate::domain::time::{format_timestamp, from_unix};
use crate::domain::{BranchName, RepoName};
use crate::store::test_results::{FailedTest, TestHistory, TestInsights, TestsFilter};

/// Most failed tests answered per build.
pub const MAX_FAILED_TESTS: i64 = 500;

/// Executions answered in a test's history.
pub const HISTORY_LENGTH: i64 = 200;

/// Tests per insights list.
pub const LIST_LENGTH: i64 = 20;

pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(
        OpenApiRouter::new().routes(routes!(build_tests)).routes(routes!(insights)).routes(routes!(history)),
        Role::Read,
        state,
    )
}

/// One job's test results in a build.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobTests {
    pub job_name: String,
    pub passed: i64,
    pub failed: i64,
    pub errored: i64,
    pub skipped: i64,
    /// Its failed and errored tests (texts are plain text, never HTML).
    pub failed_tests: Vec<FailedTest>,
}

/// A build's test results, per job (by job name).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BuildTests {
    pub build_id: i64,
    pub jobs: Vec<JobTests>,
    /// Whether more than the 500 failed tests answered exist.
    pub truncated: bool,
}

fn parse_id(id: &str, what: &str) -> Result<i64, Problem> {
    plain_integer(id).ok_or_else(|| Problem::not_found(format!("no {what} with id {id:?}")))
}

/// The test results uploaded for a build's jobs; 404 when no build has
/// that id (a build without uploads answers no jobs).
#[utoipa::path(get, path = "/api/builds/{id}/tests", tag = "tests",
    description = "Test counts and failed tests (message, type, first lines of details) per job of a run attempt, from uploaded JUnit reports.",
    params(("id" = i64, Path, description = "Build id (as in `/api/builds`)")),
    responses((status = 200, body = BuildTests), ItemProblems),
    security((), ("token" = [])))]
pub async fn build_tests(
    State(state): State<AppState>,
    PathText(id): PathText,
) -> Result<Json<BuildTests>, Problem> {
    let build_id = parse_id(&id, "build")?;
    if state.store.builds().get_build(build_id).await?.is_none() {
        return Err(Problem::not_found(format!("no build with id {id:?}")));
    }
    let results = state.store.test_results();
    let counts = results.outcome_counts(build_id).await?;
    let mut failed = results.failed_tests(build_id, MAX_FAILED_TESTS + 1).await?;
    let truncated = failed.len() as i64 > MAX_FAILED_TESTS;
    failed.truncate(MAX_FAILED_TESTS as usize);
    let mut jobs: Vec<JobTests> = Vec::new();
    for (job_name, outcome, n) in counts {
        if jobs.last().is_none_or(|job| job.job_name != job_name) {
            jobs.push(JobTests {
                job_name,
                passed: 0,
                failed: 0,
                errored: 0,
                skipped: 0,
                failed_tests: Vec::new(),
            });
        }
        if let Some(job) = jobs.last_mut() {
            match outcome.as_str() {
                "passed" => job.passed = n,
                "failed" => job.failed = n,
                "errored" => job.errored = n,
                _ => job.skipped = n,
            }
        }
    }
    for test in failed {
        if let Some(job) = jobs.iter_mut().find(|job| job.job_name == test.job_name) {
            job.failed_tests.push(test);
        }
    }
    Ok(Json(BuildTests { build_id, jobs, truncated }))
}

/// The OpenAPI description of the insights' parameters.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by utoipa only
pub struct InsightsParams {
    /// Days of uploads, 1–365 (default 7)
    #[param(minimum = 1, maximum = 365)]
    window_days: Option<i64>,
    /// Only this repository (`owner/name`)
    repo: Option<String>,
    /// Only attempts on this branch
    branch: Option<String>,
    /// Only this job name
    job: Option<String>,
}

/// The answer of `GET /api/insights/tests`: the window's length and the
/// four lists.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestInsightsAnswer {
    /// Days of uploads in the window (the request's `window_days`).
    pub window_days: u32,
    #[serde(flatten)]
    pub lists: TestInsights,
    /// When the lists were computed, RFC 3339 UTC.
    pub computed_at: String,
    /// True when uploads or changes since `computed_at` are not in the
    /// lists yet: computing them takes longer than the server's recompute
    /// budget, so they are being recomputed in the background and a later
    /// request gets them.
    pub stale: bool,
}

/// Most failing, slowest and flaky tests over the last `window_days` of
/// uploads (20 each); 422 on a bad `window_days`.
#[utoipa::path(get, path = "/api/insights/tests", tag = "tests",
    description = "Most failing tests (failures, failure rate), slowest tests (total time, p50/p95 duration) , flaky tests (passed on a rerun in the job, failed then passed in the next attempt, failed and passed on the same commit) and newly failing tests (first failure on the default branch since its last pass there) over the uploads received since the UTC midnight at or before now − `window_days` × 24 h (so `window_days` whole UTC days and today so far); definitions in the README.",
    params(InsightsParams),
    responses((status = 200, body = TestInsightsAnswer), QueryProblems),
    security((), ("token" = [])))]
pub async fn insights(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<TestInsightsAnswer>, Problem> {
    let window_days = params.int_in("window_days", 7, 1, 365)?;
    let filter = TestsFilter {
        since: Utc::now().timestamp() - window_days * 86_400,
        repo: params.text("repo").map(RepoName::from),
        branch: params.text("branch").map(BranchName::from),
        job: params.text("job"),
    };
    let answer = state.store.test_results().insights(&filter, LIST_LENGTH).await?;
    let computed_at = format_timestamp(from_unix(answer.computed_at).unwrap_or_default());
    Ok(Json(TestInsightsAnswer {
        // int_in keeps it in 1–365.
        window_days: u32::try_from(window_days).unwrap_or_default(),
        lists: answer.lists,
        computed_at,
        stale: answer.stale,
    }))
}

/// One test and its latest 200 executions, newest first; 404 when no test
/// has that id.
#[utoipa::path(get, path = "/api/insights/tests/{id}", tag = "tests",
    description = "A test's identity and its latest executions (outcome, duration, reruns, run attempt, job), newest first.",
    params(("id" = i64, Path, description = "Test id (`test_id` in the insights and failed tests)")),
    responses((status = 200, body = TestHistory), ItemProblems),
    security((), ("token" = [])))]
pub async fn history(
    State(state): State<AppState>,
    PathText(id): PathText,
) -> Result<Json<TestHistory>, Problem> {
    let test_id = parse_id(&id, "test")?;
    state
        .store
        .test_results()
        .history(test_id, HISTORY_LENGTH)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("no test with id {id:?}")))
}
