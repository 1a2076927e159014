//! API tokens (`api_tokens`): only a SHA-256 hash of each token is kept,
//! with its name, role and use. Owns this table's SQL; what a role may do
//! is `auth`'s.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::StoreError;
use crate::domain::time::from_unix;
use crate::store::Tokens;

/// A stored token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    /// `read`, `write` or `admin`.
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, role, created_at, last_used_at, revoked_at";

fn token_from_row(row: &AnyRow) -> Result<TokenRecord, sqlx::Error> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        created_at: from_unix(row.try_get("created_at")?).unwrap_or_default(),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.and_then(from_unix),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.and_then(from_unix),
    })
}

impl Tokens<'_> {
    /// Stores a new token's hash under `name` with `role`. Answers `false`
    /// (and stores nothing) when a live token already has that name.
    pub async fn create_token(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let exists = sqlx::query("SELECT id FROM api_tokens WHERE name = $1 AND revoked_at IS NULL")
            .bind(name)
            .fetch_optional(&self.write)
            .await?;
        if exists.is_some() {
            return Ok(false);
        }
        let inserted = sqlx::query(
            "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(role)
        .bind(token_hash)
        .bind(now.timestamp())
        .execute(&self.write)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Every token, live ones first, by name.
    pub async fn list(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM api_tokens ORDER BY CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END, name, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.read).await?;
        Ok(rows.iter().map(token_from_row).collect::<Result<_, _>>()?)
    }

    /// The live token whose hash is `token_hash`, if any.
    pub async fn live_token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(&self.read).await?;
        Ok(row.as_ref().map(token_from_row).transpose()?)
    }

    /// Revokes the live token named `name`; `false` when there is none.
    pub async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
                .bind(name)
                .bind(now.timestamp())
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Notes that token `id` was used at `now`, at most once a minute (so
    /// reads do not turn into a write each).
    pub async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(id)
        .bind(now.timestamp())
        .bind(now.timestamp() - 60)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

impl Tokens<'_> {
    /// Stores a stream ticket's hash for `token_name`/`role` until
    /// `expires_at` (Unix seconds), dropping expired tickets on the way.
    pub async fn create_stream_ticket(
        &self,
        ticket_hash: &str,
        token_name: &str,
        role: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM stream_tickets WHERE expires_at < $1")
            .bind(now)
            .execute(&self.write)
            .await?;
        sqlx::query(
            "INSERT INTO stream_tickets (ticket_hash, token_name, role, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(ticket_hash)
        .bind(token_name)
        .bind(role)
        .bind(expires_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The `(token name, role)` of an unexpired ticket, if any.
    pub async fn stream_ticket(
        &self,
        ticket_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT token_name, role FROM stream_tickets WHERE ticket_hash = $1 AND expires_at >= $2",
        )
        .bind(ticket_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| Ok((r.try_get("token_name")?, r.try_get("role")?)))
            .transpose()
            .map_err(|err: sqlx::Error| StoreError::from(err))
    }
}
