//! GitHub's poller: backfills history (runs, and deployments with their
//! final statuses) from the REST API and reconciles what webhooks missed. Each pass is a step that reports what it did
//! ([`PollStats`]), run by the scheduler (`github-poll`,
//! `github-discovery`) or by `cicd-dashboard poll`.
//!
//! Polled runs and jobs go through the same normalisation and merge as
//! webhooks (`Store::apply_polled`). This module owns REST calls and the
//! per-repository bookkeeping; it must not know our HTTP API.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use super::api::backfill::Progress;
use super::api::discovery::{Discovered, discover};
use super::api::runs::RepoSync;
use super::api::{ApiError, Credentials, GitHubClient, PollError, RetryPolicy};
use crate::config::GitHubPollSettings;
use crate::domain::ProviderKind;
use crate::providers::{PollStats, RepoPoller};
use crate::scheduler::PeriodicJob;
use crate::store::{PollRepo, Store};

/// Minutes an attempt may stay not completed and unchanged before
/// `reconcile` asks GitHub about it.
pub const STALE_AFTER_MINUTES: i64 = 10;

/// The GitHub poller of one process.
pub struct Poller {
    client: GitHubClient,
    store: Store,
    settings: GitHubPollSettings,
    app: bool,
}

impl Poller {
    /// The poller the settings describe; `None` when it has nothing to do
    /// (no repositories, organisations, token or app configured).
    ///
    /// Errors: a bad API URL or app key, or an app id without a key.
    pub fn from_settings(settings: &GitHubPollSettings, store: &Store) -> Result<Option<Poller>, String> {
        let credentials = super::api::auth::credentials(&settings.api)?;
        let app = matches!(credentials, Credentials::App(_));
        let anonymous = matches!(credentials, Credentials::Anonymous);
        let mut settings = settings.clone();
        settings.repos = settings.repo_list()?;
        settings.github_orgs = settings.org_list();
        if settings.repos.is_empty() && settings.github_orgs.is_empty() && anonymous {
            return Ok(None);
        }
        if anonymous {
            tracing::warn!(
                "no GITHUB_TOKEN or GitHub App configured: polling without credentials \
                 (GitHub allows 60 requests an hour, and no private repositories)"
            );
        }
        let api_url = Url::parse(&settings.api.github_api_url).map_err(|err| {
            format!("--github-api-url {:?} is not a URL: {err}", settings.api.github_api_url)
        })?;
        let retry = RetryPolicy {
            base: Duration::from_millis(settings.github_retry_base_ms),
            secondary_wait: Duration::from_millis(settings.github_secondary_wait_ms),
            ..RetryPolicy::default()
        };
        let client = GitHubClient::new(api_url, credentials, settings.api.github_rate_share, retry)
            .map_err(|err| err.to_string())?;
        Ok(Some(Poller { client, store: store.clone(), settings, app }))
    }

    /// The REST client (its request count and rate reading).
    pub fn client(&self) -> &GitHubClient {
        &self.client
    }

    fn backfill_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::days(i64::from(self.settings.backfill_days))
    }

    /// Adds the configured repositories not polled yet (each gets a backfill).
    pub async fn register_configured(&self, now: DateTime<Utc>) -> Result<usize, PollError> {
        let mut added = 0;
        for repo in &self.settings.repos {
            let from = self.backfill_from(now);
            if self
                .store
                .poll_state()
                .add_poll_repo(ProviderKind::GitHub, repo, "configured", from, now)
                .await?
            {
                added += 1;
            }
        }
        Ok(added)
    }

    /// Adds `repo` (e.g. from `cicd-dashboard poll`) with a backfill from
    /// `since`.
    pub async fn register(
        &self,
        repo: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), PollError> {
        self.store.poll_state().add_poll_repo(ProviderKind::GitHub, repo, "cli", since, now).await?;
        Ok(())
    }

    /// One discovery pass (app installation and/or organisations).
    pub async fn discover(&self, now: DateTime<Utc>) -> Result<Discovered, PollError> {
        let orgs = &self.settings.github_orgs;
        discover(&self.client, &self.store, self.app, orgs, self.backfill_from(now), now).await
    }

    /// Polls every active repository once: its backfill (or what is left of
    /// it), then the incremental sync and watch list. A repository's failure
    /// is recorded on it and the others go on.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<PollStats, PollError> {
        self.register_configured(now).await?;
        let mut total = PollStats::default();
        for repo in self.store.poll_state().poll_repos(Some(ProviderKind::GitHub)).await? {
            if repo.state != "active" {
                continue;
            }
            let stats = self.poll_repo(&repo, now, &|_| {}).await?;
            total.add(&stats);
        }
        Ok(total)
    }

    /// Polls one repository and records the outcome on it: a 404/410 marks
    /// it `gone`; another API error is recorded as its `last_error`.
    /// Errors only when the store fails.
    pub async fn poll_repo(
        &self,
        repo: &PollRepo,
        now: DateTime<Utc>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<PollStats, PollError> {
        let sync = RepoSync { client: &self.client, store: &self.store, repo: &repo.repo };
        let mut stats = PollStats { repos: 1, ..PollStats::default() };
        let result = async {
            if repo.backfill_finished_at.is_none() {
                let from = repo
                    .backfill_done_until
                    .or(repo.backfill_from)
                    .unwrap_or_else(|| self.backfill_from(now));
                sync.backfill(from.timestamp(), now.timestamp(), true, &mut stats, progress).await?;
            }
            sync.sync(repo, now, &mut stats).await?;
            let from = repo.backfill_from.unwrap_or_else(|| self.backfill_from(now));
            sync.deployments(from, now, &mut stats).await?;
            sync.deployment_commits(from, &mut stats).await
        }
        .await;
        let next = now + chrono::Duration::seconds(self.settings.poll_interval as i64);
        let rate = self.client.rate();
        match result {
            Ok(()) => {
                self.store
                    .poll_state()
                    .record_poll(ProviderKind::GitHub, &repo.repo, now, next, None, rate)
                    .await?;
            }
            Err(PollError::Api(err @ (ApiError::NotFound(_) | ApiError::Gone(_)))) => {
                stats.failed += 1;
                tracing::warn!(repo = %repo.repo, error = %err, "repository is gone; it will no longer be polled");
                self.store
                    .poll_state()
                    .record_poll(ProviderKind::GitHub, &repo.repo, now, next, Some(&err.to_string()), rate)
                    .await?;
                self.store
                    .poll_state()
                    .mark_repo_inactive(ProviderKind::GitHub, &repo.repo, "gone", &err.to_string(), now)
                    .await?;
            }
            Err(PollError::Api(err)) => {
                stats.failed += 1;
                tracing::warn!(repo = %repo.repo, error = %err, "polling failed");
                self.store
                    .poll_state()
                    .record_poll(ProviderKind::GitHub, &repo.repo, now, next, Some(&err.to_string()), rate)
                    .await?;
            }
            Err(err @ PollError::Store(_)) => return Err(err),
        }
        Ok(stats)
    }

    /// Stale-run reconciliation: attempts of any repository (polled or only
    /// webhook-fed) stored as not completed and unchanged for
    /// [`STALE_AFTER_MINUTES`] are fetched by id, so a missed `completed`
    /// webhook is repaired even where no backfill is configured. Answers how
    /// many were refreshed; an attempt whose fetch fails is left for the
    /// next pass.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<PollStats, PollError> {
        let before = now - chrono::Duration::minutes(STALE_AFTER_MINUTES);
        let mut stats = PollStats::default();
        for (repo, run_id, number) in
            self.store.poll_state().stale_attempts(ProviderKind::GitHub, before, 500).await?
        {
            let sync = RepoSync { client: &self.client, store: &self.store, repo: &repo };
            stats.watched += 1;
            match sync.refresh_attempt(&run_id, number, &mut stats).await {
                Ok(()) => {}
                Err(PollError::Api(err)) => {
                    stats.failed += 1;
                    tracing::warn!(%repo, run_id, error = %err, "could not reconcile a stale attempt");
                }
                Err(err) => return Err(err),
            }
        }
        Ok(stats)
    }
}

impl RepoPoller for Poller {
    fn kind(&self) -> ProviderKind {
        ProviderKind::GitHub
    }

    /// The periodic jobs: `github-reconcile` and `github-poll` every poll
    /// interval, and
    /// `github-discovery` every discovery interval (when discovery applies).
    fn jobs(self: Arc<Self>) -> Vec<PeriodicJob> {
        let poller = self.clone();
        let reconciler = self.clone();
        let mut jobs = vec![PeriodicJob {
            name: "github-reconcile",
            interval_seconds: self.settings.poll_interval.max(1) as i64,
            task: Arc::new(move |_store| {
                let poller = reconciler.clone();
                Box::pin(async move {
                    let stats = poller.reconcile(Utc::now()).await?;
                    Ok(format!(
                        "reconciled {} stale attempts ({} rows changed, {} failed)",
                        stats.watched, stats.rows_changed, stats.failed
                    ))
                })
            }),
        }];
        jobs.push(PeriodicJob {
            name: "github-poll",
            interval_seconds: self.settings.poll_interval.max(1) as i64,
            task: Arc::new(move |_store| {
                let poller = poller.clone();
                Box::pin(async move { Ok(poller.tick(Utc::now()).await?.summary()) })
            }),
        });
        if self.app || !self.settings.github_orgs.is_empty() {
            let poller = self.clone();
            jobs.push(PeriodicJob {
                name: "github-discovery",
                interval_seconds: self.settings.discovery_interval.max(1) as i64,
                task: Arc::new(move |_store| {
                    let poller = poller.clone();
                    Box::pin(async move {
                        let found = poller.discover(Utc::now()).await?;
                        Ok(format!(
                            "discovered {} repositories ({} new, {} archived)",
                            found.seen, found.added, found.archived
                        ))
                    })
                }),
            });
        }
        jobs
    }
}
