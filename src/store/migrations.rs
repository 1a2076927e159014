//! Versioned migrations, embedded in the binary, one list per dialect. A new
//! migration is a new numbered file in both `migrations/sqlite` and
//! `migrations/postgres` plus a line in each list below.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{Backend, Store, StoreError};

const SQLITE: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/sqlite/0001_init.sql")),
    (2, "job leases", include_str!("migrations/sqlite/0002_job_leases.sql")),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/postgres/0001_init.sql")),
    (2, "job leases", include_str!("migrations/postgres/0002_job_leases.sql")),
];

fn migrator(backend: Backend) -> Migrator {
    let list = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    Migrator::with_migrations(
        list.iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(super) async fn run(store: &Store) -> Result<(), StoreError> {
    migrator(store.backend).run(&store.write).await?;
    Ok(())
}
