//! The scheduler: periodic jobs that must run once per interval across all
//! replicas and never overlap themselves. Each job is claimed through a
//! lease row (`store::leases`), renewed while it runs, and released with its
//! outcome. Background work is a `tick()` that reports what it did, wrapped
//! by `run()`; tests drive ticks directly.
//!
//! This module owns timing and leases; what a job does lives with what it
//! works on: `retention`, `rollups` and `failure_reasons` here, the alert checks in
//! `alerts::periodic`, the poller's passes with their provider
//! (`providers::github::poller`). It must not know HTTP.

pub mod failure_reasons;
pub mod retention;
pub mod rollups;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::Store;

/// A job body: given the store, does its work and answers a one-line summary.
pub type Task =
    Arc<dyn Fn(Store) -> Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send>> + Send + Sync>;

/// A periodic job.
#[derive(Clone)]
pub struct PeriodicJob {
    /// Unique name (the lease key).
    pub name: &'static str,
    /// At most one start per this many seconds, across all replicas.
    pub interval_seconds: i64,
    pub task: Task,
}

/// What one tick did for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickOutcome {
    /// This replica ran it; the job's summary.
    Ran(String),
    /// This replica ran it and it failed; the error.
    Failed(String),
    /// Not due, or running or just run elsewhere.
    Skipped,
}

/// Seconds a claim lasts without renewal (a crashed runner frees the job
/// after this long).
const LEASE_SECONDS: i64 = 60;

/// Runs periodic jobs for one replica.
#[derive(Clone)]
pub struct Scheduler {
    store: Store,
    /// This replica's name in the leases (host, process id and a random part).
    owner: String,
    jobs: Vec<PeriodicJob>,
}

impl Scheduler {
    pub fn new(store: Store, jobs: Vec<PeriodicJob>) -> Scheduler {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        let owner =
            format!("{host}/{}/{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        Scheduler { store, owner, jobs }
    }

    /// This replica's lease owner name.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Claims and runs every job that is due at `now`; answers what each did.
    pub async fn tick(&self, now: DateTime<Utc>) -> Vec<(&'static str, TickOutcome)> {
        let mut report = Vec::new();
        for job in &self.jobs {
            report.push((job.name, self.tick_job(job, now).await));
        }
        report
    }

    async fn tick_job(&self, job: &PeriodicJob, now: DateTime<Utc>) -> TickOutcome {
        match self
            .store
            .leases()
            .claim_job(job.name, &self.owner, now, job.interval_seconds, LEASE_SECONDS)
            .await
        {
            Ok(true) => {}
            Ok(false) => return TickOutcome::Skipped,
            Err(err) => return TickOutcome::Failed(format!("could not claim: {err}")),
        }
        let renew = {
            let (store, owner, name) = (self.store.clone(), self.owner.clone(), job.name);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs((LEASE_SECONDS / 3) as u64)).await;
                    let until = Utc::now() + chrono::Duration::seconds(LEASE_SECONDS);
                    if let Err(err) = store.leases().renew_job(name, &owner, until).await {
                        tracing::warn!(job = name, error = %err, "could not renew a job lease");
                    }
                }
            })
        };
        let result = (job.task)(self.store.clone()).await;
        renew.abort();
        let outcome = match result {
            Ok(summary) => TickOutcome::Ran(summary),
            Err(err) => TickOutcome::Failed(format!("{err:#}")),
        };
        let error = match &outcome {
            TickOutcome::Failed(e) => Some(e.as_str()),
            _ => None,
        };
        if let Err(err) = self.store.leases().finish_job(job.name, &self.owner, Utc::now(), error).await {
            tracing::warn!(job = job.name, error = %err, "could not release a job lease");
        }
        outcome
    }

    /// Runs every job in its own loop until `shutdown` resolves: each loop
    /// tries to claim its job every `every`, or every interval of the job
    /// when that is shorter (the `rollups` job's 20 s), plus up to 10 %
    /// jitter so replicas spread out; so a long job (a backfill) never
    /// delays another and never overlaps itself. A job still running at shutdown is
    /// dropped; its lease expires and its work resumes from its checkpoint.
    pub async fn run(self, every: Duration, shutdown: impl Future<Output = ()>) {
        let mut loops = tokio::task::JoinSet::new();
        for job in self.jobs.clone() {
            let scheduler = self.clone();
            let every =
                every.min(Duration::from_secs(u64::try_from(job.interval_seconds.max(1)).unwrap_or(1)));
            loops.spawn(async move {
                loop {
                    match scheduler.tick_job(&job, Utc::now()).await {
                        TickOutcome::Ran(summary) => tracing::info!(job = job.name, "{summary}"),
                        TickOutcome::Failed(error) => {
                            tracing::warn!(job = job.name, %error, "periodic job failed")
                        }
                        TickOutcome::Skipped => {}
                    }
                    let jitter = every.mul_f64(f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 2550.0);
                    tokio::time::sleep(every + jitter).await;
                }
            });
        }
        shutdown.await;
        loops.shutdown().await;
    }
}
