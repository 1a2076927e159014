//! Leases for periodic work (`job_leases`): a job runs on the replica that
//! claims its row, once per interval, and never twice at once. The claim is
//! one conditional upsert, so it is atomic on SQLite and PostgreSQL alike;
//! a crashed holder's lease simply expires (`locked_until`).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::StoreError;
use crate::domain::time::from_unix;
use crate::store::Leases;

const CLAIM: &str = "INSERT INTO job_leases (name, owner, locked_until, last_started_at, runs) \
     VALUES ($1, $2, $3, $4, 1) \
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, locked_until = excluded.locked_until, \
     last_started_at = excluded.last_started_at, runs = job_leases.runs + 1 \
     WHERE job_leases.locked_until < $4 \
     AND (job_leases.last_started_at IS NULL OR job_leases.last_started_at <= $5)";

const RENEW: &str = "UPDATE job_leases SET locked_until = $3 WHERE name = $1 AND owner = $2";

const FINISH: &str = "UPDATE job_leases SET locked_until = 0, last_finished_at = $3, last_error = $4 \
     WHERE name = $1 AND owner = $2";

/// The state of one periodic job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobLease {
    pub name: String,
    /// Replica that ran (or runs) it last.
    pub owner: Option<String>,
    pub running: bool,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// How many times it was started.
    pub runs: i64,
}

impl Leases<'_> {
    /// Claims job `name` for `owner` at `now` when nobody holds it and it
    /// last started at least `interval_seconds` ago; the lease lasts until
    /// `now + lease_seconds` unless renewed. `true` means: run it now.
    pub async fn claim_job(
        &self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        interval_seconds: i64,
        lease_seconds: i64,
    ) -> Result<bool, StoreError> {
        let now = now.timestamp();
        let claimed = sqlx::query(CLAIM)
            .bind(name)
            .bind(owner)
            .bind(now + lease_seconds)
            .bind(now)
            .bind(now - interval_seconds)
            .execute(&self.write)
            .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Extends `owner`'s lease on `name` to `until`.
    pub async fn renew_job(&self, name: &str, owner: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(RENEW).bind(name).bind(owner).bind(until.timestamp()).execute(&self.write).await?;
        Ok(())
    }

    /// Releases `owner`'s lease on `name`, recording the end and any error.
    pub async fn finish_job(
        &self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(FINISH)
            .bind(name)
            .bind(owner)
            .bind(now.timestamp())
            .bind(error)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Every periodic job's lease, by name.
    pub async fn job_leases(&self) -> Result<Vec<JobLease>, StoreError> {
        let now = Utc::now().timestamp();
        let rows = sqlx::query(
            "SELECT name, owner, locked_until, last_started_at, last_finished_at, last_error, runs \
             FROM job_leases ORDER BY name",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(JobLease {
                    name: row.try_get("name")?,
                    owner: row.try_get("owner")?,
                    running: row.try_get::<i64, _>("locked_until")? >= now,
                    last_started_at: row.try_get::<Option<i64>, _>("last_started_at")?.and_then(from_unix),
                    last_finished_at: row.try_get::<Option<i64>, _>("last_finished_at")?.and_then(from_unix),
                    last_error: row.try_get("last_error")?,
                    runs: row.try_get("runs")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
