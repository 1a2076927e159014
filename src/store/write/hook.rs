//! The write path's one door upward: what must commit with a change but is
//! decided above the store (the alert rules and their outbox rows) is
//! handed in as a [`ChangeHook`] by whoever opens the store. The store calls
//! it inside the transaction and never knows what it does.

use futures_util::future::BoxFuture;
use sqlx::AnyConnection;

use crate::store::{ChangeEvent, StoreError};

/// Work that commits with a run attempt's change.
pub trait ChangeHook: Send + Sync + std::fmt::Debug {
    /// One transaction's session: state it keeps for that transaction only
    /// (e.g. a configuration read once per group of deliveries).
    fn session(&self) -> Box<dyn HookSession + '_>;
}

/// A [`ChangeHook`] within one transaction.
pub trait HookSession: Send {
    /// A run delivery changed the run attempt stored as `build_id` at `now`
    /// (Unix seconds): do what must commit with it on `conn`, and answer the
    /// events to announce once the transaction has committed.
    ///
    /// Errors: SQL failures (the whole transaction then fails).
    fn run_changed<'a>(
        &'a mut self,
        conn: &'a mut AnyConnection,
        build_id: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<ChangeEvent>, StoreError>>;
}

/// The hook's session of one transaction, or nothing when no hook is
/// installed.
pub(super) struct TxHooks<'h>(pub(super) Option<Box<dyn HookSession + 'h>>);

impl TxHooks<'_> {
    pub(super) async fn run_changed(
        &mut self,
        conn: &mut AnyConnection,
        build_id: i64,
        now: i64,
    ) -> Result<Vec<ChangeEvent>, StoreError> {
        match &mut self.0 {
            Some(session) => session.run_changed(conn, build_id, now).await,
            None => Ok(Vec::new()),
        }
    }
}
