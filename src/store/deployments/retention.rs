//! Deployment retention: deployments finished (or, never finished, last
//! changed) before the cutoff with the commits they carried, commits first seen before it, incidents
//! resolved before it; the lead-time roll-up's days before it (`lead_days`).

use crate::store::{Deployments, StoreError};

const OLD_DEPLOYMENTS: &str = "DELETE FROM deployments WHERE id IN (SELECT id FROM deployments WHERE \
     COALESCE(finished_at, changed_at) < $1 LIMIT 1000)";
const OLD_DEPLOYED_COMMITS: &str = "DELETE FROM deployment_commits WHERE id IN (SELECT id FROM \
     deployment_commits WHERE finished_at < $1 LIMIT 1000)";
const OLD_COMMITS: &str =
    "DELETE FROM commits WHERE id IN (SELECT id FROM commits WHERE first_seen < $1 LIMIT 1000)";
const OLD_INCIDENTS: &str = "DELETE FROM incidents WHERE id IN (SELECT id FROM incidents WHERE \
     resolved_at IS NOT NULL AND resolved_at < $1 LIMIT 1000)";

impl Deployments<'_> {
    /// Deletes what is older than `cutoff` (Unix seconds), 1 000 rows per
    /// statement; answers the rows deleted.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn delete_older_than(&self, cutoff: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        for sql in [OLD_DEPLOYMENTS, OLD_DEPLOYED_COMMITS, OLD_COMMITS, OLD_INCIDENTS] {
            loop {
                let deleted = sqlx::query(sql).bind(cutoff).execute(&self.write).await?.rows_affected();
                if deleted == 0 {
                    break;
                }
                total += deleted;
            }
            if sql == OLD_DEPLOYED_COMMITS {
                self.retain_lead_days(cutoff).await?;
            }
        }
        Ok(total)
    }
}
