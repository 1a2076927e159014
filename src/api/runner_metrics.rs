//! The runner series of `/metrics`, sampled from the database at each
//! scrape: `ci_jobs_queued{labels}` and `ci_jobs_running{labels}` (gauges:
//! jobs queued for a runner / running now, as `/api/insights/runners`
//! counts them) and `ci_job_queue_seconds{labels}` (histogram of queue
//! times, each job observed once when its start is read).
//!
//! Cardinality: `labels` is a runner label set (sorted, lowercased, joined
//! by `,`; `none` for a job asking for no label). At most
//! `--metrics-label-sets` (K) label sets get their own value, given
//! first come, first served for the life of the process (so a series never
//! changes its name); every further label set is counted as
//! `labels="other"`. So the three metrics hold at most 3 × (K + 1) series
//! (the histogram's buckets apart).
//!
//! The histogram reads, at each scrape, the jobs whose `started_at` lies
//! between the previous scrape's cutoff and now − [`SETTLE_SECONDS`], and
//! observes the queue time of those a runner has taken (skipped ones left
//! out). The delay lets late `in_progress` deliveries arrive; a job whose
//! start is stored later than that is not observed. A new process starts
//! [`START_LOOKBACK_SECONDS`] back. Every replica reads the shared
//! database, so each one reports every job: scrape one, or aggregate
//! replicas with `max`, not `sum`.
//!
//! Owns only this sampling; SQL is in the store, the label-set rule in
//! `crate::metrics::runners`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::domain::BuildStatus;
use crate::metrics::runners::JobSpan;
use crate::store::{RunnerFilter, Store};

/// Seconds a job's start must be in the past before its queue time is
/// observed.
pub const SETTLE_SECONDS: i64 = 120;

/// How far back a new process starts observing (before the settle delay).
pub const START_LOOKBACK_SECONDS: i64 = 180;

/// Buckets (seconds) of `ci_job_queue_seconds`: 5 s to 6 h.
pub const QUEUE_BUCKETS: &[f64] =
    &[5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0];

/// The label value of a label set: at most `limit` distinct values, the
/// rest `other`.
#[derive(Debug)]
pub struct LabelNames {
    limit: usize,
    named: Vec<String>,
}

impl LabelNames {
    pub fn new(limit: usize) -> LabelNames {
        LabelNames { limit, named: Vec::new() }
    }

    /// The `labels` value of `label_set` (already sorted and lowercased).
    pub fn name(&mut self, label_set: &[String]) -> String {
        let joined = if label_set.is_empty() { "none".to_owned() } else { label_set.join(",") };
        if self.named.contains(&joined) {
            return joined;
        }
        if self.named.len() < self.limit {
            self.named.push(joined.clone());
            return joined;
        }
        "other".to_owned()
    }

    /// Every value handed out so far, and `other`.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.named.iter().map(String::as_str).chain(std::iter::once("other"))
    }
}

/// The process's sampling state.
#[derive(Debug)]
pub struct RunnerMetrics {
    names: Mutex<LabelNames>,
    /// Jobs started before this (Unix seconds) have been observed.
    observed_until: Mutex<i64>,
}

impl RunnerMetrics {
    /// Naming at most `label_sets` label sets, observing from now −
    /// [`START_LOOKBACK_SECONDS`].
    pub fn new(label_sets: usize) -> RunnerMetrics {
        let now = chrono::Utc::now().timestamp();
        RunnerMetrics {
            names: Mutex::new(LabelNames::new(label_sets)),
            observed_until: Mutex::new(now - START_LOOKBACK_SECONDS),
        }
    }

    /// Sets the gauges and feeds the histogram from `store`. A database
    /// error leaves the series as they were (the scrape still answers).
    pub async fn sample(&self, store: &Store) {
        let now = chrono::Utc::now().timestamp();
        let all = RunnerFilter::default();
        if let Ok(open) = store.metrics().open_jobs(&all).await {
            let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
            for name in names.all() {
                counts.insert(name.to_owned(), (0, 0));
            }
            for span in &open {
                let entry = counts.entry(names.name(&span.label_set())).or_default();
                if span.is_waiting_for_runner() {
                    entry.0 += 1;
                } else if span.status == BuildStatus::Running {
                    entry.1 += 1;
                }
            }
            drop(names);
            for (labels, (queued, running)) in counts {
                metrics::gauge!("ci_jobs_queued", "labels" => labels.clone()).set(queued as f64);
                metrics::gauge!("ci_jobs_running", "labels" => labels).set(running as f64);
            }
        }
        let cutoff = now - SETTLE_SECONDS;
        let since = *self.observed_until.lock().unwrap_or_else(|e| e.into_inner());
        if cutoff <= since {
            return;
        }
        if let Ok(spans) = store.metrics().job_spans(since, cutoff, &all).await {
            let mut observed = self.observed_until.lock().unwrap_or_else(|e| e.into_inner());
            if *observed != since {
                return; // a concurrent scrape observed this range
            }
            *observed = cutoff;
            drop(observed);
            self.observe(&spans);
        }
    }

    fn observe(&self, spans: &[JobSpan]) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        for span in spans.iter().filter(|s| s.status != BuildStatus::Skipped) {
            if let Some(queue) = span.queue_seconds() {
                let labels = names.name(&span.label_set());
                metrics::histogram!("ci_job_queue_seconds", "labels" => labels).record(queue as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_k_label_sets_are_named_first_come_and_the_rest_are_other() {
        let mut names = LabelNames::new(2);
        let set = |labels: &[&str]| labels.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
        assert_eq!(names.name(&set(&["linux", "self-hosted"])), "linux,self-hosted");
        assert_eq!(names.name(&set(&[])), "none");
        assert_eq!(names.name(&set(&["ubuntu-latest"])), "other");
        assert_eq!(names.name(&set(&["linux", "self-hosted"])), "linux,self-hosted");
        assert_eq!(names.all().collect::<Vec<_>>(), vec!["linux,self-hosted", "none", "other"]);
        assert_eq!(LabelNames::new(0).name(&set(&["a"])), "other");
    }
}
