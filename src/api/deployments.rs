//! `GET /api/deployments` (read role): deployments of a window, newest
//! first, each with its outcome, whether it is a failed change and why,
//! and the commits it carried first with their lead times.

use axum::Json;
use axum::extract::State;
use chrono::{Duration, Utc};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::dora_facts::fill_commits;
use super::dora_inputs::{Scope, load};
use super::params::{Params, Window};
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;
use crate::domain::time::format_timestamp;

pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(list_deployments)), Role::Read, state)
}

/// A commit a deployment carried first in its environment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommitJson {
    pub sha: String,
    /// Committed time (else authored time), if known.
    pub committed_at: Option<String>,
    /// Deployment finished − `committed_at`, seconds.
    pub lead_time_seconds: Option<i64>,
}

/// One deployment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeploymentJson {
    /// Stored id (a rule's deployment: the run attempt's build id, negated).
    pub id: i64,
    pub provider: &'static str,
    pub repository: String,
    /// The provider's deployment id (`run:RUN:ATTEMPT` for a rule's).
    pub deployment_id: String,
    pub environment: String,
    /// Whether the environment is a production one.
    pub production: bool,
    pub sha: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub url: Option<String>,
    /// The kept status word (`null` before any status).
    pub status: Option<String>,
    /// `pending`, `success`, `failed` or `not_counted`.
    pub outcome: &'static str,
    pub created_at: Option<String>,
    pub finished_at: Option<String>,
    /// Why it is a failed change (`failed`, `rolled_back`, `incident`), if it is.
    pub failure_signal: Option<&'static str>,
    /// It redeployed an earlier SHA.
    pub rollback: bool,
    pub commits: Vec<CommitJson>,
}

/// An incident open at some time in the window (the timeline's bands).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentSpanJson {
    pub repository: Option<String>,
    pub environment: Option<String>,
    pub opened_at: String,
    pub resolved_at: Option<String>,
}

/// The page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeploymentsJson {
    pub window_days: u32,
    pub deployments: Vec<DeploymentJson>,
    /// Incidents of the scope open at some time in the window.
    pub incidents: Vec<IncidentSpanJson>,
    /// Deployments in the window beyond `limit`.
    pub truncated: bool,
}

/// `window_days` 1–365 (default 7), `environment` (exact; default every
/// environment), `production` (`true`: only production environments),
/// `repo`, `provider`, `limit` 1–500 (default 100). Deployments without a
/// final status are listed by creation time.
#[utoipa::path(get, path = "/api/deployments", tag = "delivery",
    description = "Deployments of the window (pending ones too), newest first, each with its outcome, failure \
        signal, and the commits it deployed first with their lead times.",
    params(
        Window,
        ("environment" = Option<String>, Query, description = "One environment by exact name"),
        ("production" = Option<bool>, Query, description = "Only production environments"),
        ("repo" = Option<String>, Query, description = "Only this repository (exact)"),
        ("provider" = Option<String>, Query, description = "Only this provider kind, e.g. github"),
        ("limit" = Option<i64>, Query, description = "1–500 (default 100)", minimum = 1, maximum = 500),
    ),
    responses((status = 200, body = DeploymentsJson), QueryProblems),
    security((), ("token" = [])))]
pub async fn list_deployments(
    State(state): State<AppState>,
    Window { window_days }: Window,
    params: Params,
) -> Result<Json<DeploymentsJson>, Problem> {
    let scope = Scope::from_params(&params)?;
    let production_only = params.flag("production")?;
    let limit = params.int_in("limit", 100, 1, 500)? as usize;
    let to = crate::domain::time::end_of_second(Utc::now());
    let from = to - Duration::days(i64::from(window_days));
    let mut inputs = load(&state, &scope, from, to, true, production_only).await?;
    let mut listed: Vec<_> = inputs
        .rows
        .iter()
        .filter(|r| {
            let at = r.deployment.finished_at().or(r.deployment.created_at).or(r
                .deployment
                .status
                .as_ref()
                .map(|s| s.at));
            at.is_none_or(|at| at >= from)
        })
        .collect();
    listed.sort_by_key(|r| std::cmp::Reverse((r.deployment.finished_at().or(r.deployment.created_at), r.id)));
    let truncated = listed.len() > limit;
    listed.truncate(limit);
    let ids: Vec<i64> = listed.iter().map(|r| r.id).collect();
    fill_commits(&state, inputs.walked, &mut inputs.history, &ids).await?;
    let deployments = listed
        .into_iter()
        .map(|row| {
            let d = &row.deployment;
            let facts = inputs.history.facts.get(&row.id);
            let outcome = match (d.outcome(), row.allow_failure) {
                (crate::domain::deployment::Outcome::Failed, true) => "not_counted",
                (outcome, _) => outcome.as_str(),
            };
            DeploymentJson {
                id: row.id,
                provider: d.provider.kind(),
                repository: d.repo.as_str().to_owned(),
                deployment_id: d.deployment_id.clone(),
                environment: d.environment.clone(),
                production: state.delivery.production.is_production(&d.environment),
                sha: d.sha.clone(),
                git_ref: d.git_ref.clone(),
                url: d.url.clone(),
                status: d.status.as_ref().map(|s| s.state.clone()),
                outcome,
                created_at: d.created_at.map(format_timestamp),
                finished_at: d.finished_at().map(format_timestamp),
                failure_signal: facts.and_then(|f| f.signal).map(|s| s.as_str()),
                rollback: facts.is_some_and(|f| f.rollback),
                commits: facts
                    .map(|f| {
                        f.commits
                            .iter()
                            .map(|c| CommitJson {
                                sha: c.sha.clone(),
                                committed_at: c.time.map(format_timestamp),
                                lead_time_seconds: c.lead_seconds,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let incidents = inputs
        .incidents
        .iter()
        .filter(|i| i.resolved_at.is_none_or(|r| r >= from))
        .map(|i| IncidentSpanJson {
            repository: i.repo.clone(),
            environment: i.environment.clone(),
            opened_at: format_timestamp(i.opened_at),
            resolved_at: i.resolved_at.map(format_timestamp),
        })
        .collect();
    Ok(Json(DeploymentsJson { window_days, deployments, incidents, truncated }))
}
