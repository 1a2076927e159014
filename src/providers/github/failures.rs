//! GitHub's failure fetcher (`github-failures`, every poll interval): for
//! each failed GitHub job recorded but not asked about yet, newest first,
//! the `failure`-level messages of its check-run annotations
//! (`GET /repos/{o}/{r}/check-runs/{job_id}/annotations`; a job's id is
//! its check run's id) and, with `--fetch-logs`, the end of its log
//! (`GET /repos/{o}/{r}/actions/jobs/{job_id}/logs`, a redirect to a
//! download URL; 410 once the log expired). Within the budget rule of
//! `providers::failure_fetch`. Owns these two requests.

use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;

use super::api::{Answer, ApiError, GitHubClient, PollError};
use crate::domain::ProviderKind;
use crate::providers::failure_fetch::{FailureFetch, FetchStats, budget_left};
use crate::scheduler::PeriodicJob;
use crate::store::failures::PendingFailure;

/// One check-run annotation (the fields read).
#[derive(Debug, Deserialize)]
struct Annotation {
    annotation_level: Option<String>,
    message: Option<String>,
}

/// The fetcher: the poller's client (its rate gate shared) and what to write with.
pub struct GitHubFailures {
    pub client: GitHubClient,
    pub fetch: FailureFetch,
}

impl GitHubFailures {
    /// One pass (see the module doc).
    ///
    /// Errors: only when the store fails; a provider error stops the pass.
    pub async fn pass(&self) -> Result<FetchStats, PollError> {
        let now = Utc::now().timestamp();
        let mut stats = FetchStats::default();
        for job in self.fetch.due(ProviderKind::GitHub, now).await? {
            if !budget_left(self.client.rate(), Utc::now().timestamp()) {
                stats.stopped = true;
                break;
            }
            match self.one(&job, now, &mut stats).await {
                Ok(()) => stats.recorded += 1,
                Err(PollError::Api(err)) => {
                    tracing::warn!(job = job.external_id, repo = job.repo, error = %err,
                        "could not fetch a failed job's annotations; trying again next pass");
                    stats.stopped = true;
                    break;
                }
                Err(err) => return Err(err),
            }
        }
        Ok(stats)
    }

    async fn one(&self, job: &PendingFailure, now: i64, stats: &mut FetchStats) -> Result<(), PollError> {
        let path = format!("/repos/{}/check-runs/{}/annotations", job.repo, job.external_id);
        let url = self.client.url(&path, &[("per_page", "50")]);
        let annotations: Vec<String> = match self.client.get::<Vec<Annotation>>(&url, None).await {
            Ok(Answer::Fresh { value, .. }) => value
                .into_iter()
                .filter(|a| a.annotation_level.as_deref() == Some("failure"))
                .filter_map(|a| a.message)
                .collect(),
            Ok(Answer::NotModified) | Err(ApiError::NotFound(_) | ApiError::Gone(_)) => Vec::new(),
            Err(err) => return Err(err.into()),
        };
        let mut log = None;
        if self.fetch.settings.fetch_logs {
            let path = format!("/repos/{}/actions/jobs/{}/logs", job.repo, job.external_id);
            match self
                .client
                .get_tail(&self.client.url(&path, &[]), self.fetch.settings.log_excerpt_bytes)
                .await
            {
                Ok(tail) => {
                    stats.logs += 1;
                    log = Some(tail);
                }
                Err(ApiError::NotFound(_) | ApiError::Gone(_) | ApiError::Status { status: 403, .. }) => {
                    stats.logs_missing += 1;
                }
                Err(err) => return Err(err.into()),
            }
        }
        self.fetch.save(job, &annotations, log.as_ref(), now).await?;
        Ok(())
    }

    /// The periodic job `github-failures`, every `interval_seconds`.
    pub fn job(self: Arc<Self>, interval_seconds: i64) -> PeriodicJob {
        PeriodicJob {
            name: "github-failures",
            interval_seconds: interval_seconds.max(1),
            task: Arc::new(move |_store| {
                let fetcher = self.clone();
                Box::pin(async move { Ok(fetcher.pass().await?.summary("GitHub")) })
            }),
        }
    }
}
