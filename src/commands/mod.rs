//! Subcommands other than `serve`: `report` (a client of the generic build
//! API, `report/`) and those that work on the database directly:
//! `poll` (a backfill in the foreground; GitLab's in `poll_gitlab`) and `token` (API tokens). Each is
//! a thin driver over the layers below; the store they open is the one a
//! server opens ([`open_store`]).

pub mod poll;
pub mod poll_gitlab;
pub mod report;
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

/// Whether opening a store may create its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// `serve`, `worker`: create the SQLite file and the schema if missing.
    CreateIfMissing,
    /// Commands that work on the server's database (`token`, `poll`): a
    /// missing database or one without the schema is an error.
    Existing,
}

/// The store a process that ingests works on: connected, migrated, sealing
/// secrets with the configured key, with the alert rules on its write path.
/// The key file beside a SQLite database is made only once the database is
/// known to be there.
///
/// Errors: an unreachable or (with [`Open::Existing`]) missing database, a
/// malformed key or unreadable key file, a failed migration.
pub async fn open_store(
    database: &DatabaseSettings,
    secrets: &SecretSettings,
    open: Open,
) -> anyhow::Result<Store> {
    let options = store_options(database);
    let store = match open {
        Open::CreateIfMissing => Store::connect(&database.database_url, &options).await?,
        Open::Existing => Store::connect_existing(&database.database_url, &options).await?,
    };
    let secrets = SecretBox::for_database(secrets, &database.database_url).map_err(anyhow::Error::msg)?;
    let store = store.with_secrets(secrets);
    store.migrate().await?;
    Ok(crate::alerts::hook::attach(store))
}

/// Fails at once, with the cause, when nothing answers at `api_url` (the
/// poll itself retries network errors for about half a minute, as the
/// server's poller should). Any HTTP answer will do.
async fn reachable(api_url: &str, what: &str, setting: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let Err(err) = client.head(api_url).send().await else { return Ok(()) };
    let mut cause: &dyn std::error::Error = &err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    anyhow::bail!("cannot reach the {what} at {api_url}: {cause}; check {setting} and the network")
}
