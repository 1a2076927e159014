//! The `rollups` job: folds recent changes into the daily roll-ups behind
//! `/api/metrics/summary` (see `crate::store::rollups`), every 20 s on one
//! replica.

use std::sync::Arc;

use chrono::Utc;

use super::PeriodicJob;
use crate::store::rollups::FOLD_MARGIN_SECONDS;

/// Seconds between folds.
pub const INTERVAL_SECONDS: i64 = 20;

/// The job: folds every change at least [`FOLD_MARGIN_SECONDS`] old.
pub fn job() -> PeriodicJob {
    PeriodicJob {
        name: "rollups",
        interval_seconds: INTERVAL_SECONDS,
        task: Arc::new(|store| {
            Box::pin(async move {
                let through = Utc::now().timestamp() - FOLD_MARGIN_SECONDS;
                let days = store.metrics().fold_rollups(through).await?;
                Ok(format!("rollups: recomputed {days} days, folded through {through}"))
            })
        }),
    }
}
