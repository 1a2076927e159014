//! [`StoreError`]: what the store answers when the database fails, split so
//! callers can tell "try again later" (503) from a bug (500). Unavailable:
//! connecting refused, reset or timed out, too many connections, a
//! read-only or shutting-down server, a database not accepting
//! connections, SQLite busy/locked/read-only/full (see `unavailable`).

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or no connection was free in time:
    /// transient, answered 503.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database error (constraint, SQL, decoding).
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A migration could not be applied.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL names a database this build cannot use, or the stored data
    /// names something this build does not know.
    #[error("{0}")]
    Config(String),
    /// Something that cannot happen did (a bug): answered 500 and logged.
    #[error("internal invariant broken: {0}")]
    Invariant(String),
}

impl StoreError {
    /// Whether the failure is transient (the database is down or busy).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// The same "unavailable" answer for another caller waiting on the same
    /// failure (the cause's text kept; `sqlx::Error` cannot be cloned).
    pub fn unavailable_again(&self) -> StoreError {
        let cause = match self {
            StoreError::Unavailable(cause) => cause.to_string(),
            other => other.to_string(),
        };
        StoreError::Unavailable(sqlx::Error::Io(std::io::Error::other(cause)))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            // A connection cut mid-handshake (e.g. by a proxy) surfaces as a
            // protocol error: the database is unreachable, not our request wrong.
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(err),
            sqlx::Error::Database(ref db) if unavailable(db.code().as_deref(), db.message()) => {
                StoreError::Unavailable(err)
            }
            other => StoreError::Database(other),
        }
    }
}

/// Whether a database's own error says it cannot serve now (rather than
/// that the statement is wrong). `code` is a PostgreSQL SQLSTATE (always
/// five characters) or a SQLite extended result code (a number of at most
/// four digits).
fn unavailable(code: Option<&str>, message: &str) -> bool {
    let Some(code) = code else { return false };
    if code.len() == 5 {
        return code.starts_with("08") // connection exception: refused, reset, lost
            || code.starts_with("53") // insufficient resources: too many connections, disk full, out of memory
            || matches!(code, "57P01" | "57P02" | "57P03") // admin/crash shutdown, cannot connect now
            || code == "25006" // read-only transaction: a standby, or a primary made read-only
            // ALTER DATABASE … ALLOW_CONNECTIONS false: refused at connect.
            || (code == "55000" && message.contains("not currently accepting connections"));
    }
    // SQLite: the primary code is the low byte of the extended one.
    let primary = code.parse::<u32>().map_or(0, |code| code & 0xff);
    // BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
    matches!(primary, 5 | 6 | 8 | 10 | 13 | 14)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_are_unavailable_and_the_rest_are_not() {
        for err in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            sqlx::Error::Protocol("unexpected response from SSLRequest".into()),
        ] {
            assert!(StoreError::from(err).is_unavailable());
        }
        for (code, message) in [
            ("08006", "connection failure"),
            ("53300", "sorry, too many clients already"),
            ("57P01", "terminating connection due to administrator command"),
            ("57P03", "the database system is shutting down"),
            ("25006", "cannot execute INSERT in a read-only transaction"),
            ("55000", "database \"x\" is not currently accepting connections"),
            ("5", "database is locked"),
            ("517", "database is locked (snapshot)"),
            ("8", "attempt to write a readonly database"),
        ] {
            assert!(unavailable(Some(code), message), "{code}");
        }
        for (code, message) in [
            ("23505", "duplicate key"),
            ("22021", "invalid byte sequence"),
            ("54000", "index row size 3080 exceeds btree version 4 maximum 2704"),
            ("55000", "currval of sequence is not yet defined"),
            ("2067", "UNIQUE constraint failed"),
        ] {
            assert!(!unavailable(Some(code), message), "{code}");
        }
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::from(sqlx::Error::ColumnNotFound("x".into())).is_unavailable());
    }
}
