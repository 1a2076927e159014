//! Incremental sync of one repository: the runs created in the last day,
//! listed with a conditional request (the first page's `ETag` is kept; a 304
//! costs no rate limit), then the watch list — every attempt stored as not
//! completed is fetched by id until it completes, which repairs a missed
//! `completed` webhook. A re-run of a listed run shows a higher
//! `run_attempt` and is stored as a new attempt.
//!
//! The listing starts at the hour boundary a day back, so its URL (and so
//! its `ETag`) stays the same for an hour of polls.

use chrono::{DateTime, Utc};

use super::PollError;
use super::answer::Answer;
use super::backfill::QUERY_CAP;
use super::models::RunList;
use super::runs::RepoSync;
use crate::domain::ProviderKind;
use crate::domain::time::from_unix;
use crate::providers::PollStats;
use crate::providers::github::api::windows::created_since;
use crate::store::PollRepo;

/// Most watched attempts refreshed per poll of one repository.
const WATCH_LIMIT: i64 = 200;

impl RepoSync<'_> {
    /// One incremental pass at `now`.
    pub async fn sync(
        &self,
        state: &PollRepo,
        now: DateTime<Utc>,
        stats: &mut PollStats,
    ) -> Result<(), PollError> {
        let day_ago = now.timestamp() - 86_400;
        let since = day_ago - day_ago.rem_euclid(3600);
        let etag =
            state.runs_etag.as_deref().filter(|_| state.sync_from.map(|t| t.timestamp()) == Some(since));
        let path = format!("/repos/{}/actions/runs", self.repo);
        let created = created_since(since);
        let first = self.client.url(&path, &[("created", &created), ("per_page", "100")]);
        match self.client.get::<RunList>(&first, etag).await? {
            Answer::NotModified => stats.not_modified += 1,
            Answer::Fresh { value, etag: new_etag, next } => {
                if value.total_count > QUERY_CAP {
                    // A busy day: list it in windows like a backfill.
                    self.backfill(since, now.timestamp() + 1, false, stats, &|_| {}).await?;
                } else {
                    let mut page = Some((value, next));
                    while let Some((list, next)) = page.take() {
                        for run in list.workflow_runs {
                            stats.runs_listed += 1;
                            self.store_listed_run(run, stats).await?;
                        }
                        if let Some(url) = next
                            && let Answer::Fresh { value, next, .. } =
                                self.client.get::<RunList>(&url, None).await?
                        {
                            page = Some((value, next));
                        }
                    }
                }
                if let Some(from) = from_unix(since) {
                    self.store
                        .poll_state()
                        .set_sync_validator(ProviderKind::GitHub, self.repo, from, new_etag.as_deref())
                        .await?;
                }
            }
        }
        for (run_id, number) in
            self.store.poll_state().unfinished_attempts(ProviderKind::GitHub, self.repo, WATCH_LIMIT).await?
        {
            stats.watched += 1;
            self.refresh_attempt(&run_id, number, stats).await?;
        }
        Ok(())
    }
}
