//! Failure insights (read role): `GET /api/insights/failures` (the top
//! failure signatures over a window) and `GET
//! /api/insights/failures/{fingerprint}` (one signature's failed jobs and
//! their builds). Definitions in `store::failures` and the README. Error
//! lines and log excerpts are plain text: they come from logs and are
//! never HTML.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::{Params, PathText};
use super::problem::Problem;
use super::responses::{ItemQueryProblems, QueryProblems};
use crate::auth::Role;
use crate::store::failures::{FailuresFilter, SignatureFailure, SignatureSummary};

/// Failed jobs answered for one signature.
pub const SIGNATURE_FAILURES: i64 = 200;

pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(list)).routes(routes!(signature)), Role::Read, state)
}

/// The OpenAPI description of the failure insights' parameters.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by utoipa only
pub struct FailuresParams {
    /// Days of failures, 1–365 (default 7)
    #[param(minimum = 1, maximum = 365)]
    window_days: Option<i64>,
    /// Only this repository (`owner/name`)
    repo: Option<String>,
    /// Only this workflow
    workflow: Option<String>,
    /// Only this branch
    branch: Option<String>,
    /// `infrastructure` or `code`
    #[param(pattern = "^(infrastructure|code)$")]
    class: Option<String>,
}

/// The top failure signatures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FailureInsights {
    pub window_days: i64,
    pub signatures: Vec<SignatureSummary>,
}

/// One signature and its failed jobs, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignatureDetail {
    pub fingerprint: String,
    pub text: String,
    /// Earliest failure ever recorded with it (RFC 3339).
    pub first_seen: String,
    pub window_days: i64,
    /// Failed jobs in the window with it (all, not only those answered).
    pub failures: i64,
    /// The latest 200 of them.
    pub builds: Vec<SignatureFailure>,
}

fn filter(params: &Params, default_days: i64) -> Result<(FailuresFilter, i64), Problem> {
    let window_days = params.int_in("window_days", default_days, 1, 365)?;
    let class = params.text("class");
    if let Some(class) = &class
        && class != "infrastructure"
        && class != "code"
    {
        return Err(Problem::invalid_parameter(format!(
            "class must be infrastructure or code, got {class:?}"
        )));
    }
    let filter = FailuresFilter {
        since: Utc::now().timestamp() - window_days * 86_400,
        repo: params.text("repo"),
        workflow: params.text("workflow"),
        branch: params.text("branch"),
        class,
    };
    Ok((filter, window_days))
}

/// The top 20 failure signatures over the last `window_days` (by failed
/// jobs); 422 on a bad parameter.
#[utoipa::path(get, path = "/api/insights/failures", tag = "insights",
    description = "Top failure signatures over the last `window_days`: failed jobs, builds, first and last seen, affected jobs, branches and repositories, infrastructure or code, an example build. Definitions in the README.",
    params(FailuresParams),
    responses((status = 200, body = FailureInsights), QueryProblems),
    security((), ("token" = [])))]
pub async fn list(State(state): State<AppState>, params: Params) -> Result<Json<FailureInsights>, Problem> {
    let (filter, window_days) = filter(&params, 7)?;
    let signatures = state.store.failures().top_signatures(&filter, 20).await?;
    Ok(Json(FailureInsights { window_days, signatures }))
}

/// One signature's failed jobs over the last `window_days` (default 30);
/// 404 for an unknown fingerprint, 422 on a bad parameter.
#[utoipa::path(get, path = "/api/insights/failures/{fingerprint}", tag = "insights",
    description = "A failure signature and its latest 200 failed jobs in the window (build, run, attempt, job, failed step, first error line, class), newest first.",
    params(("fingerprint" = String, Path, description = "16 hex digits (`fingerprint` in the list)"), FailuresParams),
    responses((status = 200, body = SignatureDetail), ItemQueryProblems),
    security((), ("token" = [])))]
pub async fn signature(
    State(state): State<AppState>,
    PathText(fingerprint): PathText,
    params: Params,
) -> Result<Json<SignatureDetail>, Problem> {
    let (filter, window_days) = filter(&params, 30)?;
    let missing = || Problem::not_found(format!("no failure signature {fingerprint:?}"));
    if fingerprint.len() != 16 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(missing());
    }
    let found = state.store.failures().signature_failures(&fingerprint, &filter, SIGNATURE_FAILURES).await?;
    let (text, first_seen, failures, builds) = found.ok_or_else(missing)?;
    Ok(Json(SignatureDetail { fingerprint, text, first_seen, window_days, failures, builds }))
}
