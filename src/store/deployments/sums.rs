//! What the DORA reads take as rows beside the counts (`quarters`): the
//! outages deployments opened (by the partial index of migration 0031)
//! and the successful deployments an incident marks. Reads only; what the
//! facts mean is `derive`'s, how they are combined the caller's.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::facts::narrow;
use super::read::DeploymentFilter;
use crate::domain::time::from_unix;
use crate::store::{Deployments, StoreError};

/// An outage a failed deployment opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedOutage {
    pub environment: String,
    pub started_at: DateTime<Utc>,
    pub restored_at: Option<DateTime<Utc>>,
}

/// Where an incident applies: its stream narrowing and its opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentProbe {
    pub repo: Option<String>,
    pub environment: Option<String>,
    pub opened_at: DateTime<Utc>,
}

impl Deployments<'_> {
    /// The outages `filter`'s failed deployments finished in `[from, to)`
    /// opened.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn opened_outages(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &DeploymentFilter,
    ) -> Result<Vec<OpenedOutage>, StoreError> {
        let (narrowing, texts) = narrow(filter, 3);
        let sql = format!(
            "SELECT environment, finished_at, dora_next_success_at FROM deployments \
             WHERE finished_at >= $1 AND finished_at < $2 AND dora_opens_outage = 1 \
             AND dora_state IS NOT NULL{narrowing}"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(from.timestamp()).bind(to.timestamp());
        for text in texts {
            query = query.bind(text);
        }
        let mut out = Vec::new();
        for row in &query.fetch_all(&self.read).await? {
            let Some(started_at) = from_unix(row.try_get(1)?) else { continue };
            out.push(OpenedOutage {
                environment: row.try_get(0)?,
                started_at,
                restored_at: row.try_get::<Option<i64>, _>(2)?.and_then(from_unix),
            });
        }
        Ok(out)
    }

    /// `(id, environment, finished_at)` of `filter`'s successful
    /// deployments finished in `[from, to)` with no signal of their own
    /// that `incident` marks: finished at or before its opening, and their
    /// stream's next success (if any) after it.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn marked_by(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &DeploymentFilter,
        incident: &IncidentProbe,
    ) -> Result<Vec<(i64, String, DateTime<Utc>)>, StoreError> {
        let mut narrowed = filter.clone();
        if let Some(repo) = &incident.repo {
            if narrowed.repo.as_ref().is_some_and(|r| r != repo) {
                return Ok(Vec::new());
            }
            narrowed.repo = Some(repo.clone());
        }
        if let Some(environment) = &incident.environment {
            if narrowed.environment.as_ref().is_some_and(|e| e != environment) {
                return Ok(Vec::new());
            }
            narrowed.environment = Some(environment.clone());
        }
        let (narrowing, texts) = narrow(&narrowed, 4);
        let sql = format!(
            "SELECT id, environment, finished_at FROM deployments WHERE finished_at >= $1 AND finished_at < $2 \
             AND finished_at <= $3 AND (dora_next_success_at IS NULL OR dora_next_success_at > $3) \
             AND dora_state = 0 AND dora_signal IS NULL{narrowing}"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(from.timestamp())
            .bind(to.timestamp())
            .bind(incident.opened_at.timestamp());
        for text in texts {
            query = query.bind(text);
        }
        let mut out = Vec::new();
        for row in &query.fetch_all(&self.read).await? {
            let Some(at) = from_unix(row.try_get(2)?) else { continue };
            out.push((row.try_get(0)?, row.try_get(1)?, at));
        }
        Ok(out)
    }
}
