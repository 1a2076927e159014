//! GitLab's failure fetcher (`gitlab-failures`, only with `--fetch-logs`):
//! for each failed GitLab job recorded but not asked about yet, newest
//! first, the end of its trace (`GET /projects/:id/jobs/:job_id/trace`)
//! from the instance its project is polled on. GitLab's `failure_reason`
//! is stored with the job and used as given. Within the budget rule of
//! `providers::failure_fetch`. Owns this request.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;

use super::api::{ApiError, GitLabClient, PollError};
use crate::domain::ProviderKind;
use crate::providers::failure_fetch::{FailureFetch, FetchStats, budget_left};
use crate::scheduler::PeriodicJob;

/// The fetcher: the poller's clients (their rate gates shared).
pub struct GitLabFailures {
    pub clients: Vec<GitLabClient>,
    pub fetch: FailureFetch,
}

impl GitLabFailures {
    /// One pass (see the module doc). A job whose project is not polled
    /// here, or whose trace is gone (404/403), is recorded without a log.
    ///
    /// Errors: only when the store fails; another provider error stops the pass.
    pub async fn pass(&self) -> Result<FetchStats, PollError> {
        let now = Utc::now().timestamp();
        let mut stats = FetchStats::default();
        let due = self.fetch.due(ProviderKind::GitLab, now).await?;
        if due.is_empty() {
            return Ok(stats);
        }
        let projects: HashMap<String, (Option<String>, Option<i64>)> = self
            .fetch
            .store
            .poll_state()
            .poll_repos(Some(ProviderKind::GitLab))
            .await?
            .into_iter()
            .map(|r| (r.repo, (r.instance_url, r.project_id)))
            .collect();
        for job in due {
            let place = projects.get(&job.repo);
            let client = place.and_then(|(instance, _)| match instance {
                Some(url) => self.clients.iter().find(|c| c.instance() == url),
                None => self.clients.first(),
            });
            let mut log = None;
            if let (Some(client), Some((_, project_id))) = (client, place) {
                if !budget_left(client.rate(), Utc::now().timestamp()) {
                    stats.stopped = true;
                    break;
                }
                let key = project_id.map_or_else(|| job.repo.clone(), |id| id.to_string());
                let url = client.url(&["projects", &key, "jobs", &job.external_id, "trace"], &[]);
                match client.get_tail(&url, self.fetch.settings.log_excerpt_bytes).await {
                    Ok(tail) => {
                        stats.logs += 1;
                        log = Some(tail);
                    }
                    Err(ApiError::NotFound(_) | ApiError::Forbidden(_)) => stats.logs_missing += 1,
                    Err(err) => {
                        tracing::warn!(job = job.external_id, project = job.repo, error = %err,
                            "could not fetch a failed job's trace; trying again next pass");
                        stats.stopped = true;
                        break;
                    }
                }
            }
            self.fetch.save(&job, &[], log.as_ref(), now).await?;
            stats.recorded += 1;
        }
        Ok(stats)
    }

    /// The periodic job `gitlab-failures`, every `interval_seconds`.
    pub fn job(self: Arc<Self>, interval_seconds: i64) -> PeriodicJob {
        PeriodicJob {
            name: "gitlab-failures",
            interval_seconds: interval_seconds.max(1),
            task: Arc::new(move |_store| {
                let fetcher = self.clone();
                Box::pin(async move { Ok(fetcher.pass().await?.summary("GitLab")) })
            }),
        }
    }
}
