//! `GET /api/providers`: every CI provider the dashboard knows (whether its
//! webhook secret is configured or not), and what the pollers (GitHub, GitLab) do per
//! repository or project — backfill progress, last successful poll, last error, next
//! poll and the rate-limit reading — so an operator can see a stuck or
//! failing sync.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::problem::Problem;
use super::responses::ReadProblems;
use crate::auth::Role;
use crate::domain::ProviderKind;
use crate::domain::time::format_timestamp;
use crate::store::PollRepo;

/// `GET /api/providers` (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(list)), Role::Read, state)
}

/// The answer: `{"providers": [Provider], "poller": "ok"|"degraded"|"idle",
/// "repos": [PolledRepo]}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProvidersAnswer {
    /// Every provider, configured or not, in display order.
    pub providers: Vec<ProviderInfo>,
    /// `idle`: nothing polled; `degraded`: some active repository's last
    /// poll failed; `ok` otherwise.
    #[schema(value_type = String)]
    pub poller: &'static str,
    pub repos: Vec<PolledRepo>,
}

/// One CI provider and its webhook endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderInfo {
    /// `github` or `gitlab` (the `provider` filter's values).
    #[schema(value_type = String)]
    pub provider: &'static str,
    /// `GitHub Actions` or `GitLab CI`.
    #[schema(value_type = String)]
    pub name: &'static str,
    /// Where the provider's webhook posts its deliveries.
    #[schema(value_type = String)]
    pub webhook_path: &'static str,
    /// Whether the provider's webhook secret is set (`GITHUB_WEBHOOK_SECRET`
    /// / `GITLAB_WEBHOOK_SECRET`); without it the endpoint accepts only a
    /// bearer ingest or write token.
    pub webhook_secret_configured: bool,
}

/// The webhook route of `provider`.
fn webhook_path(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::GitHub => "/api/webhook/github-actions",
        ProviderKind::GitLab => "/api/webhook/gitlab",
        _ => "/api/builds/events", // not listed: see the filter in `providers`
    }
}

/// One polled repository. Times are RFC 3339 UTC strings or null.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolledRepo {
    /// `github` or `gitlab`.
    #[schema(value_type = String)]
    pub provider: &'static str,
    /// `owner/name` (GitLab: the project's `group/sub/app` path).
    pub repo: String,
    /// GitLab: the instance's base URL (e.g. `https://gitlab.com`); null
    /// for GitHub.
    pub instance_url: Option<String>,
    /// `configured`, `discovered` or `cli`.
    pub source: String,
    /// `active`, `gone` (404/410) or `archived`: the last two are not polled.
    pub state: String,
    pub state_reason: Option<String>,
    pub backfill: Backfill,
    pub last_poll_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub next_poll_at: Option<String>,
    pub rate_limit: RateLimit,
}

/// Backfill progress: runs created in `[from, done_until)` are stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Backfill {
    pub from: Option<String>,
    pub done_until: Option<String>,
    pub finished_at: Option<String>,
}

/// The last rate-limit reading while polling this repository (GitHub's
/// `x-ratelimit-*`, GitLab's `RateLimit-*`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RateLimit {
    pub limit: Option<i64>,
    pub remaining: Option<i64>,
    pub reset_at: Option<String>,
}

fn time(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(format_timestamp)
}

/// Whether a repository's latest poll failed.
pub fn failing(repo: &PollRepo) -> bool {
    repo.state == "active"
        && match (repo.last_error_at, repo.last_success_at) {
            (Some(error), Some(success)) => error > success,
            (Some(_), None) => true,
            _ => false,
        }
}

/// The poller's overall state from its repositories.
pub fn poller_status(repos: &[PollRepo]) -> &'static str {
    if repos.is_empty() {
        "idle"
    } else if repos.iter().any(failing) {
        "degraded"
    } else {
        "ok"
    }
}

/// `GET /api/providers`. Errors: 503 problem when the database is down.
#[utoipa::path(get, path = "/api/providers", tag = "poller",
    description = "Every provider (its webhook path and whether its secret is configured), and per polled \
        repository: backfill progress, last successful poll, last error, next poll, rate limit.",
    responses((status = 200, body = ProvidersAnswer), ReadProblems),
    security((), ("token" = [])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<ProvidersAnswer>, Problem> {
    let repos = state.store.poll_state().poll_repos(None).await?;
    let poller = poller_status(&repos);
    let repos = repos
        .into_iter()
        .map(|r| PolledRepo {
            provider: r.provider.kind(),
            backfill: Backfill {
                from: time(r.backfill_from),
                done_until: time(r.backfill_done_until),
                finished_at: time(r.backfill_finished_at),
            },
            last_poll_at: time(r.last_poll_at),
            last_success_at: time(r.last_success_at),
            last_error_at: time(r.last_error_at),
            next_poll_at: time(r.next_poll_at),
            rate_limit: RateLimit {
                limit: r.rate_limit,
                remaining: r.rate_remaining,
                reset_at: time(r.rate_reset_at),
            },
            repo: r.repo,
            instance_url: r.instance_url,
            source: r.source,
            state: r.state,
            state_reason: r.state_reason,
            last_error: r.last_error,
        })
        .collect();
    // Providers with a webhook of their own; the other kinds report through
    // the generic build API (`POST /api/builds/events`) and need no setup here.
    let providers = ProviderKind::ALL
        .into_iter()
        .filter(|provider| !provider.reports_generic_events())
        .map(|provider| ProviderInfo {
            provider: provider.kind(),
            name: provider.display_name(),
            webhook_path: webhook_path(provider),
            webhook_secret_configured: state.ingest_auth.secret_for(provider).is_some(),
        })
        .collect();
    Ok(Json(ProvidersAnswer { providers, poller, repos }))
}
