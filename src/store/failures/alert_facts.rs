//! What a failure alert says of why a build failed, read on the ingest
//! transaction's connection (alerts are decided there): its first failed
//! job (one with a recorded reason first), that job's failed step, first
//! error line and class when its reason is recorded, and its signature's
//! history (failures with it since a time, and the branch of the latest
//! other one). Also read by the alert sender on a connection of its own,
//! for an alert that waited for its failed job's reason.

use sqlx::{AnyConnection, Row};

use crate::store::{Failures, StoreError};

impl Failures<'_> {
    /// [`failure_summary_on`] on a read connection.
    ///
    /// Errors: SQL failures.
    pub async fn failure_summary(
        &self,
        build_id: i64,
        since: i64,
    ) -> Result<Option<FailureSummary>, StoreError> {
        let mut conn = self.read.acquire().await?;
        failure_summary_on(&mut conn, build_id, since).await
    }
}

/// The failure facts of one build.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailureSummary {
    pub job: Option<String>,
    pub step: Option<String>,
    pub conclusion: Option<String>,
    /// GitLab's `failure_reason`, as given.
    pub failure_reason: Option<String>,
    /// Whether the job's reason is recorded (else the fields below are empty).
    pub recorded: bool,
    pub error_line: Option<String>,
    pub class: Option<String>,
    pub class_reason: Option<String>,
    /// Failures with the job's signature since the asked time (this one included).
    pub seen: i64,
    /// The branch of the latest failure with the signature in another build.
    pub last_branch: Option<String>,
    /// Whether the signature failed in another build before.
    pub seen_before: bool,
}

/// The failure facts of `build_id` (`None` when no job of it failed);
/// `since`: the start of the signature history's window (Unix seconds).
///
/// Errors: SQL failures.
pub async fn failure_summary_on(
    conn: &mut AnyConnection,
    build_id: i64,
    since: i64,
) -> Result<Option<FailureSummary>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT j.name, j.conclusion, j.failure_reason, \
         (SELECT s.name FROM steps s WHERE s.job_id = j.id AND s.status = 'failed' ORDER BY s.number LIMIT 1) AS step, \
         f.job_id AS recorded, f.error_lines, f.class, f.class_reason, f.signature_id \
         FROM jobs j LEFT JOIN job_failures f ON f.job_id = j.id \
         WHERE j.build_id = $1 AND j.status = 'failed' \
         ORDER BY CASE WHEN f.job_id IS NULL THEN 1 ELSE 0 END, j.id LIMIT 1",
    )
    .bind(build_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let lines: Option<String> = row.try_get("error_lines")?;
    let error_line = lines
        .and_then(|text| serde_json::from_str::<Vec<String>>(&text).ok())
        .and_then(|lines| lines.into_iter().next());
    let mut summary = FailureSummary {
        job: row.try_get("name")?,
        step: row.try_get("step")?,
        conclusion: row.try_get("conclusion")?,
        failure_reason: row.try_get("failure_reason")?,
        recorded: row.try_get::<Option<i64>, _>("recorded")?.is_some(),
        error_line,
        class: row.try_get("class")?,
        class_reason: row.try_get("class_reason")?,
        ..FailureSummary::default()
    };
    if let Some(signature_id) = row.try_get::<Option<i64>, _>("signature_id")? {
        summary.seen =
            sqlx::query("SELECT COUNT(*) AS n FROM job_failures WHERE signature_id = $1 AND failed_at >= $2")
                .bind(signature_id)
                .bind(since)
                .fetch_one(&mut *conn)
                .await?
                .try_get("n")?;
        let last = sqlx::query(
            "SELECT branch FROM job_failures WHERE signature_id = $1 AND build_id <> $2 \
             ORDER BY failed_at DESC, job_id DESC LIMIT 1",
        )
        .bind(signature_id)
        .bind(build_id)
        .fetch_optional(&mut *conn)
        .await?;
        summary.seen_before = last.is_some();
        summary.last_branch = last.map(|r| r.try_get("branch")).transpose()?.flatten();
    }
    Ok(Some(summary))
}
