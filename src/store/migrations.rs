//! Versioned migrations, embedded in the binary, one list per dialect. A new
//! migration is a new numbered file in both `migrations/sqlite` and
//! `migrations/postgres` plus a line in each list below.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{Backend, Store, StoreError};

const SQLITE: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/sqlite/0001_init.sql")),
    (2, "job leases", include_str!("migrations/sqlite/0002_job_leases.sql")),
    (3, "poll repos", include_str!("migrations/sqlite/0003_poll_repos.sql")),
    (4, "alerts", include_str!("migrations/sqlite/0004_alerts.sql")),
    (5, "tokens and audit log", include_str!("migrations/sqlite/0005_tokens_audit.sql")),
    (6, "stream tickets", include_str!("migrations/sqlite/0006_stream_tickets.sql")),
    (7, "rollups", include_str!("migrations/sqlite/0007_rollups.sql")),
    (8, "gitlab", include_str!("migrations/sqlite/0008_gitlab.sql")),
    (9, "generic providers", include_str!("migrations/sqlite/0009_generic_providers.sql")),
    (10, "steps and job keys", include_str!("migrations/sqlite/0010_steps_job_keys.sql")),
    (11, "runners", include_str!("migrations/sqlite/0011_runners.sql")),
    (12, "poll repos instance", include_str!("migrations/sqlite/0012_poll_repos_instance.sql")),
    (13, "test results", include_str!("migrations/sqlite/0013_test_results.sql")),
    (14, "deployments", include_str!("migrations/sqlite/0014_deployments.sql")),
    (15, "flaky occurrences", include_str!("migrations/sqlite/0015_flaky.sql")),
    (16, "failure reasons", include_str!("migrations/sqlite/0016_failure_reasons.sql")),
    (17, "job hours", include_str!("migrations/sqlite/0017_job_hours.sql")),
    (18, "test roll-ups", include_str!("migrations/sqlite/0018_test_rollups.sql")),
    (19, "attempt listings", include_str!("migrations/sqlite/0019_attempt_listings.sql")),
    (20, "flaky attempt days", include_str!("migrations/sqlite/0020_flaky_attempt_days.sql")),
    (21, "deployment facts", include_str!("migrations/sqlite/0021_deployment_facts.sql")),
    (22, "poll deployments", include_str!("migrations/sqlite/0022_poll_deployments.sql")),
    (23, "test insight cache", include_str!("migrations/sqlite/0023_test_insight_cache.sql")),
    (24, "failure days", include_str!("migrations/sqlite/0024_failure_days.sql")),
    (25, "test insight timing", include_str!("migrations/sqlite/0025_test_insight_timing.sql")),
    (26, "runner roll-ups", include_str!("migrations/sqlite/0026_runner_rollups.sql")),
    (27, "flaky days, failure signature days", include_str!("migrations/sqlite/0027_flaky_days.sql")),
    (28, "deployment lead days", include_str!("migrations/sqlite/0028_deployment_lead_days.sql")),
    (29, "runner roll-up folds", include_str!("migrations/sqlite/0029_runner_rollup_folds.sql")),
    (30, "failure class builds", include_str!("migrations/sqlite/0030_failure_class_builds.sql")),
    (31, "deployment quarters", include_str!("migrations/sqlite/0031_deployment_quarters.sql")),
    (32, "runner roll-up hours", include_str!("migrations/sqlite/0032_runner_rollup_hours.sql")),
    (33, "job spans", include_str!("migrations/sqlite/0033_job_spans.sql")),
    (34, "lead-time indexes", include_str!("migrations/sqlite/0034_lead_time_indexes.sql")),
    (35, "job open runs", include_str!("migrations/sqlite/0035_job_open_runs.sql")),
    (36, "job hour spans", include_str!("migrations/sqlite/0036_job_hour_spans.sql")),
    (37, "job run starts", include_str!("migrations/sqlite/0037_job_run_starts.sql")),
    (38, "runner minute cells", include_str!("migrations/sqlite/0038_runner_minute_cells.sql")),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/postgres/0001_init.sql")),
    (2, "job leases", include_str!("migrations/postgres/0002_job_leases.sql")),
    (3, "poll repos", include_str!("migrations/postgres/0003_poll_repos.sql")),
    (4, "alerts", include_str!("migrations/postgres/0004_alerts.sql")),
    (5, "tokens and audit log", include_str!("migrations/postgres/0005_tokens_audit.sql")),
    (6, "stream tickets", include_str!("migrations/postgres/0006_stream_tickets.sql")),
    (7, "rollups", include_str!("migrations/postgres/0007_rollups.sql")),
    (8, "gitlab", include_str!("migrations/postgres/0008_gitlab.sql")),
    (9, "generic providers", include_str!("migrations/postgres/0009_generic_providers.sql")),
    (10, "steps and job keys", include_str!("migrations/postgres/0010_steps_job_keys.sql")),
    (11, "runners", include_str!("migrations/postgres/0011_runners.sql")),
    (12, "poll repos instance", include_str!("migrations/postgres/0012_poll_repos_instance.sql")),
    (13, "test results", include_str!("migrations/postgres/0013_test_results.sql")),
    (14, "deployments", include_str!("migrations/postgres/0014_deployments.sql")),
    (15, "flaky occurrences", include_str!("migrations/postgres/0015_flaky.sql")),
    (16, "failure reasons", include_str!("migrations/postgres/0016_failure_reasons.sql")),
    (17, "job hours", include_str!("migrations/postgres/0017_job_hours.sql")),
    (18, "test roll-ups", include_str!("migrations/postgres/0018_test_rollups.sql")),
    (19, "attempt listings", include_str!("migrations/postgres/0019_attempt_listings.sql")),
    (20, "flaky attempt days", include_str!("migrations/postgres/0020_flaky_attempt_days.sql")),
    (21, "deployment facts", include_str!("migrations/postgres/0021_deployment_facts.sql")),
    (22, "poll deployments", include_str!("migrations/postgres/0022_poll_deployments.sql")),
    (23, "test insight cache", include_str!("migrations/postgres/0023_test_insight_cache.sql")),
    (24, "failure days", include_str!("migrations/postgres/0024_failure_days.sql")),
    (25, "test insight timing", include_str!("migrations/postgres/0025_test_insight_timing.sql")),
    (26, "runner roll-ups", include_str!("migrations/postgres/0026_runner_rollups.sql")),
    (27, "flaky days, failure signature days", include_str!("migrations/postgres/0027_flaky_days.sql")),
    (28, "deployment lead days", include_str!("migrations/postgres/0028_deployment_lead_days.sql")),
    (29, "runner roll-up folds", include_str!("migrations/postgres/0029_runner_rollup_folds.sql")),
    (30, "failure class builds", include_str!("migrations/postgres/0030_failure_class_builds.sql")),
    (31, "deployment quarters", include_str!("migrations/postgres/0031_deployment_quarters.sql")),
    (32, "runner roll-up hours", include_str!("migrations/postgres/0032_runner_rollup_hours.sql")),
    (33, "job spans", include_str!("migrations/postgres/0033_job_spans.sql")),
    (34, "lead-time indexes", include_str!("migrations/postgres/0034_lead_time_indexes.sql")),
    (35, "job open runs", include_str!("migrations/postgres/0035_job_open_runs.sql")),
    (36, "job hour spans", include_str!("migrations/postgres/0036_job_hour_spans.sql")),
    (37, "job run starts", include_str!("migrations/postgres/0037_job_run_starts.sql")),
    (38, "runner minute cells", include_str!("migrations/postgres/0038_runner_minute_cells.sql")),
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

/// This store for the start-up work. On PostgreSQL, with a small pool of
/// its own (two connections: a backfill may read beside its transaction)
/// opened without the `statement_timeout`: the server's pool sets it on
/// each of its connections, and would cancel a migration or backfill that
/// takes longer on a big database (0037 rewrites every job: minutes at
/// 10 M jobs). SQLite has no statement timeout: the store itself.
async fn unbounded(store: &Store) -> Result<Store, StoreError> {
    if store.backend != Backend::Postgres {
        return Ok(store.clone());
    }
    let options = (*store.write.connect_options()).clone();
    let pool = AnyPoolOptions::new().max_connections(2).connect_with(options).await?;
    Ok(Store { write: pool.clone(), read: pool, ..store.clone() })
}

/// The migrations, then the backfills of rows stored before what they
/// fill existed, all without the statement timeout (see [`unbounded`]).
pub(super) async fn run(store: &Store) -> Result<(), StoreError> {
    let upgrade = unbounded(store).await?;
    let done = migrate_and_backfill(&upgrade).await;
    if store.backend == Backend::Postgres {
        upgrade.write.close().await;
    }
    done
}

async fn migrate_and_backfill(store: &Store) -> Result<(), StoreError> {
    migrator(store.backend).run(&store.write).await?;
    if store.test_results().rebuild_rollups_if_missing().await? {
        tracing::info!("test roll-ups computed for reports stored before them");
    }
    let keyed = store.key_unkeyed_jobs().await?;
    if keyed > 0 {
        tracing::info!(jobs = keyed, "job keys computed for jobs stored before them");
    }
    let groups = store.backfill_flaky().await?;
    if groups > 0 {
        tracing::info!(groups, "flaky occurrences found for attempts stored before them");
    }
    if store.flaky().rebuild_days_if_missing().await? {
        tracing::info!("flaky roll-up computed for occurrences stored before it");
    }
    Ok(())
}

impl Store {
    /// How many migrations this binary knows for its back end.
    pub fn expected_migrations(&self) -> i64 {
        match self.backend {
            Backend::Sqlite => SQLITE.len() as i64,
            Backend::Postgres => POSTGRES.len() as i64,
        }
    }

    /// How many migrations the database has applied successfully.
    pub async fn applied_migrations(&self) -> Result<i64, StoreError> {
        use sqlx::Row;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get("n")?)
    }
}
