//! `GET /api/audit` (admin): the audit log of admin actions, newest first.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::problem::Problem;
use crate::domain::time::format_timestamp;

/// Query: `limit` 1–500 (default 100), `offset` ≥ 0.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
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
#[utoipa::path(get, path = "/api/audit", tag = "security", params(AuditQuery),
    description = "The audit log of admin actions, newest first (admin role).",
    responses((status = 200, body = AuditPage), (status = 401, body = super::problem::ProblemDoc),
        (status = 403, body = super::problem::ProblemDoc), (status = 422, body = super::problem::ProblemDoc),
        (status = 429, body = super::problem::ProblemDoc), (status = 503, body = super::problem::ProblemDoc)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, Problem> {
    let limit = query.limit.unwrap_or(100);
    let offset = query.offset.unwrap_or(0);
    if !(1..=500).contains(&limit) {
        return Err(Problem::invalid_parameter("limit must be between 1 and 500"));
    }
    if offset < 0 {
        return Err(Problem::invalid_parameter("offset must be 0 or more"));
    }
    let (entries, total) = state.store.audit_log(limit, offset).await?;
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
