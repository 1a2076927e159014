//! `GET /api/incidents` (read role): the incidents open at some time in a
//! window — from `POST /api/incidents` and labelled GitHub issues — newest
//! opening first, so a caller can see what it recorded and what is open
//! now. Reads through the deployment store; writes are in `incidents`.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::{Params, Window};
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;
use crate::domain::deployment::Incident;
use crate::domain::time::format_timestamp;
use crate::metrics::dora::config::Environments;

pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(list_incidents)), Role::Read, state)
}

/// One incident as stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentItem {
    /// The caller's id (`github-issue:ISSUE_ID` for a labelled GitHub issue).
    pub id: String,
    /// The repository it is about; null: every repository.
    pub repository: Option<String>,
    /// The environment it is about; null: every production environment.
    pub environment: Option<String>,
    pub title: Option<String>,
    pub url: Option<String>,
    pub opened_at: String,
    pub resolved_at: Option<String>,
    /// `open` or `resolved`.
    pub status: &'static str,
    /// Seconds from opening to resolution (to now while open).
    pub duration_seconds: i64,
}

impl IncidentItem {
    /// `incident` as answered at `now`.
    pub fn new(incident: Incident, now: DateTime<Utc>) -> Self {
        IncidentItem {
            duration_seconds: (incident.resolved_at.unwrap_or(now) - incident.opened_at).num_seconds().max(0),
            status: if incident.resolved_at.is_some() { "resolved" } else { "open" },
            opened_at: format_timestamp(incident.opened_at),
            resolved_at: incident.resolved_at.map(format_timestamp),
            id: incident.incident_id,
            repository: incident.repo,
            environment: incident.environment,
            title: incident.title,
            url: incident.url,
        }
    }
}

/// The page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentsJson {
    pub window_days: u32,
    pub incidents: Vec<IncidentItem>,
    /// Incidents of the window beyond `limit`.
    pub truncated: bool,
}

/// Which incidents a request asks for.
struct Filter {
    repo: Option<String>,
    environment: Option<String>,
    open: Option<bool>,
}

impl Filter {
    fn parse(params: &Params) -> Result<Self, Problem> {
        let open = match params.text("status").as_deref() {
            None => None,
            Some("open") => Some(true),
            Some("resolved") => Some(false),
            Some(other) => {
                return Err(Problem::invalid_parameter(format!(
                    "status must be open or resolved, got {other:?}"
                )));
            }
        };
        Ok(Filter { repo: params.text("repo"), environment: params.text("environment"), open })
    }

    /// An incident about every repository matches any; one about every
    /// production environment matches those.
    fn keeps(&self, incident: &Incident, production: &Environments) -> bool {
        let repo = match (&self.repo, &incident.repo) {
            (Some(asked), Some(stored)) => asked == stored,
            _ => true,
        };
        let environment = self
            .environment
            .as_deref()
            .is_none_or(|asked| production.incident_about(incident.environment.as_deref(), asked));
        repo && environment && self.open.is_none_or(|open| open == incident.resolved_at.is_none())
    }
}

/// `window_days` 1–365 (default 7): incidents opened before now and not
/// resolved before the window began. `repo` and `environment` keep the
/// incidents about them and those about every repository or (for a
/// production environment) every production environment;
/// `status` `open` or `resolved`; `limit` 1–500 (default 100).
#[utoipa::path(get, path = "/api/incidents", tag = "delivery",
    description = "Incidents open at some time in the window (POST /api/incidents and labelled GitHub issues), \
        newest opening first. An incident without a repository is about every one and matches any `repo`; \
        one without an environment is about every production environment and matches those.",
    params(
        Window,
        ("repo" = Option<String>, Query, description = "Only incidents about this repository (or every one)"),
        ("environment" = Option<String>, Query, description = "Only incidents about this environment (or, for a production one, every production one)"),
        ("status" = Option<String>, Query, description = "`open` or `resolved`"),
        ("limit" = Option<i64>, Query, description = "1–500 (default 100)", minimum = 1, maximum = 500),
    ),
    responses((status = 200, body = IncidentsJson), QueryProblems),
    security((), ("token" = [])))]
pub async fn list_incidents(
    State(state): State<AppState>,
    Window { window_days }: Window,
    params: Params,
) -> Result<Json<IncidentsJson>, Problem> {
    let filter = Filter::parse(&params)?;
    let limit = params.int_in("limit", 100, 1, 500)? as usize;
    let now = crate::domain::time::end_of_second(Utc::now());
    let from = now - Duration::days(i64::from(window_days));
    let mut listed: Vec<Incident> = state
        .store
        .deployments()
        .incidents(from, now)
        .await?
        .into_iter()
        .filter(|i| filter.keeps(i, &state.delivery.production))
        .collect();
    listed.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then_with(|| a.incident_id.cmp(&b.incident_id)));
    let truncated = listed.len() > limit;
    listed.truncate(limit);
    let incidents = listed.into_iter().map(|i| IncidentItem::new(i, now)).collect();
    Ok(Json(IncidentsJson { window_days, incidents, truncated }))
}
