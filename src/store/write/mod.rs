//! The write path: record a delivery (deduplicated by its GUID in a unique
//! index) and apply its change under a row lock, inside a transaction that
//! is committed before the caller hears back, so "accepted" means committed.
//!
//! Every delivery goes through the one group-commit writer a store owns
//! (`group_commit`); a delivery written alone (a failed group is retried
//! one by one) has its own transaction; a set of deliveries that must
//! commit together (the generic build API's events of one request) is
//! written as one such group, outside the queue. Changes a poller fetched are
//! applied in one transaction of their own. What must commit with a change
//! but is decided above the store (the alert rules' outbox rows) comes in
//! through a [`ChangeHook`] the opener installs.
//!
//! Runs placed by try numbers (GitLab) go through `tries`, which also moves
//! jobs and states between attempts when an earlier try arrives late.
//!
//! Owns delivery rows, build and job upserts, the attempt listings and the
//! group-commit queue; must not know HTTP, payloads or what the hook does.

mod apply;
mod deliveries;
mod group_commit;
mod hook;
mod tries;

pub use deliveries::{DeliveryOutcome, DeliveryRecord, DeliveryWrite, Recorded};
pub use hook::{ChangeHook, HookSession};

use std::sync::{Arc, OnceLock};

use chrono::Utc;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

use super::events::Announcer;
use super::{Backend, ChangeEvent, StoreError};
use crate::domain::{Change, time_bounds};
use hook::TxHooks;

/// A store's writer: the write path and the group-commit queue in front of
/// it. Cheap to clone; every clone shares the one queue and hook.
#[derive(Clone, Debug)]
pub(super) struct Writer {
    path: WritePath,
    queue: group_commit::WriteQueue,
}

/// What every write needs: the pool writes go to, the back end, where
/// committed changes are announced, and the installed hook.
#[derive(Clone, Debug)]
pub(super) struct WritePath {
    pool: AnyPool,
    backend: Backend,
    announcer: Announcer,
    hook: Arc<OnceLock<Arc<dyn ChangeHook>>>,
}

/// What applying one delivery did, before commit.
#[derive(Debug, Clone)]
struct Applied {
    recorded: Recorded,
    /// Rows created or changed, to announce once committed.
    events: Vec<ChangeEvent>,
}

impl Writer {
    /// Starts the group-commit writer task over `pool`.
    pub(super) fn start(pool: AnyPool, backend: Backend, announcer: Announcer) -> Writer {
        let path = WritePath { pool, backend, announcer, hook: Default::default() };
        Writer { queue: group_commit::WriteQueue::start(path.clone()), path }
    }

    /// Installs `hook` for every clone of this writer; a second one is
    /// ignored.
    pub(super) fn install(&self, hook: Arc<dyn ChangeHook>) {
        let _ = self.path.hook.set(hook);
    }

    /// Queues a delivery and waits until it is committed (or failed).
    pub(super) async fn record(&self, write: DeliveryWrite) -> Result<Recorded, StoreError> {
        self.queue.submit(write).await
    }

    /// Records and applies `writes` all together in one transaction, outside
    /// the group-commit queue: either every one is committed or none is.
    /// Their `(provider, GUID)` pairs must differ.
    ///
    /// Errors: [`StoreError::Invariant`] for a repeated pair;
    /// [`StoreError::Unavailable`] when the database is down or busy
    /// (nothing was committed).
    pub(super) async fn record_all(&self, writes: &[DeliveryWrite]) -> Result<Vec<Recorded>, StoreError> {
        let writes: Vec<&DeliveryWrite> = writes.iter().collect();
        if group_commit::repeats_a_delivery(&writes) {
            return Err(StoreError::Invariant("one delivery twice in an all-or-nothing write".into()));
        }
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        group_commit::write_batch(&self.path, &writes).await
    }

    /// The build id of `run`'s attempt on `conn` (inside a transaction the
    /// caller owns), creating its row from what `run` says when there is
    /// none yet — the least a job implies, so a later run delivery replaces
    /// it (see [`crate::domain::RunAttempt::implied_by_job`]). Pushes the build's event
    /// when its row was created or changed.
    pub(super) async fn ensure_attempt(
        &self,
        conn: &mut AnyConnection,
        run: &crate::domain::RunAttempt,
        now: i64,
        events: &mut Vec<ChangeEvent>,
    ) -> Result<i64, StoreError> {
        self.path.apply_run(conn, &[run], apply::RunSource::Jobs, now, events, &mut TxHooks(None)).await
    }

    /// Applies changes fetched by a poller in one committed transaction.
    pub(super) async fn apply_polled(&self, changes: &[Change]) -> Result<usize, StoreError> {
        self.path.apply_polled(changes).await
    }
}

impl WritePath {
    /// A write transaction. SQLite takes the write lock up front, so a
    /// read-then-write never has to upgrade (which could fail with
    /// `SQLITE_BUSY` under another process).
    async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        super::begin_write_on(&self.pool, self.backend).await
    }

    /// The installed hook's session for one transaction.
    fn hooks(&self) -> TxHooks<'_> {
        TxHooks(self.hook.get().map(|hook| hook.session()))
    }

    /// Writes one delivery in its own transaction.
    async fn record_now(&self, write: &DeliveryWrite) -> Result<Recorded, StoreError> {
        let mut tx = self.begin().await?;
        let applied = self.apply_delivery(&mut tx, write, &mut self.hooks()).await?;
        match applied.recorded {
            Recorded::Duplicate => tx.rollback().await?,
            Recorded::New => {
                crate::store::flaky::refresh::refresh(&mut tx, self.backend, &applied.events).await?;
                tx.commit().await?
            }
        }
        self.announcer.publish(&applied.events);
        Ok(applied.recorded)
    }

    /// Records and applies one delivery on `conn`, inside a transaction the
    /// caller owns; answers what changed, for the caller to publish once it
    /// has committed.
    async fn apply_delivery(
        &self,
        conn: &mut AnyConnection,
        write: &DeliveryWrite,
        hooks: &mut TxHooks<'_>,
    ) -> Result<Applied, StoreError> {
        let new = deliveries::insert_deliveries(conn, &[write]).await?;
        if new.first() != Some(&true) {
            return Ok(Applied { recorded: Recorded::Duplicate, events: Vec::new() });
        }
        let mut events = Vec::new();
        if let Some(change) = &write.change {
            let now = write.delivery.received_at.timestamp();
            self.apply_change(conn, change, now, &mut events, hooks).await?;
        }
        Ok(Applied { recorded: Recorded::New, events })
    }

    /// Applies changes fetched by a poller (no delivery record: the
    /// provider's REST API is the source) in one committed transaction,
    /// then announces what changed. Answers how many rows were created or
    /// changed. A change the database cannot store is skipped and logged.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy
    /// (nothing was committed).
    async fn apply_polled(&self, changes: &[Change]) -> Result<usize, StoreError> {
        if changes.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let now = Utc::now().timestamp();
        let mut events = Vec::new();
        let mut hooks = self.hooks();
        for change in changes {
            if let Err(err) = change.check_text() {
                tracing::warn!(error = %err, "skipped a polled change the database cannot store");
                continue;
            }
            // A timestamp out of range is stored as null, the rest kept.
            let mut change = change.clone();
            let warnings = time_bounds::null_out_of_range(&mut change, Utc::now());
            if !warnings.is_empty() {
                tracing::warn!(warnings = %warnings.join("; "), "polled timestamps out of range stored as null");
            }
            self.apply_change(&mut tx, &change, now, &mut events, &mut hooks).await?;
        }
        crate::store::flaky::refresh::refresh(&mut tx, self.backend, &events).await?;
        tx.commit().await?;
        self.announcer.publish(&events);
        Ok(events.len())
    }
}
