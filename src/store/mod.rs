//! Storage: the one interface every other layer uses to keep and read run
//! attempts, jobs and deliveries, on embedded SQLite or PostgreSQL.
//!
//! Design: one SQL code path over sqlx's `Any` driver, with integer
//! Unix-second timestamps so both databases decode the same way, and one
//! migrations folder per dialect (README, *Storage design*, says why). The
//! back end is picked once from the URL scheme.
//!
//! Table of contents — [`Store`]'s methods by area, each area a handle
//! (`store.builds().list_builds(…)`) defined in one file or folder:
//! - [`Store::deliveries`] (`deliveries.rs`, the write path in `write/`):
//!   `record_delivery` (group-committed through the one writer the store
//!   owns), `apply_polled`, `delivery_count`; the merge rules of
//!   `domain::merge` applied under a row lock; what must commit with a
//!   change but is decided above the store comes in as a [`ChangeHook`]
//!   (`with_change_hook`).
//! - [`Store::builds`] (`builds`, `changes`, `repos`; row codecs in `rows`):
//!   `list_builds`, `export_builds`, `get_build(s)`, `get_job`,
//!   `jobs_of_build` (with each job's steps, `jobs/steps`),
//!   `changed_since`, `known_repos`.
//! - [`Store::metrics`] (`summary`, `timeseries`, `rollups/`):
//!   `summary_inputs`, `status_counts_since`, `window_points`,
//!   `health_rows`, `build_urls`, `rollup_view`, `window_tally`,
//!   `count_attempts`, `fold_rollups`, `reset_rollups`; per job for the
//!   runner figures (`runners`): `job_spans`, `open_jobs`.
//! - [`Store::job_insights`] (`jobs/`): `job_window`, `job_rollup_view`,
//!   `job_keys`; also owns the `steps` and `job_keys` tables the write
//!   path fills and the job roll-ups the summary's fold folds.
//! - [`Store::alerts`] (`alerts/`): configuration, what rules read, the
//!   outbox and the history.
//! - [`Store::poll_state`] (`poll_repos`): per-repository backfill
//!   checkpoints, validators, rate readings, the watch list.
//! - [`Store::test_results`] (`test_results/`): `record_upload` (uploaded
//!   JUnit reports, all of an upload in one transaction), `failed_tests`,
//!   `outcome_counts`, `history`, `insights`, `delete_older_than` (their
//!   own retention).
//! - [`Store::failures`] (`failures/`): failed jobs' reasons, failure
//!   signatures and log excerpts; the failure insights.
//! - [`Store::deployments`] (`deployments/`): deployments and pushed
//!   commits (applied by the write path), `record_incident`, the reads
//!   of the DORA figures, `delete_older_than`.
//! - [`Store::leases`] (`leases`): run-once periodic jobs across replicas.
//! - [`Store::tokens`], [`Store::audit`] (`tokens`, `audit`): API tokens,
//!   stream tickets, the audit log.
//! - on [`Store`] itself, operations (`connect`, `migrations`, `retention`,
//!   `copy`, `events`, `error`): pools, schema, deleting old rows, `db copy`,
//!   change events after commit, errors (`Unavailable` → 503); and
//!   `xact_lock`, the locks held to a transaction's end that keep replicas'
//!   folds and alert checks apart.
//!
//! Owns SQL and the schema; must not know HTTP, payloads, providers or what
//! alert rules decide.

pub mod alerts;
mod audit;
mod builds;
mod changes;
mod connect;
mod copy;
mod deliveries;
pub mod deployments;
mod error;
mod events;
pub mod failures;
pub mod flaky;
mod jobs;
mod leases;
mod migrations;
mod poll_deployments;
mod poll_repos;
mod repos;
mod retention;
pub mod rollups;
mod rows;
mod runner_rollups;
mod runners;
mod summary;
pub mod test_results;
mod timeseries;
mod tokens;
mod write;
mod xact_lock;

pub use audit::AuditEntry;
pub use builds::{BuildFilter, BuildPage, BuildRecord, BuildSort, JobRecord, PageCursor};
pub use changes::ChangedSince;
pub use copy::{RowRefused, TableCopied, copy_database};
pub use error::StoreError;
pub use events::ChangeEvent;
pub use flaky::FlakyFilter;
pub use jobs::{Grain, HourPlan, JobFilter, JobKeyRecord, hour_plan, split_days};
pub use leases::JobLease;
pub use poll_deployments::{DeploymentCursor, UnlistedDeployment};
pub use poll_repos::{PollRepo, RateReading};
pub use runner_rollups::RunnerView;
pub use runners::RunnerFilter;
pub use timeseries::PointFilter;
pub use tokens::TokenRecord;
pub use write::{ChangeHook, DeliveryOutcome, DeliveryRecord, DeliveryWrite, HookSession, Recorded};

use std::time::Duration;

use sqlx::AnyPool;

/// Views of a [`Store`] by area: each groups the methods of one part of the
/// schema, so a reader can list them (`store.builds().list_builds(…)`).
macro_rules! handles {
    ($($(#[$doc:meta])* $name:ident => $accessor:ident;)+) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name<'s>(&'s Store);

            impl std::ops::Deref for $name<'_> {
                type Target = Store;
                fn deref(&self) -> &Store {
                    self.0
                }
            }
        )+

        impl Store {
            $(
                $(#[$doc])*
                pub fn $accessor(&self) -> $name<'_> {
                    $name(self)
                }
            )+
        }
    };
}

handles! {
    /// Run attempts and jobs as the API reads them: lists, exports, one
    /// build, its jobs, what changed since, the known repositories.
    Builds => builds;
    /// The write path's entry: recording deliveries (group-committed) and
    /// applying polled changes; delivery counts.
    Deliveries => deliveries;
    /// What the figures are computed from: summary inputs, window points,
    /// health rows, roll-up tallies and their fold.
    MetricReads => metrics;
    /// Job insights: job tallies of a window (from the job roll-ups where
    /// clean) and the job keys they name.
    JobInsights => job_insights;
    /// Alert rows: the stored configuration, what the periodic rules read,
    /// the outbox and the history.
    Alerts => alerts;
    /// What the pollers keep per repository: checkpoints, validators, rate
    /// readings, the watch list.
    PollState => poll_state;
    /// Flaky occurrences (kept by the write path) and their reads.
    Flaky => flaky;
    /// Test results from uploaded reports: the test dictionary, uploads,
    /// executions, failure texts, and the insights read from them.
    TestResults => test_results;
    Failures => failures;
    /// Deployments, pushed commits and incidents (the DORA keys' rows).
    Deployments => deployments;
    /// Run-once leases of the periodic jobs across replicas.
    Leases => leases;
    /// API tokens and event-stream tickets.
    Tokens => tokens;
    /// The audit log of admin actions.
    Audit => audit;
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections in the read pool (PostgreSQL: the only pool).
    pub max_connections: u32,
    /// How long a query waits for a free connection before failing with
    /// [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout` for every pooled connection (`None`:
    /// the server's default, usually unlimited).
    pub statement_timeout: Option<Duration>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { max_connections: 8, acquire_timeout: Duration::from_secs(5), statement_timeout: None }
    }
}

/// Handle to the database; cheap to clone (pools are shared).
#[derive(Clone, Debug)]
pub struct Store {
    /// Writes. SQLite: one connection, so in-process writers queue in Rust
    /// rather than spin on the file lock. PostgreSQL: the same pool as `read`.
    write: AnyPool,
    read: AnyPool,
    backend: Backend,
    /// The group-commit writer every delivery goes through.
    writer: write::Writer,
    /// Where committed changes are announced (see `events`).
    announcer: events::Announcer,
    /// Seals secret-bearing documents at rest (unset: stored as given).
    /// Shared by every clone, the group-commit writer's included.
    secrets: std::sync::Arc<std::sync::OnceLock<crate::secret_box::SecretBox>>,
    /// The test insights answers kept current in the background. Shared
    /// by every clone.
    insights_refresher: std::sync::Arc<test_results::InsightsRefresher>,
    /// Job key records read by id (never change). Shared by every clone.
    job_key_cache: std::sync::Arc<jobs::keys::KeyCache>,
}

impl Store {
    /// This store (and every clone of it) serving a stale test insights
    /// answer while recomputing it in the background when its computation
    /// took longer than `budget_ms` (see `test_results::insights_cache`).
    pub fn with_test_insights_budget(self, budget_ms: u64) -> Store {
        self.insights_refresher.set_budget_ms(budget_ms);
        self
    }

    /// This store (and every clone of it), sealing secrets with `secrets`
    /// from now on. Set once; a second key is ignored.
    pub fn with_secrets(self, secrets: Option<crate::secret_box::SecretBox>) -> Store {
        if let Some(secrets) = secrets {
            let _ = self.secrets.set(secrets);
        }
        self
    }

    /// This store (and every clone of it) running `hook` inside every
    /// transaction that changes a run attempt (see [`ChangeHook`]). Set
    /// once; a second hook is ignored.
    pub fn with_change_hook(self, hook: std::sync::Arc<dyn ChangeHook>) -> Store {
        self.writer.install(hook);
        self
    }

    /// The sealing key, if any.
    pub(crate) fn secret_box(&self) -> Option<&crate::secret_box::SecretBox> {
        self.secrets.get()
    }
}

impl Store {
    /// Connects to `database_url` (`sqlite://path` or `postgres://…`); for
    /// SQLite, creates the file and its folder if missing and turns on WAL.
    /// Does not migrate: call [`Store::migrate`].
    ///
    /// Errors: an unsupported scheme, or the database cannot be reached.
    pub async fn connect(database_url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        connect::connect(database_url, options).await
    }

    /// Applies pending versioned migrations (`store/migrations/<dialect>`).
    /// On PostgreSQL the migrator holds an advisory lock, so replicas that
    /// start together migrate once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::run(self).await
    }

    /// The back end in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// One round trip to the database (`SELECT 1`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// A write transaction (see [`begin_write_on`]).
    pub(super) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        begin_write_on(&self.write, self.backend).await
    }

    /// Announces the events of a committed transaction.
    pub(super) fn publish_committed(&self, events: &[ChangeEvent]) {
        self.announcer.publish(events);
    }

    /// Subscribes to change events from now on: every committed change to
    /// a build or job, from this replica or (PostgreSQL) any other.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ChangeEvent> {
        self.announcer.subscribe()
    }

    /// `(pool, open connections, idle connections)` for each pool (`read`,
    /// and `write` where it is a separate pool).
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        let mut stats = vec![("read", self.read.size(), self.read.num_idle())];
        if self.backend == Backend::Sqlite {
            stats.push(("write", self.write.size(), self.write.num_idle()));
        }
        stats
    }

    /// Closes both pools, waiting for connections to be returned.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// A write transaction on `pool`: SQLite takes the write lock at once
/// (`BEGIN IMMEDIATE`, so two writers never deadlock upgrading a read lock);
/// PostgreSQL a plain `BEGIN`.
pub(super) async fn begin_write_on(
    pool: &sqlx::AnyPool,
    backend: Backend,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
    Ok(match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    })
}
