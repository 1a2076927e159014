//! Retention of the minute cells (`runner_minute_cells`, migration 0038):
//! a cell no minute row names any more (retention deleted its days, or a
//! fold recomputed them without it) is deleted, so the table holds the
//! cells of the kept days only. Run by the retention job after the
//! roll-ups of old days are deleted.
//!
//! The fold reads a cell's id before it writes the rows naming it, so the
//! trim takes the fold's lock (`crate::store::rollups::lock_folds`): a trim
//! between the two would leave rows naming a deleted cell, and their
//! minutes out of every answer. A cell deleted here is created again, with
//! a new id, by the next fold that needs it.

use crate::store::rollups::lock_folds;
use crate::store::{Store, StoreError};

/// Cells neither daily nor hourly minute rows name.
const UNUSED_CELLS: &str = "DELETE FROM runner_minute_cells WHERE id NOT IN \
     (SELECT cell FROM rollup_runner_minutes WHERE cell IS NOT NULL \
     UNION SELECT cell FROM rollup_runner_hour_minutes WHERE cell IS NOT NULL)";

impl Store {
    /// Deletes the minute cells no minute roll-up row names, in one
    /// transaction under the fold's lock. Answers the cells deleted.
    pub async fn delete_unused_minute_cells(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        lock_folds(&mut tx, self.backend()).await?;
        let deleted = sqlx::query(UNUSED_CELLS).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }
}
