//! Storage: the one interface every other layer uses to keep and read run
//! attempts, jobs and deliveries, on embedded SQLite or PostgreSQL.
//!
//! Design (see `../shared/STACK.md` for the trade-off): one SQL code path over
//! sqlx's `Any` driver, with integer Unix-second timestamps so both databases
//! decode the same way, and one migrations folder per dialect. The back end is
//! picked once from the URL scheme. Merge rules are pure functions in
//! `domain::merge`, applied under a row lock (`SELECT … FOR UPDATE` on
//! PostgreSQL; SQLite serialises writers with `BEGIN IMMEDIATE`).
//!
//! This module owns SQL and the schema; it must not know HTTP or payloads.
//! (The one outward call: `ingest_tx` runs `alerts::evaluate` on a changed
//! build inside its transaction, so alerts commit with their cause.)

pub mod alerts;
mod alerts_outbox;
mod audit;
mod builds;
mod changes;
mod connect;
mod copy;
mod deliveries;
mod error;
mod events;
mod ingest_tx;
mod leases;
mod migrations;
mod poll_repos;
mod retention;
pub mod rollups;
mod rows;
mod summary;
mod timeseries;
mod tokens;
mod write_queue;

pub use audit::AuditEntry;
pub use builds::{BuildFilter, BuildPage, BuildRecord, BuildSort, JobRecord, PageCursor};
pub use changes::ChangedSince;
pub use copy::{RowRefused, TableCopied, copy_database};
pub use error::StoreError;
pub use events::ChangeEvent;
pub use ingest_tx::{DeliveryOutcome, DeliveryRecord, DeliveryWrite, Recorded};
pub use leases::JobLease;
pub use poll_repos::{PollRepo, RateReading};
pub use summary::{RepoAggregate, SummaryInputs};
pub use timeseries::PointFilter;
pub use tokens::TokenRecord;

use std::time::Duration;

use sqlx::AnyPool;

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
    /// SQLite only: the group-commit writer every delivery goes through.
    write_queue: Option<write_queue::WriteQueue>,
    /// This process's end of the change-event stream (see `events`).
    events: tokio::sync::broadcast::Sender<ChangeEvent>,
    /// PostgreSQL only: announces committed changes to every replica.
    notifier: Option<tokio::sync::mpsc::UnboundedSender<ChangeEvent>>,
    /// Seals secret-bearing documents at rest (unset: stored as given).
    /// Shared by every clone, the group-commit writer's included.
    secrets: std::sync::Arc<std::sync::OnceLock<crate::secret_box::SecretBox>>,
}

impl Store {
    /// This store (and every clone of it), sealing secrets with `secrets`
    /// from now on. Set once; a second key is ignored.
    pub fn with_secrets(self, secrets: Option<crate::secret_box::SecretBox>) -> Store {
        if let Some(secrets) = secrets {
            let _ = self.secrets.set(secrets);
        }
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

    /// Subscribes to change events from now on: every committed change to
    /// a build or job, from this replica or (PostgreSQL) any other.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ChangeEvent> {
        self.events.subscribe()
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
