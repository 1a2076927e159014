//! `GET /api/audit` (admin): the audit log of admin actions, newest first.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::Paging;
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;
use crate::domain::time::format_timestamp;

/// `GET /api/audit` (admin role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(list)), Role::Admin, state)
}

/// One entry; `at` is RFC 3339 UTC.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditItem {
    pub id: i64,
    pub at: String,
    /// Token name, or `cli`.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

/// `{"entries": [AuditItem], "total", "limit", "offset"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditItem>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Errors: 422 for a `limit`/`offset` out of range; 503 when the database
/// is down.
#[utoipa::path(get, path = "/api/audit", tag = "security",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 100)", minimum = 1, maximum = 500),
        ("offset" = Option<i64>, Query, description = "Entries to skip (default 0)", minimum = 0),
    ),
    description = "The audit log of admin actions, newest first (admin role).",
    responses((status = 200, body = AuditPage), QueryProblems),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Paging { limit, offset }: Paging<100, 500>,
) -> Result<Json<AuditPage>, Problem> {
    let (entries, total) = state.store.audit().audit_log(limit, offset).await?;
    let entries = entries
        .into_iter()
        .map(|e| AuditItem {
            id: e.id,
            at: format_timestamp(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
            request_id: e.request_id,
        })
        .collect();
    Ok(Json(AuditPage { entries, total, limit, offset }))
}
