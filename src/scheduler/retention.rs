//! Retention: deletes run attempts (with their jobs) and raw deliveries
//! older than the configured age (then the roll-ups of those days, and
//! the job keys and runner minute cells nothing names any more), and
//! uploaded test results older than their own age, once an hour.

use std::sync::Arc;

use chrono::Utc;

use super::PeriodicJob;

/// The retention job for `days` days of history (`None`: keep everything,
/// and no job is scheduled).
pub fn job(days: Option<u32>) -> Option<PeriodicJob> {
    let days = days.filter(|d| *d > 0)?;
    Some(PeriodicJob {
        name: "retention",
        interval_seconds: 3600,
        task: Arc::new(move |store| {
            Box::pin(async move {
                let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
                let (attempts, deliveries) = store.delete_older_than(cutoff).await?;
                let (rollups, keys) = store.delete_job_leftovers(cutoff.timestamp()).await?;
                let cells = store.delete_unused_minute_cells().await?;
                let deployments = store.deployments().delete_older_than(cutoff.timestamp()).await?;
                Ok(format!(
                    "retention: deleted {attempts} run attempts, {deliveries} deliveries, {rollups} roll-up rows, \
                     {keys} unused job keys, {cells} unused runner minute cells and {deployments} deployment, commit and incident rows older than {days} days"
                ))
            })
        }),
    })
}

/// The test-result retention job for `days` days of uploads (`None` or 0:
/// keep everything, and no job is scheduled).
pub fn test_results_job(days: Option<u32>) -> Option<PeriodicJob> {
    let days = days.filter(|d| *d > 0)?;
    Some(PeriodicJob {
        name: "test-retention",
        interval_seconds: 3600,
        task: Arc::new(move |store| {
            Box::pin(async move {
                let cutoff = (Utc::now() - chrono::Duration::days(i64::from(days))).timestamp();
                let (uploads, tests) = store.test_results().delete_older_than(cutoff).await?;
                Ok(format!(
                    "test retention: deleted {uploads} test report uploads older than {days} days and {tests} tests no longer reported"
                ))
            })
        }),
    })
}
