//! Fetching one workflow run the way webhooks would have told it: every
//! attempt (the list answers only the latest; earlier ones come from
//! `…/runs/{id}/attempts/{n}`) and each attempt's jobs (`…/attempts/{n}/jobs`,
//! paginated), applied through the same normalisation and merge rules as
//! webhooks (`Store::apply_polled`), one transaction per run.
//!
//! Attempts already stored as completed, and not updated since, are not
//! fetched again.

use chrono::{DateTime, Utc};

use super::PollError;
use super::answer::{Answer, ApiError};
use super::client::GitHubClient;
use super::models::{JobList, WorkflowRunObject};
use crate::domain::Change;
use crate::domain::{ProviderKind, RunAttempt};
use crate::providers::PollStats;
use crate::providers::github::webhook::{job_from_rest, run_from_rest};
use crate::store::Store;

/// One repository being polled.
pub struct RepoSync<'a> {
    pub client: &'a GitHubClient,
    pub store: &'a Store,
    /// `owner/name`.
    pub repo: &'a str,
}

impl RepoSync<'_> {
    fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}{rest}", self.repo)
    }

    /// Whether the stored attempt is completed and at least as new as
    /// `updated_at` (so fetching it again can change nothing).
    async fn settled(
        &self,
        run_id: &str,
        attempt: i64,
        updated_at: Option<DateTime<Utc>>,
    ) -> Result<bool, PollError> {
        let stored =
            self.store.poll_state().attempt_state(ProviderKind::GitHub, self.repo, run_id, attempt).await?;
        Ok(match stored {
            Some((status, stored_updated)) if status.is_completed() => match (stored_updated, updated_at) {
                (Some(stored), Some(listed)) => stored >= listed,
                (_, None) => true,
                (None, Some(_)) => false,
            },
            _ => false,
        })
    }

    /// Stores a run object from a listing (its latest attempt) with the
    /// earlier attempts not stored as completed yet, and their jobs.
    pub async fn store_listed_run(
        &self,
        run: WorkflowRunObject,
        stats: &mut PollStats,
    ) -> Result<(), PollError> {
        let latest = match run_from_rest(run, self.repo) {
            Ok(attempt) => attempt,
            Err(err) => {
                stats.skipped += 1;
                tracing::warn!(repo = self.repo, error = %err, "skipping an unusable run object");
                return Ok(());
            }
        };
        let mut changes = Vec::new();
        for number in 1..latest.run_attempt {
            if self.settled(&latest.run_id, number, None).await? {
                continue;
            }
            let path = self.repo_path(&format!("/actions/runs/{}/attempts/{number}", latest.run_id));
            match self.client.get::<WorkflowRunObject>(&self.client.url(&path, &[]), None).await {
                Ok(Answer::Fresh { value, .. }) => {
                    if let Ok(earlier) = run_from_rest(value, self.repo) {
                        self.attempt_changes(earlier, &mut changes).await?;
                    }
                }
                Ok(Answer::NotModified) | Err(ApiError::NotFound(_)) | Err(ApiError::Gone(_)) => {}
                Err(err) => return Err(err.into()),
            }
        }
        if !self.settled(&latest.run_id, latest.run_attempt, latest.updated_at).await? {
            self.attempt_changes(latest, &mut changes).await?;
        } else {
            stats.unchanged += 1;
        }
        self.apply(&changes, stats).await
    }

    /// Fetches one attempt by id (the watch list) and stores it with its jobs.
    /// A run deleted meanwhile (404/410) is left as stored.
    pub async fn refresh_attempt(
        &self,
        run_id: &str,
        number: i64,
        stats: &mut PollStats,
    ) -> Result<(), PollError> {
        let path = self.repo_path(&format!("/actions/runs/{run_id}/attempts/{number}"));
        let run = match self.client.get::<WorkflowRunObject>(&self.client.url(&path, &[]), None).await {
            Ok(Answer::Fresh { value, .. }) => value,
            Ok(Answer::NotModified) | Err(ApiError::NotFound(_)) | Err(ApiError::Gone(_)) => return Ok(()),
            Err(err) => return Err(err.into()),
        };
        let Ok(attempt) = run_from_rest(run, self.repo) else {
            stats.skipped += 1;
            return Ok(());
        };
        let mut changes = Vec::new();
        self.attempt_changes(attempt, &mut changes).await?;
        self.apply(&changes, stats).await
    }

    /// The attempt and all its jobs, as changes.
    async fn attempt_changes(&self, attempt: RunAttempt, changes: &mut Vec<Change>) -> Result<(), PollError> {
        let path = self
            .repo_path(&format!("/actions/runs/{}/attempts/{}/jobs", attempt.run_id, attempt.run_attempt));
        let mut next = Some(self.client.url(&path, &[("per_page", "100")]));
        let number = attempt.run_attempt;
        changes.push(Change::Run(attempt));
        while let Some(url) = next.take() {
            match self.client.get::<JobList>(&url, None).await {
                Ok(Answer::Fresh { value, next: following, .. }) => {
                    for job in value.jobs {
                        match job_from_rest(job, self.repo, number) {
                            Ok(job) => changes.push(Change::Job(job)),
                            Err(err) => {
                                tracing::warn!(repo = self.repo, error = %err, "skipping an unusable job")
                            }
                        }
                    }
                    next = following;
                }
                Ok(Answer::NotModified) | Err(ApiError::NotFound(_)) | Err(ApiError::Gone(_)) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    async fn apply(&self, changes: &[Change], stats: &mut PollStats) -> Result<(), PollError> {
        stats.attempts += changes.iter().filter(|c| matches!(c, Change::Run(_))).count();
        stats.rows_changed += self.store.deliveries().apply_polled(changes).await?;
        Ok(())
    }
}
