//! Opening pools for a database URL, with the per-dialect connection settings.

use std::path::Path;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::events::Announcer;
use super::write::Writer;
use super::{Backend, Store, StoreError, StoreOptions};

pub(super) async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
    sqlx::any::install_default_drivers();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let statement_timeout = options.statement_timeout.map(|t| t.as_millis());
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if let Some(ms) = statement_timeout {
                        // A runaway query is cancelled rather than holding a
                        // connection (and the client) indefinitely.
                        conn.execute(sqlx::AssertSqlSafe(format!("SET statement_timeout = {ms}"))).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        let announcer = Announcer::postgres(url, pool.clone()).await;
        let writer = Writer::start(pool.clone(), Backend::Postgres, announcer.clone());
        return Ok(Store {
            write: pool.clone(),
            read: pool,
            backend: Backend::Postgres,
            writer,
            announcer,
            secrets: Default::default(),
        });
    }
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let url = prepare_sqlite_file(url, path)?;
        let write = sqlite_pool(&url, 1, options).await?;
        let read = sqlite_pool(&url, options.max_connections.max(1), options).await?;
        let announcer = Announcer::local();
        let writer = Writer::start(write.clone(), Backend::Sqlite, announcer.clone());
        return Ok(Store {
            write,
            read,
            backend: Backend::Sqlite,
            writer,
            announcer,
            secrets: Default::default(),
        });
    }
    Err(StoreError::Config(format!(
        "unsupported database URL {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
        redact(url)
    )))
}

/// Creates the database file's folder and asks SQLite to create the file.
fn prepare_sqlite_file(url: &str, path_and_query: &str) -> Result<String, StoreError> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Err(StoreError::Config(
            "an in-memory SQLite database is not supported: give a file path, e.g. sqlite://./data/cicd-dashboard.db".into(),
        ));
    }
    if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| {
            StoreError::Config(format!("cannot create the database folder {}: {err}", dir.display()))
        })?;
    }
    Ok(if path_and_query.contains("mode=") {
        url.to_owned()
    } else if path_and_query.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

async fn sqlite_pool(url: &str, max: u32, options: &StoreOptions) -> Result<AnyPool, StoreError> {
    Ok(AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers run beside the writer; FULL syncs the WAL on
                // every commit, so an answered delivery survives a power cut.
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA busy_timeout = 5000").await?;
                // 32 MiB of page cache per connection: the metrics window
                // index and recent rows stay in memory.
                conn.execute("PRAGMA cache_size = -32768").await?;
                Ok(())
            })
        })
        .connect(url)
        .await?)
}

/// The URL without its password, for error messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
