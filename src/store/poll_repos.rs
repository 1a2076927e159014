//! The poller's bookkeeping per repository (`poll_repos`): where a backfill
//! stands (its resumable checkpoint), the conditional-request validator of the
//! incremental listing, the last outcome and rate-limit reading, and whether
//! the repository is gone. It also answers the poller's watch list: attempts
//! stored as not completed.
//!
//! Owns only this table's SQL; what the values mean is the poller's.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::StoreError;
use super::rows::{provider_from_id, provider_id};
use crate::domain::time::from_unix;
use crate::domain::{ProviderKind, RunStatus};
use crate::store::PollState;

/// One polled repository, as `GET /api/providers` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PollRepo {
    pub provider: ProviderKind,
    /// `owner/name`.
    pub repo: String,
    /// How it came to be polled: `configured`, `discovered` or `cli`.
    pub source: String,
    /// `active`; `gone` (the API answered 404/410) or `archived`: no longer
    /// polled, history kept.
    pub state: String,
    /// Why it is `gone`.
    pub state_reason: Option<String>,
    /// Oldest `created_at` the backfill covers.
    pub backfill_from: Option<DateTime<Utc>>,
    /// Checkpoint: runs created before this instant (and from
    /// `backfill_from`) are stored.
    pub backfill_done_until: Option<DateTime<Utc>>,
    /// When the backfill reached the present.
    pub backfill_finished_at: Option<DateTime<Utc>>,
    /// Incremental listing asks for runs created at or after this instant.
    pub sync_from: Option<DateTime<Utc>>,
    /// `ETag` of the last incremental listing's first page.
    pub runs_etag: Option<String>,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Last `x-ratelimit-limit` / `-remaining` / `-reset` seen while polling it.
    pub rate_limit: Option<i64>,
    pub rate_remaining: Option<i64>,
    pub rate_reset_at: Option<DateTime<Utc>>,
    pub first_seen_at: DateTime<Utc>,
    /// The provider instance's base URL when a provider has several
    /// (GitLab); `None` for GitHub.
    pub instance_url: Option<String>,
    /// The provider's numeric id of the project, once known (GitLab).
    pub project_id: Option<i64>,
}

/// A rate-limit reading from response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateReading {
    pub limit: Option<i64>,
    pub remaining: Option<i64>,
    /// Unix seconds.
    pub reset_at: Option<i64>,
}

const COLUMNS: &str = "provider_id, repo, source, state, state_reason, backfill_from, backfill_done_until, \
     backfill_finished_at, sync_from, runs_etag, last_poll_at, last_success_at, last_error, last_error_at, \
     next_poll_at, rate_limit, rate_remaining, rate_reset_at, first_seen_at, instance_url, project_id";

fn time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(column)?.and_then(from_unix))
}

fn poll_repo_from_row(row: &AnyRow) -> Result<PollRepo, StoreError> {
    Ok(PollRepo {
        provider: provider_from_id(row.try_get("provider_id")?)?,
        repo: row.try_get("repo")?,
        source: row.try_get("source")?,
        state: row.try_get("state")?,
        state_reason: row.try_get("state_reason")?,
        backfill_from: time(row, "backfill_from")?,
        backfill_done_until: time(row, "backfill_done_until")?,
        backfill_finished_at: time(row, "backfill_finished_at")?,
        sync_from: time(row, "sync_from")?,
        runs_etag: row.try_get("runs_etag")?,
        last_poll_at: time(row, "last_poll_at")?,
        last_success_at: time(row, "last_success_at")?,
        last_error: row.try_get("last_error")?,
        last_error_at: time(row, "last_error_at")?,
        next_poll_at: time(row, "next_poll_at")?,
        rate_limit: row.try_get("rate_limit")?,
        rate_remaining: row.try_get("rate_remaining")?,
        rate_reset_at: time(row, "rate_reset_at")?,
        first_seen_at: time(row, "first_seen_at")?.unwrap_or_default(),
        instance_url: row.try_get("instance_url")?,
        project_id: row.try_get("project_id")?,
    })
}

impl PollState<'_> {
    /// Adds `repo` to the polled repositories (with `source` and, for a
    /// backfill, its oldest instant `backfill_from`); an existing row keeps
    /// its state and checkpoint, but a wider `backfill_from` restarts the
    /// backfill from there. Answers `true` when the row is new.
    pub async fn add_poll_repo(
        &self,
        provider: ProviderKind,
        repo: &str,
        source: &str,
        backfill_from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO poll_repos (provider_id, repo, source, backfill_from, first_seen_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider_id, repo) DO NOTHING",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(source)
        .bind(backfill_from.timestamp())
        .bind(now.timestamp())
        .execute(&self.write)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(true);
        }
        sqlx::query(
            "UPDATE poll_repos SET backfill_from = $3, backfill_done_until = NULL, \
             backfill_finished_at = NULL WHERE provider_id = $1 AND repo = $2 \
             AND (backfill_from IS NULL OR backfill_from > $3)",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(backfill_from.timestamp())
        .execute(&self.write)
        .await?;
        Ok(false)
    }

    /// Every repository `provider` polls (every provider's with `None`), by
    /// name.
    pub async fn poll_repos(&self, provider: Option<ProviderKind>) -> Result<Vec<PollRepo>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM poll_repos WHERE $1 IS NULL OR provider_id = $1 ORDER BY repo, provider_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(provider.map(provider_id))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(poll_repo_from_row).collect()
    }

    /// One polled repository.
    pub async fn poll_repo(
        &self,
        provider: ProviderKind,
        repo: &str,
    ) -> Result<Option<PollRepo>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM poll_repos WHERE provider_id = $1 AND repo = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(provider_id(provider))
            .bind(repo)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(poll_repo_from_row).transpose()
    }

    /// Records where `repo` lives: its provider instance's base URL and the
    /// provider's project id (GitLab).
    pub async fn set_location(
        &self,
        provider: ProviderKind,
        repo: &str,
        instance_url: &str,
        project_id: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE poll_repos SET instance_url = $3, project_id = COALESCE($4, project_id) \
             WHERE provider_id = $1 AND repo = $2",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(instance_url)
        .bind(project_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Moves the backfill checkpoint: runs created before `done_until` are
    /// stored; `finished` once it reached the present.
    pub async fn set_backfill_checkpoint(
        &self,
        provider: ProviderKind,
        repo: &str,
        done_until: DateTime<Utc>,
        finished: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE poll_repos SET backfill_done_until = $3, \
             backfill_finished_at = COALESCE($4, backfill_finished_at) WHERE provider_id = $1 AND repo = $2",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(done_until.timestamp())
        .bind(finished.map(|t| t.timestamp()))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Stores the incremental listing's start and validator.
    pub async fn set_sync_validator(
        &self,
        provider: ProviderKind,
        repo: &str,
        sync_from: DateTime<Utc>,
        etag: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE poll_repos SET sync_from = $3, runs_etag = $4 WHERE provider_id = $1 AND repo = $2",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(sync_from.timestamp())
        .bind(etag)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Records one poll's outcome: `error` `None` is a success.
    pub async fn record_poll(
        &self,
        provider: ProviderKind,
        repo: &str,
        now: DateTime<Utc>,
        next_poll_at: DateTime<Utc>,
        error: Option<&str>,
        rate: RateReading,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE poll_repos SET last_poll_at = $3, next_poll_at = $4, \
             last_success_at = CASE WHEN $5 IS NULL THEN $3 ELSE last_success_at END, \
             last_error = CASE WHEN $5 IS NULL THEN last_error ELSE $5 END, \
             last_error_at = CASE WHEN $5 IS NULL THEN last_error_at ELSE $3 END, \
             rate_limit = COALESCE($6, rate_limit), rate_remaining = COALESCE($7, rate_remaining), \
             rate_reset_at = COALESCE($8, rate_reset_at) WHERE provider_id = $1 AND repo = $2",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(now.timestamp())
        .bind(next_poll_at.timestamp())
        .bind(error)
        .bind(rate.limit)
        .bind(rate.remaining)
        .bind(rate.reset_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Marks `repo` `gone` (the API answered 404/410) or `archived`: it
    /// stays listed with `reason` and its history, and is no longer polled.
    pub async fn mark_repo_inactive(
        &self,
        provider: ProviderKind,
        repo: &str,
        state: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE poll_repos SET state = $3, state_reason = $4, last_poll_at = $5 \
             WHERE provider_id = $1 AND repo = $2",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(state)
        .bind(reason)
        .bind(now.timestamp())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The watch list: `(run id, run attempt)` of `repo`'s attempts stored as
    /// not completed, oldest first, at most `limit`.
    pub async fn unfinished_attempts(
        &self,
        provider: ProviderKind,
        repo: &str,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT external_id, run_attempt FROM builds WHERE provider_id = $1 AND repo = $2 \
             AND provider_status <> 'completed' ORDER BY sort_at, id LIMIT $3",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("external_id")?, row.try_get("run_attempt")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Attempts of any repository stored as not completed and unchanged
    /// since `changed_before` (webhooks stopped telling about them), as
    /// `(repo, run id, run attempt)`, oldest first, at most `limit`.
    pub async fn stale_attempts(
        &self,
        provider: ProviderKind,
        changed_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT repo, external_id, run_attempt FROM builds WHERE provider_id = $1 \
             AND provider_status <> 'completed' AND changed_at < $2 ORDER BY changed_at, id LIMIT $3",
        )
        .bind(provider_id(provider))
        .bind(changed_before.timestamp())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("repo")?, row.try_get("external_id")?, row.try_get("run_attempt")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The stored `(provider_status, updated_at)` of a run's latest
    /// attempt (GitLab: a listed pipeline names no attempt).
    pub async fn latest_attempt_state(
        &self,
        provider: ProviderKind,
        repo: &str,
        run_id: &str,
    ) -> Result<Option<(RunStatus, Option<DateTime<Utc>>)>, StoreError> {
        let row = sqlx::query(
            "SELECT provider_status, updated_at FROM builds WHERE provider_id = $1 AND repo = $2 \
             AND external_id = $3 ORDER BY run_attempt DESC LIMIT 1",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(run_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| Ok((RunStatus::parse(row.try_get("provider_status")?), time(&row, "updated_at")?)))
            .transpose()
            .map_err(|err: sqlx::Error| StoreError::from(err))
    }

    /// The stored `(provider_status, updated_at)` of one attempt, to tell
    /// whether polling it again can change anything.
    pub async fn attempt_state(
        &self,
        provider: ProviderKind,
        repo: &str,
        run_id: &str,
        run_attempt: i64,
    ) -> Result<Option<(RunStatus, Option<DateTime<Utc>>)>, StoreError> {
        let row = sqlx::query(
            "SELECT provider_status, updated_at FROM builds WHERE provider_id = $1 AND repo = $2 \
             AND external_id = $3 AND run_attempt = $4",
        )
        .bind(provider_id(provider))
        .bind(repo)
        .bind(run_id)
        .bind(run_attempt)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| Ok((RunStatus::parse(row.try_get("provider_status")?), time(&row, "updated_at")?)))
            .transpose()
            .map_err(|err: sqlx::Error| StoreError::from(err))
    }
}
