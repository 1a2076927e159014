//! `GET /api/repos`: the repositories that have stored builds, each with
//! its provider (a name can exist on two providers), for the page's
//! repository suggestions (and any client that needs the list).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::Params;
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;
use crate::domain::time::{format_timestamp, from_unix};

/// `GET /api/repos` (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(list)), Role::Read, state)
}

/// The answer: `{"repos": [KnownRepoJson]}`, by name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReposAnswer {
    pub repos: Vec<KnownRepoJson>,
}

/// One repository of one provider with stored builds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KnownRepoJson {
    /// `owner/name`.
    pub repo: String,
    /// The provider's kind (`github`, `gitlab`, `jenkins`, …).
    pub provider_kind: &'static str,
    /// The provider's human name (`GitHub Actions`, `GitLab CI`, …).
    pub provider_name: &'static str,
    /// Start of its latest attempt (RFC 3339 UTC); null when none has started.
    pub last_started_at: Option<String>,
}

/// Every repository with at least one stored run attempt, by name then
/// provider kind; `provider` narrows to one provider (422 for an unknown
/// kind) (read role).
#[utoipa::path(get, path = "/api/repos", tag = "builds",
    description = "Every (repository, provider) with at least one stored run attempt, by name then provider kind, with the start of its latest attempt (for suggestions in filters). `provider` keeps one provider's.",
    params(("provider" = Option<String>, Query, description = "Only this provider (`provider_kind` of a Build, e.g. `github`, `gitlab`)")),
    responses((status = 200, body = ReposAnswer), QueryProblems),
    security((), ("token" = [])))]
pub async fn list(State(state): State<AppState>, params: Params) -> Result<Json<ReposAnswer>, Problem> {
    let repos = state
        .store
        .builds()
        .known_repos(params.provider()?)
        .await?
        .into_iter()
        .map(|known| KnownRepoJson {
            repo: known.repo,
            provider_kind: known.provider.kind(),
            provider_name: known.provider.display_name(),
            last_started_at: known.last_started.and_then(from_unix).map(format_timestamp),
        })
        .collect();
    Ok(Json(ReposAnswer { repos }))
}
