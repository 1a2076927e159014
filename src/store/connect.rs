//! Opening pools for a database URL, with the per-dialect connection
//! settings; opening only an existing database (for the commands that must
//! not create one); saying why a database cannot be reached.

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
            .await;
        let pool = match pool {
            Ok(pool) => pool,
            Err(sqlx::Error::PoolTimedOut) => return Err(why_unreachable(url).await),
            // A wrong role, password or database name: said once, plainly.
            Err(sqlx::Error::Database(db))
                if db.code().is_some_and(|code| code.starts_with("28") || code == "3D000") =>
            {
                return Err(StoreError::Config(format!(
                    "PostgreSQL refused {}: {}; check the user, password and database name in --database-url",
                    redact(url),
                    db.message()
                )));
            }
            Err(err) => return Err(err.into()),
        };
        let announcer = Announcer::postgres(url, pool.clone()).await;
        let writer = Writer::start(pool.clone(), Backend::Postgres, announcer.clone());
        return Ok(Store {
            write: pool.clone(),
            read: pool,
            backend: Backend::Postgres,
            writer,
            announcer,
            secrets: Default::default(),
            insights_refresher: Default::default(),
            job_key_cache: Default::default(),
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
            insights_refresher: Default::default(),
            job_key_cache: Default::default(),
        });
    }
    Err(StoreError::Config(format!(
        "unsupported database URL {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
        redact(url)
    )))
}

impl Store {
    /// Opens the database at `url` only if it exists and holds this
    /// dashboard's tables: for the commands that work on the server's
    /// database (`token`, `poll`, `db copy`'s source), so that a missing or
    /// wrong `--database-url` is an error, not a new, empty database.
    ///
    /// Errors: no SQLite file at the path, a database without the
    /// dashboard's tables, or as [`Store::connect`].
    pub async fn connect_existing(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let hint = "point --database-url (or DATABASE_URL) at the server's database: the URL the server \
                    runs with (its default, sqlite://./data/cicd-dashboard.db, is relative to the folder \
                    the server was started in)";
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = path.split('?').next().unwrap_or_default();
            if !Path::new(path).is_file() {
                return Err(StoreError::Config(format!(
                    "no database at {path}: this command does not create one; {hint}"
                )));
            }
        }
        let store = connect(url, options).await?;
        match store.applied_migrations().await {
            Ok(applied) if applied > 0 => Ok(store),
            Err(err) if err.is_unavailable() => Err(err),
            _ => {
                store.close().await;
                Err(StoreError::Config(format!(
                    "the database {} holds no cicd-dashboard tables: this command does not create them; {hint}",
                    redact(url)
                )))
            }
        }
    }
}

/// The cause behind a pool that timed out connecting, from one direct
/// attempt: "connection refused (is PostgreSQL running at HOST:PORT?)"
/// rather than "pool timed out".
async fn why_unreachable(url: &str) -> StoreError {
    use sqlx::Connection;
    let attempt = tokio::time::timeout(std::time::Duration::from_secs(5), sqlx::AnyConnection::connect(url));
    let err = match attempt.await {
        Ok(Err(err)) => err,
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            return StoreError::Unavailable(sqlx::Error::PoolTimedOut);
        }
        Err(_) => sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::TimedOut)),
    };
    let sqlx::Error::Io(io) = err else { return err.into() };
    let at = url::Url::parse(url)
        .map(|u| format!("{}:{}", u.host_str().unwrap_or("localhost"), u.port().unwrap_or(5432)))
        .unwrap_or_default();
    let what = match io.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        std::io::ErrorKind::TimedOut => "connecting timed out".to_owned(),
        _ => io.to_string(),
    };
    let message = format!("{what} (is PostgreSQL running at {at}?)");
    StoreError::Unavailable(sqlx::Error::Io(std::io::Error::new(io.kind(), message)))
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
