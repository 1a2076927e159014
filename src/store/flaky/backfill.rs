//! Once per database, at start-up: the flaky occurrences of the attempts
//! stored before migration 0015 (or copied without them). Only commit
//! groups that can hold one are refreshed — runs with more than one
//! attempt and (workflow, SHA) pairs with more than one attempt — 200
//! attempts per write transaction; then `flaky_backfill.done` is set.

use sqlx::Row;

use super::refresh::refresh;
use crate::store::{ChangeEvent, Store, StoreError};

/// One attempt of each group that may hold a flaky occurrence.
const CANDIDATES: &str = "SELECT MIN(id) AS id FROM builds GROUP BY provider_id, repo, external_id \
     HAVING COUNT(*) > 1 \
     UNION SELECT MIN(id) AS id FROM builds WHERE commit_sha IS NOT NULL AND workflow IS NOT NULL \
     GROUP BY provider_id, repo, workflow, commit_sha HAVING COUNT(*) > 1";

impl Store {
    /// Finds the flaky occurrences of the stored attempts if this database
    /// has not had it done; answers how many groups were looked at.
    pub(in crate::store) async fn backfill_flaky(&self) -> Result<usize, StoreError> {
        let done: i64 = sqlx::query("SELECT done FROM flaky_backfill WHERE id = 1")
            .fetch_optional(&self.write)
            .await?
            .map(|row| row.try_get("done"))
            .transpose()?
            .unwrap_or(1);
        if done != 0 {
            return Ok(0);
        }
        let ids: Vec<i64> = sqlx::query(CANDIDATES)
            .fetch_all(&self.write)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?;
        for chunk in ids.chunks(200) {
            let events: Vec<ChangeEvent> = chunk.iter().map(|&id| ChangeEvent::Build { id }).collect();
            let mut tx = self.begin_write().await?;
            refresh(&mut tx, self.backend, &events).await?;
            tx.commit().await?;
        }
        sqlx::query("UPDATE flaky_backfill SET done = 1 WHERE id = 1").execute(&self.write).await?;
        Ok(ids.len())
    }
}
