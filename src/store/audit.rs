//! The audit log (`audit_log`): who (a token's name, or `cli`) did which
//! admin action, when, to what. Append-only; owns this table's SQL.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::StoreError;
use crate::domain::time::from_unix;
use crate::store::Audit;

/// One admin action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The token's name, or `cli` for the command line.
    pub actor: String,
    /// e.g. `token.create`, `token.revoke`, `alerts.configure`, `alert.test`.
    pub action: String,
    pub target: Option<String>,
    /// A short, secret-free description.
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

impl Audit<'_> {
    /// Appends an entry (its `id` is ignored).
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, detail, request_id) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(entry.at.timestamp())
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(entry.target.as_deref())
        .bind(entry.detail.as_deref())
        .bind(entry.request_id.as_deref())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Entries newest first, `limit` from `offset`, and how many there are.
    pub async fn audit_log(&self, limit: i64, offset: i64) -> Result<(Vec<AuditEntry>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, detail, request_id FROM audit_log \
             ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.read)
        .await?;
        let total: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM audit_log").fetch_one(&self.read).await?.try_get("n")?;
        let entries = rows
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: from_unix(row.try_get("at")?).unwrap_or_default(),
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    detail: row.try_get("detail")?,
                    request_id: row.try_get("request_id")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok((entries, total))
    }
}
