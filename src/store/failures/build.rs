//! A build's failed jobs with their reasons (`/api/builds/{id}`): failed
//! step, error lines, signature, class, the kept end of the log, and "same
//! error in N other builds": the other run attempts stored with a failure
//! of the same signature (any age the retention kept), the latest linked.

use serde::Serialize;
use sqlx::Row;

use super::read::lines_of;
use crate::store::{Failures, StoreError};

/// Other builds linked from a failed job ("same error in N other builds").
pub const MAX_OTHER_BUILDS: i64 = 5;

/// A failed job of a build with its reason (text only, never HTML).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BuildFailure {
    pub job_id: i64,
    pub job_name: Option<String>,
    pub failed_step: Option<String>,
    pub failed_step_number: Option<i64>,
    /// `annotation`, `log`, `failure_reason` or `none`.
    pub source: String,
    pub error_lines: Vec<String>,
    pub fingerprint: Option<String>,
    pub signature: Option<String>,
    /// `infrastructure` or `code`.
    pub class: String,
    /// The rule that made it infrastructure (`timeout`, `out_of_memory`…).
    pub class_reason: Option<String>,
    /// Other run attempts with a failure of the same signature.
    pub same_error_builds: i64,
    /// The latest of them (at most 5), newest first.
    pub other_build_ids: Vec<i64>,
    /// The kept end of the job's log (`--fetch-logs`), plain text.
    pub log_excerpt: Option<String>,
    pub log_truncated: bool,
}

impl Failures<'_> {
    /// The failed jobs of `build_id` with their reasons, by job id.
    pub async fn build_failures(&self, build_id: i64) -> Result<Vec<BuildFailure>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.job_id, f.job_name, f.failed_step, f.failed_step_number, f.source, f.error_lines, \
             f.signature_id, f.class, f.class_reason, s.fingerprint, s.text, \
             x.excerpt, x.truncated FROM job_failures f \
             LEFT JOIN failure_signatures s ON s.id = f.signature_id \
             LEFT JOIN job_log_excerpts x ON x.job_id = f.job_id \
             WHERE f.build_id = $1 ORDER BY f.job_id",
        )
        .bind(build_id)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let signature_id: Option<i64> = row.try_get("signature_id")?;
            let (same, others) = match signature_id {
                Some(id) => self.other_builds(id, build_id).await?,
                None => (0, Vec::new()),
            };
            out.push(BuildFailure {
                job_id: row.try_get("job_id")?,
                job_name: row.try_get("job_name")?,
                failed_step: row.try_get("failed_step")?,
                failed_step_number: row.try_get("failed_step_number")?,
                source: row.try_get("source")?,
                error_lines: lines_of(row)?,
                fingerprint: row.try_get("fingerprint")?,
                signature: row.try_get("text")?,
                class: row.try_get("class")?,
                class_reason: row.try_get("class_reason")?,
                same_error_builds: same,
                other_build_ids: others,
                log_excerpt: row.try_get("excerpt")?,
                log_truncated: row.try_get::<Option<i64>, _>("truncated")?.unwrap_or(0) != 0,
            });
        }
        Ok(out)
    }

    /// How many other builds failed with signature `id`, and the latest few.
    async fn other_builds(&self, id: i64, build_id: i64) -> Result<(i64, Vec<i64>), StoreError> {
        let count: i64 = sqlx::query(
            "SELECT COUNT(DISTINCT build_id) AS n FROM job_failures WHERE signature_id = $1 AND build_id <> $2",
        )
        .bind(id)
        .bind(build_id)
        .fetch_one(&self.read)
        .await?
        .try_get("n")?;
        let latest = sqlx::query(
            "SELECT build_id, MAX(failed_at) AS at FROM job_failures WHERE signature_id = $1 AND build_id <> $2 \
             GROUP BY build_id ORDER BY at DESC, build_id DESC LIMIT $3",
        )
        .bind(id)
        .bind(build_id)
        .bind(MAX_OTHER_BUILDS)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| row.try_get("build_id"))
        .collect::<Result<Vec<i64>, _>>()?;
        Ok((count, latest))
    }
}
