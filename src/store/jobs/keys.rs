//! The `job_keys` table: the id of a job key (provider, repository,
//! workflow, job name without matrix values; `domain::job_key`), created on first use,
//! and keying the job rows written before keys existed; the records read
//! by id, kept in memory ([`KeyCache`]).

use std::collections::HashMap;
use std::sync::RwLock;

use sqlx::{AnyConnection, Row};

use super::sql::{IDS_PER_STATEMENT, fetch, ids_sql};
use super::window::{JobKeyRecord, key_record};
use crate::domain::{Job, JobName};
use crate::store::rows::provider_id;
use crate::store::{JobInsights, Store, StoreError};

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

/// Job key records by id, as read once. A key's row never changes and its
/// id is never reused (`AUTOINCREMENT` on SQLite, a sequence on
/// PostgreSQL), so a record read stays true for the life of the database;
/// a key retention deletes is only never asked for again. Holds at most
/// [`KEY_CACHE_LIMIT`] records (then starts over): about 100 bytes each.
#[derive(Debug, Default)]
pub(in crate::store) struct KeyCache(RwLock<HashMap<i64, JobKeyRecord>>);

/// The most records a [`KeyCache`] holds.
const KEY_CACHE_LIMIT: usize = 200_000;

impl JobInsights<'_> {
    /// The job keys of `ids` that exist, by id: from the store's
    /// [`KeyCache`], reading the missing ones.
    pub async fn job_keys_by_id(&self, ids: &[i64]) -> Result<HashMap<i64, JobKeyRecord>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let cache = self.job_key_cache.0.read().map_err(|_| poisoned())?;
            for &id in ids {
                match cache.get(&id) {
                    Some(record) => {
                        found.insert(id, record.clone());
                    }
                    None => missing.push(id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let mut conn = self.read.acquire().await?;
        let mut read = Vec::with_capacity(missing.len());
        for chunk in missing.chunks(IDS_PER_STATEMENT) {
            let mut binds = Vec::new();
            let sql = format!(
                "SELECT k.id, k.provider_id, k.repo, k.workflow, k.name FROM job_keys k WHERE {}",
                ids_sql("k.id", chunk, &mut binds)
            );
            for row in &fetch(&mut conn, sql, &binds).await? {
                read.push(key_record(row)?);
            }
        }
        let mut cache = self.job_key_cache.0.write().map_err(|_| poisoned())?;
        if cache.len() + read.len() > KEY_CACHE_LIMIT {
            cache.clear();
        }
        for record in read {
            cache.insert(record.id, record.clone());
            found.insert(record.id, record);
        }
        Ok(found)
    }
}

fn poisoned() -> StoreError {
    StoreError::Invariant("the job key cache's lock was poisoned".into())
}
