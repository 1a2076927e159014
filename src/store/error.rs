//! [`StoreError`]: what the store answers when the database fails, split so
//! callers can tell "try again later" (503) from a bug (500).

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
            sqlx::Error::Database(ref db)
                if db
                    .code()
                    .is_some_and(|c| c == "5" || c == "6" || c.starts_with("57P") || c.starts_with("08")) =>
            {
                // SQLite BUSY/LOCKED, PostgreSQL admin shutdown / connection exceptions.
                StoreError::Unavailable(err)
            }
            other => StoreError::Database(other),
        }
    }
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
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::from(sqlx::Error::ColumnNotFound("x".into())).is_unavailable());
    }
}
