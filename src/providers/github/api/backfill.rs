//! Backfill: every run created in `[from, until)`, listed in day windows
//! (`created=…`, `per_page=100`, following `Link` pages), a window halved
//! while its `total_count` exceeds the 1 000 results GitHub serves per query.
//! Leaves are processed oldest first and the checkpoint moves to each leaf's
//! end once it is stored, so a killed backfill resumes where it stopped.

use chrono::Utc;

use super::PollError;
use super::answer::{Answer, ApiError};
use super::models::RunList;
use super::runs::RepoSync;
use crate::domain::ProviderKind;
use crate::domain::time::from_unix;
use crate::providers::PollStats;
use crate::providers::github::api::windows::{Window, windows};

/// Most results GitHub answers for one filtered query.
pub const QUERY_CAP: i64 = 1000;

/// Where a backfill stands, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Unix seconds: the span and how far it is done.
    pub from: i64,
    pub until: i64,
    pub done_until: i64,
    /// Run objects seen so far.
    pub runs: usize,
}

impl RepoSync<'_> {
    /// Lists and stores runs created in `[from, until)`; with `checkpoint`,
    /// moves the stored checkpoint after each window and marks the backfill
    /// finished at the end. `progress` hears after each window.
    pub async fn backfill(
        &self,
        from: i64,
        until: i64,
        checkpoint: bool,
        stats: &mut PollStats,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(), PollError> {
        for day in windows(from, until, 86_400) {
            let mut stack = vec![day];
            while let Some(window) = stack.pop() {
                match self.store_window(window, stats).await? {
                    WindowOutcome::Done => {
                        if let Some(done) = from_unix(window.end).filter(|_| checkpoint) {
                            self.store
                                .poll_state()
                                .set_backfill_checkpoint(ProviderKind::GitHub, self.repo, done, None)
                                .await?;
                        }
                        progress(Progress { from, until, done_until: window.end, runs: stats.runs_listed });
                    }
                    WindowOutcome::TooMany(older, newer) => {
                        stack.push(newer);
                        stack.push(older);
                    }
                }
            }
        }
        if let Some(done) = from_unix(until).filter(|_| checkpoint) {
            let now = Utc::now();
            self.store
                .poll_state()
                .set_backfill_checkpoint(ProviderKind::GitHub, self.repo, done, Some(now))
                .await?;
        }
        Ok(())
    }

    /// Stores one window's runs, or answers its halves when it holds more
    /// than GitHub will list.
    async fn store_window(&self, window: Window, stats: &mut PollStats) -> Result<WindowOutcome, PollError> {
        let created = window.created_query();
        let path = format!("/repos/{}/actions/runs", self.repo);
        let mut next = Some(self.client.url(&path, &[("created", &created), ("per_page", "100")]));
        let mut first = true;
        while let Some(url) = next.take() {
            let list = match self.client.get::<RunList>(&url, None).await {
                Ok(Answer::Fresh { value, next: following, .. }) => {
                    next = following;
                    value
                }
                Ok(Answer::NotModified) => break,
                Err(ApiError::Unprocessable { message, .. }) if !first => {
                    // Only a one-second window can still hold more than the cap.
                    tracing::warn!(repo = self.repo, %created, %message, "GitHub stopped listing this window");
                    break;
                }
                Err(err) => return Err(err.into()),
            };
            if first && list.total_count > QUERY_CAP {
                if let Some((older, newer)) = window.halves() {
                    return Ok(WindowOutcome::TooMany(older, newer));
                }
                tracing::warn!(repo = self.repo, %created, total = list.total_count,
                    "more than 1 000 runs created within one second; only the first 1 000 can be listed");
            }
            first = false;
            for run in list.workflow_runs {
                stats.runs_listed += 1;
                self.store_listed_run(run, stats).await?;
            }
        }
        Ok(WindowOutcome::Done)
    }
}

enum WindowOutcome {
    Done,
    TooMany(Window, Window),
}
