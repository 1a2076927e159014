//! The `failure-reasons` job (every minute): every failed job written in
//! the last [`LOOKBACK_DAYS`] days without a reason gets one from what is
//! stored (its failed step, conclusion, GitLab's `failure_reason`), so
//! webhook-only installations and every provider get failure signatures;
//! a provider with a failure fetcher (`providers::*::failures`) then adds
//! annotations and log lines to it. Also drops log excerpts older than
//! `--log-retention-days`. Owns no SQL and no requests.

use std::sync::Arc;

use chrono::Utc;

use super::PeriodicJob;
use crate::domain::ProviderKind;
use crate::domain::failure::{Classifier, ReasonInput, reason};
use crate::store::failures::FailureRecord;
use crate::store::{Store, StoreError};

/// How far back a pass looks for failed jobs without a reason.
pub const LOOKBACK_DAYS: i64 = 7;

/// Failed jobs given a reason per pass at most.
pub const PER_PASS: i64 = 1_000;

/// Gives each failed job without a reason its reason from what is stored;
/// those of the `fetched_by` providers are left marked not fetched, for
/// their fetcher. Answers how many were recorded.
///
/// Errors: the store failed.
pub async fn record_pending(
    store: &Store,
    classifier: &Classifier,
    fetched_by: &[ProviderKind],
    now: i64,
) -> Result<usize, StoreError> {
    let failures = store.failures();
    let fetchers: Vec<&str> = fetched_by.iter().map(|p| p.kind()).collect();
    let pending = failures.pending(now - LOOKBACK_DAYS * 86_400, PER_PASS).await?;
    for job in &pending {
        let input = ReasonInput {
            conclusion: job.conclusion.as_deref(),
            failure_reason: job.failure_reason.as_deref(),
            ..ReasonInput::default()
        };
        let found = reason(&input, classifier);
        let provider = store_kind(job.provider_id);
        let fetched = !provider.is_some_and(|p| fetchers.contains(&p.kind()));
        failures.record(job, &FailureRecord { reason: &found, fetched, now }).await?;
    }
    Ok(pending.len())
}

fn store_kind(provider_id: i64) -> Option<ProviderKind> {
    match provider_id {
        1 => Some(ProviderKind::GitHub),
        2 => Some(ProviderKind::GitLab),
        _ => None,
    }
}

/// The periodic job; `log_retention_days` 0 keeps excerpts until their
/// run attempt goes.
pub fn job(
    classifier: Arc<Classifier>,
    fetched_by: Vec<ProviderKind>,
    log_retention_days: u32,
) -> PeriodicJob {
    PeriodicJob {
        name: "failure-reasons",
        interval_seconds: 60,
        task: Arc::new(move |store| {
            let classifier = classifier.clone();
            let fetched_by = fetched_by.clone();
            Box::pin(async move {
                let now = Utc::now().timestamp();
                let recorded = record_pending(&store, &classifier, &fetched_by, now).await?;
                let dropped = if log_retention_days > 0 {
                    let cutoff = now - i64::from(log_retention_days) * 86_400;
                    store.failures().delete_excerpts_before(cutoff).await?
                } else {
                    0
                };
                Ok(format!("failure reasons: {recorded} recorded, {dropped} old log excerpts dropped"))
            })
        }),
    }
}
