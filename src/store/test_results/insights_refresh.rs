//! Keeping the cached `/api/insights/tests` answers current in the
//! background, so that no reader waits for a slow recomputation (half a
//! second or more at tens of millions of executions) after an upload.
//!
//! - Every request read through the cache is *watched* by this process
//!   for [`WATCHED_FOR`] after its last read ([`MAX_WATCHED`] requests at
//!   most, the least recently read dropped first).
//! - A change of test results — an upload this process committed, or a
//!   stale answer met by a reader (a change made by another replica, a
//!   deleted build, retention) — starts a *pass* ([`poke`]) unless one is
//!   running, in which case one more pass follows it: at most one pass
//!   runs at a time per process, however many uploads arrive.
//! - A pass recomputes each watched request whose stored answer is older
//!   than its scope's version and whose last computation took longer than
//!   the recompute budget (answers computed within the budget are
//!   recomputed by their reader instead), and stores the new answer.
//!
//! While a pass runs, readers of such a request get the previous answer,
//! marked stale, with the time it was computed (`insights_cache`).
//!
//! Owns the in-memory watch list and the budget; the SQL is
//! `insights_cache`'s; must not know HTTP.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::store::Store;

/// How long after its last read a request is kept current.
pub const WATCHED_FOR: Duration = Duration::from_secs(3600);

/// Most requests watched at once.
pub const MAX_WATCHED: usize = 64;

/// The default recompute budget (milliseconds), see
/// [`InsightsRefresher::budget_ms`].
pub const DEFAULT_BUDGET_MS: u64 = crate::config::DEFAULT_TEST_INSIGHTS_BUDGET_MS;

/// The watch list and budget shared by every clone of a [`Store`].
#[derive(Debug)]
pub struct InsightsRefresher {
    budget_ms: AtomicU64,
    watch: Mutex<Watch>,
}

#[derive(Debug, Default)]
struct Watch {
    /// Request (as stored) → when it was last read.
    read: HashMap<String, Instant>,
    /// Whether a pass is running.
    running: bool,
    /// Whether a change arrived while a pass was running.
    again: bool,
}

impl Default for InsightsRefresher {
    fn default() -> Self {
        InsightsRefresher { budget_ms: AtomicU64::new(DEFAULT_BUDGET_MS), watch: Mutex::default() }
    }
}

impl InsightsRefresher {
    fn lock(&self) -> MutexGuard<'_, Watch> {
        // The list holds no invariant a panicking holder could break.
        self.watch.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Answers whose last computation took longer than this many
    /// milliseconds are served as they were, marked stale, while they are
    /// recomputed in the background; faster ones are recomputed by their
    /// reader.
    pub fn budget_ms(&self) -> u64 {
        self.budget_ms.load(Ordering::Relaxed)
    }

    pub(crate) fn set_budget_ms(&self, budget_ms: u64) {
        self.budget_ms.store(budget_ms, Ordering::Relaxed);
    }

    /// Notes that `request` was read now.
    pub(super) fn watch(&self, request: &str) {
        let mut watch = self.lock();
        let now = Instant::now();
        watch.read.retain(|_, read| now.duration_since(*read) < WATCHED_FOR);
        if !watch.read.contains_key(request) && watch.read.len() >= MAX_WATCHED {
            let oldest = watch.read.iter().min_by_key(|(_, read)| **read).map(|(r, _)| r.clone());
            if let Some(oldest) = oldest {
                watch.read.remove(&oldest);
            }
        }
        watch.read.insert(request.to_owned(), now);
    }

    /// The requests read within [`WATCHED_FOR`], most recently read first.
    pub(super) fn watched(&self) -> Vec<String> {
        let watch = self.lock();
        let now = Instant::now();
        let mut read: Vec<(&String, &Instant)> =
            watch.read.iter().filter(|(_, read)| now.duration_since(**read) < WATCHED_FOR).collect();
        read.sort_by(|a, b| b.1.cmp(a.1));
        read.into_iter().map(|(request, _)| request.clone()).collect()
    }
}

/// Marks the pass as over if its task ends without saying so (a panic).
struct PassOver<'a>(Option<&'a InsightsRefresher>);

impl Drop for PassOver<'_> {
    fn drop(&mut self) {
        if let Some(refresher) = self.0 {
            refresher.lock().running = false;
        }
    }
}

/// Starts a pass over the watched requests in the background (or asks the
/// running one to be followed by another).
pub(super) fn poke(store: &Store) {
    {
        let mut watch = store.insights_refresher.lock();
        if watch.read.is_empty() {
            return;
        }
        if watch.running {
            watch.again = true;
            return;
        }
        watch.running = true;
    }
    let store = store.clone();
    tokio::spawn(async move {
        let refresher = std::sync::Arc::clone(&store.insights_refresher);
        let mut over = PassOver(Some(&refresher));
        loop {
            if let Err(error) = store.test_results().refresh_watched().await {
                tracing::warn!(%error, "test insights not refreshed");
            }
            let mut watch = refresher.lock();
            if watch.again {
                watch.again = false;
                continue;
            }
            // Under the same lock as the check, so no change is missed.
            watch.running = false;
            over.0 = None;
            break;
        }
    });
}
