//! What the providers' failure fetchers share: writing a failed job's
//! reason once its annotations (and log tail) are in, and the rule that
//! keeps fetching from starving run and job polling.
//!
//! **Budget rule**: a fetch pass asks about at most
//! `--failure-fetch-per-pass` failed jobs, and stops as soon as the
//! credential's latest rate reading has less than half of its limit left —
//! the lower half of the dashboard's share is left to run and job polling
//! (the rate gate keeps `1 − share` for others below that).

use std::sync::Arc;

use crate::config::FailureSettings;
use crate::domain::failure::{Classifier, ReasonInput, reason};
use crate::domain::words::count;
use crate::providers::log_tail::LogTail;
use crate::store::failures::{FailureRecord, LogExcerpt, PendingFailure};
use crate::store::{RateReading, Store, StoreError};

/// Failed jobs older than this many days are not fetched for (GitHub keeps
/// logs 90 days at most, often less; annotations of old jobs rarely matter).
pub const FETCH_WITHIN_DAYS: i64 = 3;

/// The store, the classifier and the settings a fetcher works with.
#[derive(Clone)]
pub struct FailureFetch {
    pub store: Store,
    pub classifier: Arc<Classifier>,
    pub settings: FailureSettings,
}

/// How a fetch pass went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FetchStats {
    /// Failed jobs whose reason was written.
    pub recorded: usize,
    /// Logs kept.
    pub logs: usize,
    /// Logs the provider no longer has (410) or refused.
    pub logs_missing: usize,
    /// Whether the pass stopped early (budget rule or a provider error).
    pub stopped: bool,
}

impl FetchStats {
    pub fn summary(&self, provider: &str) -> String {
        format!(
            "{provider} failures: {} recorded, {} kept, {} missing{}",
            count(self.recorded, "reason", "reasons"),
            count(self.logs, "log", "logs"),
            count(self.logs_missing, "log", "logs"),
            if self.stopped { " (stopped early; the rest waits for the next pass)" } else { "" }
        )
    }
}

/// Whether the budget rule lets a fetch pass go on after `rate`, at Unix
/// second `now` (a reading whose window has reset no longer counts).
pub fn budget_left(rate: RateReading, now: i64) -> bool {
    if rate.reset_at.is_some_and(|reset| reset < now) {
        return true;
    }
    match (rate.limit, rate.remaining) {
        (Some(limit), Some(remaining)) => remaining * 2 >= limit,
        _ => true,
    }
}

impl FailureFetch {
    /// The failed jobs a pass of `provider` asks about.
    pub async fn due(
        &self,
        provider: crate::domain::ProviderKind,
        now: i64,
    ) -> Result<Vec<PendingFailure>, StoreError> {
        let since = now - FETCH_WITHIN_DAYS * 86_400;
        self.store.failures().unfetched(provider, since, self.settings.failure_fetch_per_pass.max(1)).await
    }

    /// Writes `job`'s reason from its `annotations` and `log` (kept as its
    /// excerpt, under the total cap), marked fetched.
    pub async fn save(
        &self,
        job: &PendingFailure,
        annotations: &[String],
        log: Option<&LogTail>,
        now: i64,
    ) -> Result<(), StoreError> {
        let input = ReasonInput {
            conclusion: job.conclusion.as_deref(),
            failure_reason: job.failure_reason.as_deref(),
            annotations,
            log: log.map(|l| l.text.as_str()),
        };
        let found = reason(&input, &self.classifier);
        let failures = self.store.failures();
        failures.record(job, &FailureRecord { reason: &found, fetched: true, now }).await?;
        if let Some(log) = log {
            let excerpt = LogExcerpt { text: log.text.clone(), truncated: log.truncated };
            failures.keep_excerpt(job.job_id, &excerpt, self.settings.log_excerpt_total_bytes, now).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_rule_leaves_the_lower_half() {
        let rate =
            |remaining| RateReading { limit: Some(5000), remaining: Some(remaining), reset_at: Some(100) };
        assert!(budget_left(rate(2500), 50));
        assert!(!budget_left(rate(2499), 50));
        assert!(budget_left(rate(0), 101), "a new window has begun");
        assert!(budget_left(RateReading::default(), 50));
    }
}
