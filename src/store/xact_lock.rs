//! Locks held until the transaction ends, across replicas: on PostgreSQL
//! an advisory transaction lock (`pg_advisory_xact_lock`), on SQLite
//! nothing (its write transactions, `BEGIN IMMEDIATE`, run one at a time
//! already). Owns no table and no key: callers choose the key; a number
//! ([`LockKey::Number`]) and a name ([`LockKey::Name`], by PostgreSQL's
//! `hashtext`, a 32-bit value) share one key space, so fixed numbers are
//! chosen above 2³¹.

use sqlx::AnyConnection;

use super::{Backend, StoreError};

/// What a lock is taken on.
#[derive(Debug, Clone, Copy)]
pub enum LockKey<'a> {
    /// A fixed 64-bit key (e.g. the fold's, `super::rollups::FOLD_LOCK`).
    Number(i64),
    /// A name, hashed (e.g. a pipeline's in alert checks).
    Name(&'a str),
}

/// Waits for, then holds, the lock on `key` until the transaction on
/// `conn` ends (commit or rollback); does nothing on SQLite.
pub async fn lock_until_commit(
    conn: &mut AnyConnection,
    backend: Backend,
    key: LockKey<'_>,
) -> Result<(), StoreError> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let query = match key {
        LockKey::Number(n) => {
            sqlx::query("SELECT CAST(1 AS BIGINT) AS locked FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(n)
        }
        LockKey::Name(name) => sqlx::query(
            "SELECT CAST(1 AS BIGINT) AS locked FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS l",
        )
        .bind(name),
    };
    query.fetch_one(&mut *conn).await?;
    Ok(())
}
