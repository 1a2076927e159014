//! `GET /api/repos`: the repositories that have stored builds, for the
//! page's repository suggestions (and any client that needs the list).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::problem::Problem;
use super::responses::ReadProblems;
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

/// One repository with stored builds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KnownRepoJson {
    /// `owner/name`.
    pub repo: String,
    /// Start of its latest attempt (RFC 3339 UTC); null when none has started.
    pub last_started_at: Option<String>,
}

/// Every repository with at least one stored run attempt, by name (read role).
#[utoipa::path(get, path = "/api/repos", tag = "builds",
    description = "Every repository with at least one stored run attempt, by name, with the start of its latest attempt (for suggestions in filters).",
    responses((status = 200, body = ReposAnswer), ReadProblems),
    security((), ("token" = [])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<ReposAnswer>, Problem> {
    let repos = state
        .store
        .builds()
        .known_repos()
        .await?
        .into_iter()
        .map(|known| KnownRepoJson {
            repo: known.repo,
            last_started_at: known.last_started.and_then(from_unix).map(format_timestamp),
        })
        .collect();
    Ok(Json(ReposAnswer { repos }))
}
