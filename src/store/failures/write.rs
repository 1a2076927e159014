//! Recording failure reasons: the failed jobs without one yet, the ones a
//! poller has still to fetch annotations or a log for, a reason written
//! with its signature, and log excerpts kept under a per-job cap (by the
//! caller) and a total cap (oldest dropped first here), deleted by age.
//! A reason's write refolds the failure roll-up (`days`) in its transaction.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::days::Refold;
use crate::domain::ProviderKind;
use crate::domain::failure::{FailureClass, FailureReason};
use crate::store::{Failures, StoreError};

/// A failed job as stored, with what a reason is worked out from.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingFailure {
    pub job_id: i64,
    pub build_id: i64,
    pub provider_id: i64,
    /// The provider's job id (GitHub: the check run id as well).
    pub external_id: String,
    pub repo: String,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub job_name: Option<String>,
    pub conclusion: Option<String>,
    /// GitLab's `failure_reason`, as given.
    pub failure_reason: Option<String>,
    /// Unix seconds: the job's completion, else its attempt's start.
    pub failed_at: i64,
    /// The first step whose status is failed: (number, name).
    pub failed_step: Option<(i64, Option<String>)>,
}

/// A reason with the bookkeeping the store needs.
#[derive(Debug, Clone)]
pub struct FailureRecord<'a> {
    pub reason: &'a FailureReason,
    /// Whether the provider has been asked for annotations (and the log).
    pub fetched: bool,
    pub now: i64,
}

/// The last lines of a job's log, already cut to the per-job cap.
#[derive(Debug, Clone)]
pub struct LogExcerpt {
    pub text: String,
    /// Whether the log was longer than what is kept.
    pub truncated: bool,
}

const PENDING_COLUMNS: &str = "j.id AS job_id, j.build_id, j.provider_id, j.external_id, j.name AS job_name, \
     j.conclusion, j.failure_reason, b.repo, COALESCE(j.workflow, b.workflow) AS workflow, \
     COALESCE(j.branch, b.branch) AS branch, \
     COALESCE(j.completed_at, NULLIF(b.sort_at, 0), j.changed_at) AS failed_at, \
     (SELECT s.number FROM steps s WHERE s.job_id = j.id AND s.status = 'failed' ORDER BY s.number LIMIT 1) AS step_number, \
     (SELECT s.name FROM steps s WHERE s.job_id = j.id AND s.status = 'failed' ORDER BY s.number LIMIT 1) AS step_name";

fn pending_row(row: &AnyRow) -> Result<PendingFailure, StoreError> {
    let step_number: Option<i64> = row.try_get("step_number")?;
    Ok(PendingFailure {
        job_id: row.try_get("job_id")?,
        build_id: row.try_get("build_id")?,
        provider_id: row.try_get("provider_id")?,
        external_id: row.try_get("external_id")?,
        repo: row.try_get("repo")?,
        workflow: row.try_get("workflow")?,
        branch: row.try_get("branch")?,
        job_name: row.try_get("job_name")?,
        conclusion: row.try_get("conclusion")?,
        failure_reason: row.try_get("failure_reason")?,
        failed_at: row.try_get("failed_at")?,
        failed_step: step_number.map(|n| Ok::<_, StoreError>((n, row.try_get("step_name")?))).transpose()?,
    })
}

impl Failures<'_> {
    /// Failed jobs written at or after `changed_since` (Unix seconds) that
    /// have no reason recorded yet, oldest write first, at most `limit`.
    pub async fn pending(&self, changed_since: i64, limit: i64) -> Result<Vec<PendingFailure>, StoreError> {
        let sql = format!(
            "SELECT {PENDING_COLUMNS} FROM jobs j JOIN builds b ON b.id = j.build_id \
             WHERE j.changed_at >= $1 AND j.status = 'failed' \
             AND NOT EXISTS (SELECT 1 FROM job_failures f WHERE f.job_id = j.id) \
             ORDER BY j.changed_at, j.id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(changed_since)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(pending_row).collect()
    }

    /// Recorded failures of `provider` the provider has not been asked
    /// about yet, that failed at or after `since`, newest first (logs
    /// expire), at most `limit`.
    pub async fn unfetched(
        &self,
        provider: ProviderKind,
        since: i64,
        limit: i64,
    ) -> Result<Vec<PendingFailure>, StoreError> {
        let sql = format!(
            "SELECT {PENDING_COLUMNS} FROM job_failures f JOIN jobs j ON j.id = f.job_id \
             JOIN builds b ON b.id = j.build_id \
             WHERE f.fetched = 0 AND f.provider_id = $1 AND f.failed_at >= $2 \
             ORDER BY f.failed_at DESC, f.job_id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(crate::store::rows::provider_id(provider))
            .bind(since)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(pending_row).collect()
    }

    /// Writes (or rewrites) the reason of `job`, with its signature.
    pub async fn record(&self, job: &PendingFailure, record: &FailureRecord<'_>) -> Result<(), StoreError> {
        let reason = record.reason;
        let mut tx = self.begin_write().await?;
        // The attempt it is stored under, and (moved since) the one it was.
        let mut builds = vec![job.build_id];
        if let Some(row) = sqlx::query("SELECT build_id FROM job_failures WHERE job_id = $1")
            .bind(job.job_id)
            .fetch_optional(&mut *tx)
            .await?
        {
            builds.push(row.try_get("build_id")?);
        }
        let refold = Refold::start(&mut tx, self.backend, &builds).await?;
        let signature_id: Option<i64> = match &reason.signature {
            None => None,
            Some(signature) => Some(
                sqlx::query(
                    "INSERT INTO failure_signatures (fingerprint, text, first_seen) VALUES ($1, $2, $3) \
                     ON CONFLICT (fingerprint) DO UPDATE SET first_seen = CASE \
                     WHEN excluded.first_seen < failure_signatures.first_seen THEN excluded.first_seen \
                     ELSE failure_signatures.first_seen END RETURNING id",
                )
                .bind(&signature.fingerprint)
                .bind(&signature.text)
                .bind(job.failed_at)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?,
            ),
        };
        let lines = serde_json::to_string(&reason.error_lines)
            .map_err(|err| StoreError::Invariant(format!("error lines as JSON: {err}")))?;
        let class_reason = match &reason.class {
            FailureClass::Infrastructure { reason } => Some(reason.as_str()),
            FailureClass::Code => None,
        };
        sqlx::query(
            "INSERT INTO job_failures (job_id, build_id, provider_id, repo, workflow, branch, job_name, \
             failed_at, failed_step, failed_step_number, source, error_lines, signature_id, class, \
             class_reason, fetched, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (job_id) DO UPDATE SET build_id = excluded.build_id, failed_at = excluded.failed_at, \
             failed_step = excluded.failed_step, failed_step_number = excluded.failed_step_number, \
             source = excluded.source, error_lines = excluded.error_lines, \
             signature_id = excluded.signature_id, class = excluded.class, \
             class_reason = excluded.class_reason, fetched = excluded.fetched, \
             recorded_at = excluded.recorded_at",
        )
        .bind(job.job_id)
        .bind(job.build_id)
        .bind(job.provider_id)
        .bind(&job.repo)
        .bind(&job.workflow)
        .bind(&job.branch)
        .bind(&job.job_name)
        .bind(job.failed_at)
        .bind(job.failed_step.as_ref().and_then(|(_, name)| name.clone()))
        .bind(job.failed_step.as_ref().map(|(number, _)| *number))
        .bind(reason.source.as_str())
        .bind(lines)
        .bind(signature_id)
        .bind(reason.class.kind())
        .bind(class_reason)
        .bind(i64::from(record.fetched))
        .bind(record.now)
        .execute(&mut *tx)
        .await?;
        refold.finish(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps `excerpt` as `job_id`'s log excerpt, then drops the oldest
    /// excerpts until all of them together hold at most `total_cap` bytes.
    /// Answers how many were dropped.
    pub async fn keep_excerpt(
        &self,
        job_id: i64,
        excerpt: &LogExcerpt,
        total_cap: i64,
        now: i64,
    ) -> Result<u64, StoreError> {
        sqlx::query(
            "INSERT INTO job_log_excerpts (job_id, excerpt, bytes, truncated, fetched_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO UPDATE SET excerpt = excluded.excerpt, \
             bytes = excluded.bytes, truncated = excluded.truncated, fetched_at = excluded.fetched_at",
        )
        .bind(job_id)
        .bind(&excerpt.text)
        .bind(excerpt.text.len() as i64)
        .bind(i64::from(excerpt.truncated))
        .bind(now)
        .execute(&self.write)
        .await?;
        let mut dropped = 0;
        loop {
            let total: i64 =
                sqlx::query("SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS total FROM job_log_excerpts")
                    .fetch_one(&self.write)
                    .await?
                    .try_get("total")?;
            if total <= total_cap {
                return Ok(dropped);
            }
            // The oldest excerpt goes first; never more than what is over.
            let oldest =
                sqlx::query("SELECT job_id, bytes FROM job_log_excerpts ORDER BY fetched_at, job_id LIMIT 1")
                    .fetch_one(&self.write)
                    .await?;
            let oldest_id: i64 = oldest.try_get("job_id")?;
            sqlx::query("DELETE FROM job_log_excerpts WHERE job_id = $1")
                .bind(oldest_id)
                .execute(&self.write)
                .await?;
            dropped += 1;
        }
    }

    /// Deletes log excerpts fetched before `cutoff` (Unix seconds); answers
    /// how many.
    pub async fn delete_excerpts_before(&self, cutoff: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM job_log_excerpts WHERE fetched_at < $1")
            .bind(cutoff)
            .execute(&self.write)
            .await?
            .rows_affected())
    }

    /// The log excerpt of `job_id`, if one is kept: (text, truncated).
    pub async fn excerpt(&self, job_id: i64) -> Result<Option<(String, bool)>, StoreError> {
        let row = sqlx::query("SELECT excerpt, truncated FROM job_log_excerpts WHERE job_id = $1")
            .bind(job_id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| Ok((row.try_get("excerpt")?, row.try_get::<i64, _>("truncated")? != 0))).transpose()
    }
}
