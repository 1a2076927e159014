//! `GET /api/audit` (admin): the audit log of admin actions, newest first.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::Serialize;

use super::AppState;
use super::params::Params;
use super::problem::Problem;
use crate::domain::time::format_timestamp;

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
    responses((status = 200, body = AuditPage), (status = 401, body = super::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 422, body = super::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 429, body = super::problem::ProblemDoc, content_type = "application/problem+json"), (status = 503, body = super::problem::ProblemDoc, content_type = "application/problem+json")),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>, Problem> {
    let params = Params::parse(query.as_deref())?;
    let limit = params.int_in("limit", 100, 1, 500)?;
    let offset = params.int_in("offset", 0, 0, i64::MAX)?;
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
