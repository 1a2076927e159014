//! Subcommands other than `serve` that work on the database directly:
//! `poll` (a backfill in the foreground) and `token` (API tokens). Each is
//! a thin driver over the layers below; the store they open is the one a
//! server opens ([`open_store`]).

pub mod poll;
pub mod token;

use std::time::Duration;

use crate::config::{DatabaseSettings, SecretSettings};
use crate::secret_box::SecretBox;
use crate::store::{Store, StoreOptions};

/// Pool options from the database settings.
pub fn store_options(settings: &DatabaseSettings) -> StoreOptions {
    StoreOptions {
        max_connections: settings.db_max_connections,
        acquire_timeout: Duration::from_secs(settings.db_acquire_timeout.max(1)),
        statement_timeout: (settings.db_statement_timeout > 0)
            .then(|| Duration::from_secs(settings.db_statement_timeout)),
    }
}

/// The store a process that ingests works on: connected, migrated, sealing
/// secrets with the configured key, with the alert rules on its write path.
///
/// Errors: a malformed key or unreadable key file, an unreachable database,
/// a failed migration.
pub async fn open_store(database: &DatabaseSettings, secrets: &SecretSettings) -> anyhow::Result<Store> {
    let secrets = SecretBox::for_database(secrets, &database.database_url).map_err(anyhow::Error::msg)?;
    let store = Store::connect(&database.database_url, &store_options(database)).await?.with_secrets(secrets);
    store.migrate().await?;
    Ok(crate::alerts::hook::attach(store))
}
