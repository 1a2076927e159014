//! Reading the DORA facts `derive` stored: a window's counted deployments
//! with their signals and next successes, and the commits of listed
//! deployments (lead-time summaries: `lead_days`).

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::read::DeploymentFilter;
use super::rows::signal_of;
use crate::domain::ProviderKind;
use crate::domain::time::from_unix;
use crate::metrics::dora::history::{CommitLead, Signal};
use crate::store::rows::{provider_from_id, provider_id};
use crate::store::{Deployments, StoreError};

/// A counted deployment with its derived facts (incidents aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFacts {
    pub id: i64,
    pub provider: ProviderKind,
    pub repo: String,
    pub environment: String,
    pub sha: Option<String>,
    pub finished_at: DateTime<Utc>,
    pub failed: bool,
    /// `Failed` or `RolledBack`.
    pub signal: Option<Signal>,
    pub rollback: bool,
    /// The stream's next successful deployment's finish.
    pub next_success_at: Option<DateTime<Utc>>,
    /// A failure that starts an outage.
    pub opens_outage: bool,
}

const FACT_COLUMNS: &str = "id, provider_id, repo, environment, sha, finished_at, dora_state, dora_signal, \
     dora_rollback, dora_next_success_at, dora_opens_outage";

fn facts_from_row(row: &sqlx::any::AnyRow) -> Result<Option<StoredFacts>, StoreError> {
    let Some(finished_at) = from_unix(row.try_get(5)?) else { return Ok(None) };
    Ok(Some(StoredFacts {
        id: row.try_get(0)?,
        provider: provider_from_id(row.try_get(1)?)?,
        repo: row.try_get(2)?,
        environment: row.try_get(3)?,
        sha: row.try_get(4)?,
        finished_at,
        failed: row.try_get::<i64, _>(6)? != 0,
        signal: signal_of(row.try_get(7)?),
        rollback: row.try_get::<i64, _>(8)? != 0,
        next_success_at: row.try_get::<Option<i64>, _>(9)?.and_then(from_unix),
        opens_outage: row.try_get::<i64, _>(10)? != 0,
    }))
}

/// ` AND repo = $n AND environment = $m AND provider_id = k` for `filter`,
/// numbering binds after `first - 1`; answers the SQL and the texts to bind.
pub(super) fn narrow(filter: &DeploymentFilter, first: usize) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut texts = Vec::new();
    if let Some(repo) = &filter.repo {
        texts.push(repo.clone());
        sql.push_str(&format!(" AND repo = ${}", first + texts.len() - 1));
    }
    if let Some(environment) = &filter.environment {
        texts.push(environment.clone());
        sql.push_str(&format!(" AND environment = ${}", first + texts.len() - 1));
    }
    if let Some(kind) = filter.provider {
        sql.push_str(&format!(" AND provider_id = {}", provider_id(kind)));
    }
    (sql, texts)
}

impl Deployments<'_> {
    /// Counted deployments of `filter` finished in `[from, to)`, oldest
    /// first, with their facts.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn counted_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &DeploymentFilter,
    ) -> Result<Vec<StoredFacts>, StoreError> {
        let (narrowing, texts) = narrow(filter, 3);
        let sql = format!(
            "SELECT {FACT_COLUMNS} FROM deployments WHERE finished_at >= $1 AND finished_at < $2 \
             AND dora_state IS NOT NULL{narrowing} ORDER BY finished_at, id"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(from.timestamp()).bind(to.timestamp());
        for text in texts {
            query = query.bind(text);
        }
        let rows = query.fetch_all(&self.read).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.extend(facts_from_row(row)?);
        }
        Ok(out)
    }

    /// The facts of the counted deployments among `ids`.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn facts_of(&self, ids: &[i64]) -> Result<Vec<StoredFacts>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let sql = format!(
                "SELECT {FACT_COLUMNS} FROM deployments WHERE dora_state IS NOT NULL AND finished_at IS NOT NULL \
                 AND id IN ({})",
                list.join(", ")
            );
            for row in &sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.read).await? {
                out.extend(facts_from_row(row)?);
            }
        }
        Ok(out)
    }

    /// The commits each of `ids` carried first, newest first.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn carried_commits(&self, ids: &[i64]) -> Result<Vec<(i64, CommitLead)>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let sql = format!(
                "SELECT deployment_id, sha, committed_at, lead_seconds FROM deployment_commits \
                 WHERE deployment_id IN ({}) ORDER BY deployment_id, position",
                list.join(", ")
            );
            for row in &sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.read).await? {
                out.push((
                    row.try_get(0)?,
                    CommitLead {
                        sha: row.try_get(1)?,
                        time: row.try_get::<Option<i64>, _>(2)?.and_then(from_unix),
                        lead_seconds: row.try_get(3)?,
                    },
                ));
            }
        }
        Ok(out)
    }
}
