//! Completed runs on given branches: what the deployment rules
//! (`--deployment-rule`) turn into deployments at read time.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use crate::domain::ProviderKind;
use crate::domain::time::from_unix;
use crate::store::rows::provider_from_id;
use crate::store::{Deployments, StoreError};

/// A completed run attempt a deployment rule may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRun {
    pub build_id: i64,
    pub provider: ProviderKind,
    pub repo: String,
    pub run_id: String,
    pub run_attempt: i64,
    pub workflow: String,
    pub branch: String,
    pub sha: Option<String>,
    pub conclusion: String,
    pub finished_at: DateTime<Utc>,
    pub url: Option<String>,
}

impl Deployments<'_> {
    /// Completed run attempts on one of `branches` (optionally of `repo`)
    /// that started at most a day before `from` and finished in
    /// `[from, to)`.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn rule_runs(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        branches: &[String],
        repo: Option<&str>,
    ) -> Result<Vec<RuleRun>, StoreError> {
        if branches.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..branches.len()).map(|i| format!("${}", i + 4)).collect();
        let mut sql = format!(
            "SELECT id, provider_id, repo, external_id, run_attempt, workflow, branch, commit_sha, conclusion, \
             finished_at, url FROM builds WHERE sort_at >= $1 AND sort_at < $2 AND finished_at >= $3 \
             AND finished_at < $2 AND conclusion IS NOT NULL AND workflow IS NOT NULL AND branch IN ({})",
            marks.join(", ")
        );
        if repo.is_some() {
            sql.push_str(&format!(" AND repo = ${}", branches.len() + 4));
        }
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind((from - chrono::Duration::days(1)).timestamp())
            .bind(to.timestamp())
            .bind(from.timestamp());
        for branch in branches {
            query = query.bind(branch.clone());
        }
        if let Some(repo) = repo {
            query = query.bind(repo.to_owned());
        }
        let rows = query.fetch_all(&self.read).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(finished_at) = row.try_get::<Option<i64>, _>(9)?.and_then(from_unix) else { continue };
            out.push(RuleRun {
                build_id: row.try_get(0)?,
                provider: provider_from_id(row.try_get(1)?)?,
                repo: row.try_get(2)?,
                run_id: row.try_get(3)?,
                run_attempt: row.try_get(4)?,
                workflow: row.try_get(5)?,
                branch: row.try_get(6)?,
                sha: row.try_get(7)?,
                conclusion: row.try_get(8)?,
                finished_at,
                url: row.try_get(10)?,
            });
        }
        Ok(out)
    }
}
