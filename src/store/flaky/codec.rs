//! `flaky_occurrences` rows ↔ [`Occurrence`].

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::flaky::{Kind, Occurrence};
use crate::store::StoreError;

/// The columns [`occurrence_from_row`] reads.
pub(super) const COLUMNS: &str = "kind, run_id, workflow, commit_sha, branch, key_id, job_name, build_id, \
     failed_build_id, job_id, failed_job_id, failures, wasted_seconds, seen_at";

const INSERT: &str = "INSERT INTO flaky_occurrences (kind, run_id, workflow, commit_sha, branch, key_id, \
     job_name, build_id, failed_build_id, job_id, failed_job_id, failures, wasted_seconds, seen_at, \
     provider_id, repo) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

pub(super) fn occurrence_from_row(row: &AnyRow) -> Result<Occurrence, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Occurrence {
        kind: Kind::parse(&kind)
            .ok_or_else(|| StoreError::Invariant(format!("unknown flaky kind {kind:?} in the database")))?,
        run_id: row.try_get("run_id")?,
        workflow: row.try_get("workflow")?,
        commit_sha: row.try_get("commit_sha")?,
        branch: row.try_get("branch")?,
        key_id: row.try_get("key_id")?,
        job_name: row.try_get("job_name")?,
        build_id: row.try_get("build_id")?,
        failed_build_id: row.try_get("failed_build_id")?,
        job_id: row.try_get("job_id")?,
        failed_job_id: row.try_get("failed_job_id")?,
        failures: row.try_get("failures")?,
        wasted_seconds: row.try_get("wasted_seconds")?,
        seen_at: row.try_get("seen_at")?,
    })
}

pub(super) async fn insert_occurrence(
    conn: &mut AnyConnection,
    provider_id: i64,
    repo: &str,
    o: &Occurrence,
) -> Result<(), StoreError> {
    sqlx::query(INSERT)
        .bind(o.kind.as_str())
        .bind(&o.run_id)
        .bind(&o.workflow)
        .bind(&o.commit_sha)
        .bind(&o.branch)
        .bind(o.key_id)
        .bind(&o.job_name)
        .bind(o.build_id)
        .bind(o.failed_build_id)
        .bind(o.job_id)
        .bind(o.failed_job_id)
        .bind(o.failures)
        .bind(o.wasted_seconds)
        .bind(o.seen_at)
        .bind(provider_id)
        .bind(repo)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
