//! The alert rules on the store's write path: [`attach`] installs a
//! [`ChangeHook`] that evaluates the build-change rules ([`evaluate`]) inside
//! every transaction in which a run delivery changed a run attempt, so the
//! outbox rows commit with their cause. The configuration is read once per
//! transaction (a group of deliveries reads it once).
//!
//! [`evaluate`]: super::evaluate

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::AnyConnection;

use super::evaluate::{ConfigMemo, after_build_change};
use crate::secret_box::SecretBox;
use crate::store::{Backend, ChangeEvent, ChangeHook, HookSession, Store, StoreError};

/// The build-change alert rules as a write-path hook.
#[derive(Debug)]
struct AlertHook {
    backend: Backend,
    /// Opens the sealed alert configuration.
    secrets: Option<SecretBox>,
}

/// One transaction's evaluation: the configuration it has read.
struct AlertSession<'h> {
    hook: &'h AlertHook,
    memo: ConfigMemo,
}

impl ChangeHook for AlertHook {
    fn session(&self) -> Box<dyn HookSession + '_> {
        Box::new(AlertSession { hook: self, memo: ConfigMemo::default() })
    }
}

impl HookSession for AlertSession<'_> {
    fn run_changed<'a>(
        &'a mut self,
        conn: &'a mut AnyConnection,
        build_id: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<ChangeEvent>, StoreError>> {
        Box::pin(async move {
            let hook = self.hook;
            let created =
                after_build_change(conn, hook.backend, hook.secrets.as_ref(), build_id, now, &mut self.memo)
                    .await?;
            Ok(created.into_iter().map(|id| ChangeEvent::Alert { id }).collect())
        })
    }
}

/// `store` with the build-change alert rules on its write path (every clone
/// of it too). Call after [`Store::with_secrets`], so the rules can open the
/// sealed configuration.
pub fn attach(store: Store) -> Store {
    let hook = AlertHook { backend: store.backend(), secrets: store.secret_box().cloned() };
    store.with_change_hook(Arc::new(hook))
}
