//! One GitLab project being polled: fetching a pipeline the way webhooks
//! would have told it (`GET /projects/:id/pipelines/:pipeline_id` for the
//! full object, `…/jobs?include_retried=true` paginated for every try of
//! every job), turned into attempts and jobs by `to_domain` and applied
//! through the same merge rules as webhooks (`apply_polled`), one
//! transaction per pipeline.
//!
//! A listed pipeline whose latest stored attempt is completed and at least
//! as new as the listing's `updated_at` is not fetched again.

use chrono::{DateTime, Utc};

use super::PollError;
use super::answer::ApiError;
use super::client::GitLabClient;
use super::models::{Job, Pipeline};
use super::to_domain::pipeline_changes;
use crate::domain::time::parse_timestamp;
use crate::domain::{Change, ProviderKind};
use crate::providers::PollStats;
use crate::store::Store;

/// One project being polled.
pub struct ProjectSync<'a> {
    pub client: &'a GitLabClient,
    pub store: &'a Store,
    /// `group/app` (`path_with_namespace`), as builds are stored under.
    pub repo: &'a str,
    /// What `/projects/:id` takes: the numeric id, else the path.
    pub key: String,
}

impl ProjectSync<'_> {
    /// Whether the stored pipeline is completed and at least as new as
    /// `updated_at` (so fetching it again can change nothing).
    async fn settled(&self, pipeline: &Pipeline) -> Result<bool, PollError> {
        let listed = pipeline.updated_at.as_deref().and_then(|t| parse_timestamp(t).ok());
        let stored = self
            .store
            .poll_state()
            .latest_attempt_state(ProviderKind::GitLab, self.repo, &pipeline.id.to_string())
            .await?;
        Ok(match stored {
            Some((status, stored_updated)) if status.is_completed() => match (stored_updated, listed) {
                (Some(stored), Some(listed)) => stored >= listed,
                (_, None) => true,
                (None, Some(_)) => false,
            },
            _ => false,
        })
    }

    /// Stores a pipeline from a listing unless it is settled.
    pub async fn store_listed(&self, listed: Pipeline, stats: &mut PollStats) -> Result<(), PollError> {
        stats.runs_listed += 1;
        if self.settled(&listed).await? {
            stats.unchanged += 1;
            return Ok(());
        }
        self.refresh(listed.id, stats).await
    }

    /// Fetches one pipeline by id with all its jobs and stores them. A
    /// pipeline deleted meanwhile (404) is left as stored.
    pub async fn refresh(&self, pipeline_id: i64, stats: &mut PollStats) -> Result<(), PollError> {
        let id = pipeline_id.to_string();
        let url = self.client.url(&["projects", &self.key, "pipelines", &id], &[]);
        let pipeline = match self.client.get::<Pipeline>(&url).await {
            Ok(page) => page.value,
            Err(ApiError::NotFound(_)) => return Ok(()),
            Err(err) => return Err(err.into()),
        };
        let jobs = self.jobs(&id).await?;
        let changes = pipeline_changes(&pipeline, &jobs, self.repo);
        stats.attempts += changes.iter().filter(|c| matches!(c, Change::Run(_) | Change::Tries(_))).count();
        stats.rows_changed += self.store.deliveries().apply_polled(&changes).await?;
        Ok(())
    }

    /// Every job of the pipeline, retried ones included, all pages.
    async fn jobs(&self, pipeline_id: &str) -> Result<Vec<Job>, PollError> {
        let query = [("include_retried", "true"), ("per_page", "100")];
        let mut next =
            Some(self.client.url(&["projects", &self.key, "pipelines", pipeline_id, "jobs"], &query));
        let mut jobs = Vec::new();
        while let Some(url) = next.take() {
            match self.client.get::<Vec<Job>>(&url).await {
                Ok(page) => {
                    jobs.extend(page.value);
                    next = page.next;
                }
                Err(ApiError::NotFound(_)) => break,
                Err(err) => return Err(err.into()),
            }
        }
        Ok(jobs)
    }

    /// Lists the pipelines updated after `after`, oldest change first
    /// (`order_by=updated_at&sort=asc`, 100 a page), storing each; after
    /// every page `checkpoint` hears the newest `updated_at` stored so far
    /// (whole seconds: a pipeline changed within that second is listed
    /// again next time and found settled). Answers that instant.
    pub async fn pass<F, Fut>(
        &self,
        after: DateTime<Utc>,
        stats: &mut PollStats,
        mut checkpoint: F,
    ) -> Result<DateTime<Utc>, PollError>
    where
        F: FnMut(DateTime<Utc>, usize) -> Fut,
        Fut: std::future::Future<Output = Result<(), PollError>>,
    {
        let since = after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let query = [
            ("updated_after", since.as_str()),
            ("order_by", "updated_at"),
            ("sort", "asc"),
            ("per_page", "100"),
        ];
        let mut next = Some(self.client.url(&["projects", &self.key, "pipelines"], &query));
        let mut cursor = after;
        while let Some(url) = next.take() {
            let page = self.client.get::<Vec<Pipeline>>(&url).await?;
            next = page.next;
            for pipeline in page.value {
                let updated = pipeline.updated_at.as_deref().and_then(|t| parse_timestamp(t).ok());
                self.store_listed(pipeline, stats).await?;
                cursor = cursor.max(updated.unwrap_or(cursor));
            }
            checkpoint(cursor, stats.runs_listed).await?;
        }
        Ok(cursor)
    }
}
