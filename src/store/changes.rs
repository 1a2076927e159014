//! Reads for resuming the change-event stream (`Last-Event-ID`): the builds
//! changed since a time, through `builds_by_changed`, and the jobs of those
//! builds changed since then, through `jobs_by_build`. A job change that did
//! not change its build in the same gap is not found here (there is no
//! index on `jobs.changed_at`); clients that show jobs re-read them after a
//! reconnect.

use super::StoreError;
use super::builds::{BuildRecord, JobRecord};
use super::rows::{build_columns, job_columns, job_from_row, run_from_row};
use crate::store::Builds;

/// Rows changed since a time, oldest change first.
#[derive(Debug, Clone, Default)]
pub struct ChangedSince {
    pub builds: Vec<BuildRecord>,
    pub jobs: Vec<JobRecord>,
    /// More builds changed than `max_builds`: the caller should ask its
    /// client to re-read everything instead.
    pub truncated: bool,
}

impl Builds<'_> {
    /// Builds whose `changed_at` is at or after `since` (Unix seconds), up to
    /// `max_builds`, and their jobs changed at or after `since`.
    pub async fn changed_since(&self, since: i64, max_builds: i64) -> Result<ChangedSince, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            build_columns!(),
            " FROM builds WHERE changed_at >= $1 ORDER BY changed_at, id LIMIT $2"
        ))
        .bind(since)
        .bind(max_builds + 1)
        .fetch_all(&self.read)
        .await?;
        let mut builds: Vec<BuildRecord> = rows
            .iter()
            .map(|row| run_from_row(row).map(|(id, attempt)| BuildRecord { id, attempt }))
            .collect::<Result<_, _>>()?;
        let truncated = builds.len() as i64 > max_builds;
        builds.truncate(max_builds.max(0) as usize);
        let mut jobs = Vec::new();
        if !truncated && !builds.is_empty() {
            let rows = sqlx::query(concat!(
                "SELECT ",
                job_columns!(),
                " FROM builds b JOIN jobs j ON j.build_id = b.id \
                 WHERE b.changed_at >= $1 AND j.changed_at >= $1 ORDER BY j.changed_at, j.id"
            ))
            .bind(since)
            .fetch_all(&self.read)
            .await?;
            jobs = rows
                .iter()
                .map(|row| job_from_row(row).map(|(id, build_id, job)| JobRecord { id, build_id, job }))
                .collect::<Result<_, _>>()?;
        }
        Ok(ChangedSince { builds, jobs, truncated })
    }
}
