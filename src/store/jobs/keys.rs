//! The `job_keys` table: the id of a job key (provider, repository,
//! workflow, job name without matrix values; `domain::job_key`), created on first use,
//! and keying the job rows written before keys existed.

use sqlx::{AnyConnection, Row};

use crate::domain::{Job, JobName};
use crate::store::rows::provider_id;
use crate::store::{Store, StoreError};

/// A job's key and matrix variant as the `jobs` row stores them: `None`
/// for a job without a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) struct KeyParts {
    pub provider_id: i64,
    pub repo: String,
    /// The job's `workflow`, '' when unknown.
    pub workflow: String,
    pub name: JobName,
}

impl KeyParts {
    pub(in crate::store) fn of(job: &Job) -> Option<KeyParts> {
        Some(KeyParts {
            provider_id: provider_id(job.provider),
            repo: job.repo.as_str().to_owned(),
            workflow: job.workflow.clone().unwrap_or_default(),
            name: JobName::parse(job.name.as_deref())?,
        })
    }
}

/// The id of the key, inserted if new; one statement.
pub(in crate::store) async fn key_id(conn: &mut AnyConnection, key: &KeyParts) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO job_keys (provider_id, repo, workflow, name) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (provider_id, repo, workflow, name) DO UPDATE SET name = excluded.name RETURNING id",
    )
    .bind(key.provider_id)
    .bind(&key.repo)
    .bind(&key.workflow)
    .bind(&key.name.key)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

impl Store {
    /// Keys the job rows stored before job keys existed (named, without
    /// `key_id`), 500 per transaction; answers how many. Run at start-up
    /// after the migrations; a no-op once done (an indexed empty read).
    pub(in crate::store) async fn key_unkeyed_jobs(&self) -> Result<u64, StoreError> {
        let (mut total, mut after) = (0, 0_i64);
        loop {
            let mut tx = self.begin_write().await?;
            let rows = sqlx::query(
                "SELECT j.id, j.provider_id, j.name, j.workflow, b.repo FROM jobs j JOIN builds b ON b.id = j.build_id \
                 WHERE j.key_id IS NULL AND j.name IS NOT NULL AND j.id > $1 ORDER BY j.id LIMIT 500",
            )
            .bind(after)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                return Ok(total);
            }
            for row in &rows {
                let id: i64 = row.try_get("id")?;
                after = id;
                let name: Option<String> = row.try_get("name")?;
                let provider_id: i64 = row.try_get("provider_id")?;
                let parts = JobName::parse(name.as_deref()).map(|name| KeyParts {
                    provider_id,
                    repo: row.try_get("repo").unwrap_or_default(),
                    workflow: row.try_get::<Option<String>, _>("workflow").ok().flatten().unwrap_or_default(),
                    name,
                });
                // A blank name has no key: the row stays unkeyed.
                let Some(parts) = parts else { continue };
                let key = key_id(&mut tx, &parts).await?;
                sqlx::query("UPDATE jobs SET key_id = $1, matrix = $2 WHERE id = $3")
                    .bind(key)
                    .bind(parts.name.matrix.clone())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                total += 1;
            }
            tx.commit().await?;
        }
    }
}
