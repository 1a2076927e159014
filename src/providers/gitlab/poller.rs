//! GitLab's poller: backfills history from each instance's REST API and
//! keeps it current. Each pass reports what it did ([`PollStats`]); the
//! scheduler runs them (`gitlab-poll`, `gitlab-discovery`) and so does
//! `cicd-dashboard poll --provider gitlab`.
//!
//! Per project, one cursor: pipelines are listed by `updated_after` the
//! cursor, oldest change first. A new project's cursor starts at its
//! backfill start; the backfill checkpoint follows the cursor after every
//! page (so a killed backfill resumes there) and the backfill is finished
//! when a listing reaches the end. Later polls are the incremental sync
//! from the same cursor, then the watch list (pipelines stored as not
//! completed, fetched by id until they complete). A 404 project is marked
//! `gone` and the others go on; 401/403 are recorded as its last error.
//! This module owns REST passes and per-project bookkeeping; it must not
//! know our HTTP API.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::api::discovery::{Discovered, discover_group};
use super::api::models::Project;
use super::api::project::ProjectSync;
use super::api::{ApiError, GitLabClient, PollError, RetryPolicy};
use crate::config::{GitLabPollSettings, GitLabTarget};
use crate::domain::ProviderKind;
use crate::providers::{PollStats, RepoPoller};
use crate::scheduler::PeriodicJob;
use crate::store::{PollRepo, Store};

/// Most watched pipelines refreshed per poll of one project.
const WATCH_LIMIT: i64 = 200;

/// How often and how far back, shared with the other pollers' flags
/// (`--poll-interval`, `--discovery-interval`, `--backfill-days`).
#[derive(Debug, Clone, Copy)]
pub struct PollTiming {
    pub poll_interval: u64,
    pub discovery_interval: u64,
    pub backfill_days: u32,
}

/// Where a backfill stands, for a progress display (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub from: i64,
    pub until: i64,
    pub done_until: i64,
    /// Pipelines listed so far.
    pub pipelines: usize,
}

/// The GitLab poller of one process: one client per instance.
pub struct Poller {
    clients: Vec<GitLabClient>,
    store: Store,
    projects: Vec<GitLabTarget>,
    groups: Vec<GitLabTarget>,
    timing: PollTiming,
    /// Configured entries already registered by this process.
    registered: Mutex<HashSet<(String, String)>>,
}

impl Poller {
    /// The poller the settings describe; `None` when no project, no group
    /// and no token is configured (a token alone runs the stale-pipeline
    /// repair for webhook-only projects, see `reconcile`).
    ///
    /// Errors: a bad instance URL, token pairing or entry.
    pub fn from_settings(
        settings: &GitLabPollSettings,
        timing: PollTiming,
        store: &Store,
    ) -> Result<Option<Poller>, String> {
        let projects = settings.project_targets()?;
        let groups = settings.group_targets()?;
        if projects.is_empty() && groups.is_empty() && settings.api.gitlab_token.is_empty() {
            return Ok(None);
        }
        Poller::new(settings, projects, groups, timing, store).map(Some)
    }

    /// A poller for `settings`' instances with these targets.
    ///
    /// Errors: a bad instance URL or token pairing.
    pub fn new(
        settings: &GitLabPollSettings,
        projects: Vec<GitLabTarget>,
        groups: Vec<GitLabTarget>,
        timing: PollTiming,
        store: &Store,
    ) -> Result<Poller, String> {
        let retry = RetryPolicy {
            base: Duration::from_millis(settings.api.gitlab_retry_base_ms),
            ..RetryPolicy::default()
        };
        let mut clients = Vec::new();
        for instance in settings.api.instances()? {
            if instance.token.is_none() {
                tracing::warn!(instance = %instance.url,
                    "no GITLAB_TOKEN for this GitLab instance: polling without one (public projects only)");
            }
            let client = GitLabClient::new(
                &instance,
                settings.api.gitlab_token_type,
                settings.api.gitlab_rate_share,
                retry,
            )
            .map_err(|err| err.to_string())?;
            clients.push(client);
        }
        Ok(Poller {
            clients,
            store: store.clone(),
            projects,
            groups,
            timing,
            registered: Mutex::new(HashSet::new()),
        })
    }

    /// The clients, one per instance (request counts, rate readings).
    pub fn clients(&self) -> &[GitLabClient] {
        &self.clients
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    fn client(&self, instance: Option<&str>) -> Option<&GitLabClient> {
        match instance {
            Some(url) => self.clients.iter().find(|c| c.instance() == url),
            None => self.clients.first(),
        }
    }

    fn backfill_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::days(i64::from(self.timing.backfill_days))
    }

    /// Registers `target` (resolving its id or path with `GET /projects/:id`)
    /// with a backfill from `since`; answers its `path_with_namespace`. A
    /// project the instance answers 404 for is listed as `gone` under the
    /// entry's text; any other error is returned.
    pub async fn register(
        &self,
        target: &GitLabTarget,
        source: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<String, PollError> {
        let client = self
            .client(Some(&target.instance))
            .ok_or_else(|| ApiError::Setup(format!("{} is not a --gitlab-url", target.instance)))?;
        let polls = self.store.poll_state();
        let url = client.url(&["projects", &target.key], &[]);
        match client.get::<Project>(&url).await {
            Ok(page) => {
                let path = page.value.path_with_namespace.clone().unwrap_or_else(|| target.key.clone());
                polls.add_poll_repo(ProviderKind::GitLab, &path, source, since, now).await?;
                polls
                    .set_location(ProviderKind::GitLab, &path, client.instance(), Some(page.value.id))
                    .await?;
                if page.value.archived {
                    polls
                        .mark_repo_inactive(ProviderKind::GitLab, &path, "archived", "archived", now)
                        .await?;
                }
                Ok(path)
            }
            Err(err @ ApiError::NotFound(_)) => {
                tracing::warn!(project = %target.key, error = %err, "GitLab project not found; skipped");
                polls.add_poll_repo(ProviderKind::GitLab, &target.key, source, since, now).await?;
                polls.set_location(ProviderKind::GitLab, &target.key, client.instance(), None).await?;
                polls
                    .mark_repo_inactive(ProviderKind::GitLab, &target.key, "gone", &err.to_string(), now)
                    .await?;
                Ok(target.key.clone())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Registers the configured projects this process has not registered
    /// yet. A project whose lookup fails (401/403, network) is retried at
    /// the next tick; the others go on.
    pub async fn register_configured(&self, now: DateTime<Utc>) -> Result<usize, PollError> {
        let mut added = 0;
        for target in &self.projects {
            let key = (target.instance.clone(), target.key.clone());
            if self.registered.lock().map(|r| r.contains(&key)).unwrap_or(false) {
                continue;
            }
            match self.register(target, "configured", self.backfill_from(now), now).await {
                Ok(_) => {
                    added += 1;
                    if let Ok(mut registered) = self.registered.lock() {
                        registered.insert(key);
                    }
                }
                Err(PollError::Api(err)) => {
                    tracing::warn!(project = %target.key, error = %err, "could not look up a GitLab project");
                }
                Err(err) => return Err(err),
            }
        }
        Ok(added)
    }

    /// One discovery pass over the configured groups.
    pub async fn discover(&self, now: DateTime<Utc>) -> Result<Discovered, PollError> {
        let mut total = Discovered::default();
        for group in &self.groups {
            let Some(client) = self.client(Some(&group.instance)) else { continue };
            match discover_group(client, &self.store, &group.key, self.backfill_from(now), now).await {
                Ok(found) => {
                    total.seen += found.seen;
                    total.added += found.added;
                    total.archived += found.archived;
                }
                Err(PollError::Api(err)) => {
                    tracing::warn!(group = %group.key, error = %err, "GitLab group discovery failed");
                }
                Err(err) => return Err(err),
            }
        }
        Ok(total)
    }

    /// Polls every active GitLab project once. A project's failure is
    /// recorded on it and the others go on.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<PollStats, PollError> {
        self.register_configured(now).await?;
        let mut total = PollStats::default();
        for repo in self.store.poll_state().poll_repos(Some(ProviderKind::GitLab)).await? {
            if repo.state != "active" {
                continue;
            }
            total.add(&self.poll_project(&repo, now, &|_| {}).await?);
        }
        Ok(total)
    }

    /// Polls one project (its backfill or incremental sync, then the watch
    /// list) and records the outcome: a 404 marks it `gone`; another API
    /// error is its `last_error`. Errors only when the store fails.
    pub async fn poll_project(
        &self,
        repo: &PollRepo,
        now: DateTime<Utc>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<PollStats, PollError> {
        let mut stats = PollStats { repos: 1, ..PollStats::default() };
        let next = now + chrono::Duration::seconds(self.timing.poll_interval as i64);
        let polls = self.store.poll_state();
        let Some(client) = self.client(repo.instance_url.as_deref()) else {
            let error =
                format!("its instance {} is not a --gitlab-url", repo.instance_url.as_deref().unwrap_or("?"));
            stats.failed += 1;
            polls
                .record_poll(ProviderKind::GitLab, &repo.repo, now, next, Some(&error), Default::default())
                .await?;
            return Ok(stats);
        };
        let key = repo.project_id.map_or_else(|| repo.repo.clone(), |id| id.to_string());
        let sync = ProjectSync { client, store: &self.store, repo: &repo.repo, key };
        let result = self.passes(&sync, repo, now, &mut stats, progress).await;
        let rate = client.rate();
        match result {
            Ok(()) => polls.record_poll(ProviderKind::GitLab, &repo.repo, now, next, None, rate).await?,
            Err(PollError::Api(err)) => {
                stats.failed += 1;
                let text = err.to_string();
                polls.record_poll(ProviderKind::GitLab, &repo.repo, now, next, Some(&text), rate).await?;
                if matches!(err, ApiError::NotFound(_)) {
                    tracing::warn!(project = %repo.repo, error = %err, "GitLab project is gone; no longer polled");
                    polls.mark_repo_inactive(ProviderKind::GitLab, &repo.repo, "gone", &text, now).await?;
                } else {
                    tracing::warn!(project = %repo.repo, error = %err, "GitLab polling failed");
                }
            }
            Err(err @ PollError::Store(_)) => return Err(err),
        }
        Ok(stats)
    }

    async fn passes(
        &self,
        sync: &ProjectSync<'_>,
        repo: &PollRepo,
        now: DateTime<Utc>,
        stats: &mut PollStats,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(), PollError> {
        let polls = self.store.poll_state();
        let name = repo.repo.as_str();
        if repo.backfill_finished_at.is_none() {
            let from = repo.backfill_from.unwrap_or_else(|| self.backfill_from(now));
            let start = repo.backfill_done_until.unwrap_or(from);
            let cursor = sync
                .pass(start, stats, |done, pipelines| {
                    progress(Progress {
                        from: from.timestamp(),
                        until: now.timestamp(),
                        done_until: done.timestamp(),
                        pipelines,
                    });
                    async move { Ok(polls.set_backfill_checkpoint(ProviderKind::GitLab, name, done, None).await?) }
                })
                .await?;
            polls.set_backfill_checkpoint(ProviderKind::GitLab, name, cursor, Some(Utc::now())).await?;
            polls.set_sync_validator(ProviderKind::GitLab, name, cursor, None).await?;
        } else {
            let start = repo.sync_from.unwrap_or_else(|| now - chrono::Duration::days(1));
            let cursor = sync
                .pass(start, stats, |done, _| async move {
                    Ok(polls.set_sync_validator(ProviderKind::GitLab, name, done, None).await?)
                })
                .await?;
            polls.set_sync_validator(ProviderKind::GitLab, name, cursor, None).await?;
        }
        let mut seen = Vec::new();
        for (pipeline, _) in polls.unfinished_attempts(ProviderKind::GitLab, name, WATCH_LIMIT).await? {
            if seen.contains(&pipeline) {
                continue;
            }
            let Ok(id) = pipeline.parse::<i64>() else { continue };
            stats.watched += 1;
            sync.refresh(id, stats).await?;
            seen.push(pipeline);
        }
        sync.deployments(repo.backfill_from.unwrap_or_else(|| self.backfill_from(now)), stats).await
    }
}

impl RepoPoller for Poller {
    fn kind(&self) -> ProviderKind {
        ProviderKind::GitLab
    }

    /// `gitlab-reconcile` and `gitlab-poll` every poll interval, and
    /// `gitlab-discovery` every discovery interval when groups are configured.
    fn jobs(self: Arc<Self>) -> Vec<PeriodicJob> {
        let poller = self.clone();
        let reconciler = self.clone();
        let mut jobs = vec![PeriodicJob {
            name: "gitlab-reconcile",
            interval_seconds: self.timing.poll_interval.max(1) as i64,
            task: Arc::new(move |_store| {
                let poller = reconciler.clone();
                Box::pin(async move {
                    let stats = poller.reconcile(Utc::now()).await?;
                    Ok(format!(
                        "repaired {} stale pipelines ({} rows changed, {} failed)",
                        stats.watched, stats.rows_changed, stats.failed
                    ))
                })
            }),
        }];
        jobs.push(PeriodicJob {
            name: "gitlab-poll",
            interval_seconds: self.timing.poll_interval.max(1) as i64,
            task: Arc::new(move |_store| {
                let poller = poller.clone();
                Box::pin(async move { Ok(poller.tick(Utc::now()).await?.summary()) })
            }),
        });
        if !self.groups.is_empty() {
            let poller = self.clone();
            jobs.push(PeriodicJob {
                name: "gitlab-discovery",
                interval_seconds: self.timing.discovery_interval.max(1) as i64,
                task: Arc::new(move |_store| {
                    let poller = poller.clone();
                    Box::pin(async move {
                        let found = poller.discover(Utc::now()).await?;
                        Ok(format!(
                            "discovered {} GitLab projects ({} new, {} archived)",
                            found.seen, found.added, found.archived
                        ))
                    })
                }),
            });
        }
        jobs
    }
}
