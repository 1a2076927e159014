//! Reads of `flaky_occurrences`: a window's occurrences with the job key
//! names and the conclusive attempts of the workflows they name (the flaky
//! rate's denominator), and which attempts and jobs carry a flaky badge.

use std::collections::HashSet;

use sqlx::{AssertSqlSafe, Row};

use super::codec::{COLUMNS, occurrence_from_row};
use crate::domain::ProviderKind;
use crate::metrics::flaky::{FlakyRow, FlakyWindow};
use crate::store::rows::{provider_from_id, provider_id};
use crate::store::{Flaky, StoreError};

/// Which occurrences a read covers (exact matches; `None`: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlakyFilter {
    pub repo: Option<String>,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub provider: Option<ProviderKind>,
}

/// ` AND column = $n` for each filter field, pushing its bind.
fn filter_sql(filter: &FlakyFilter, binds: &mut Vec<String>) -> String {
    let mut sql = String::new();
    for (column, value) in [("repo", &filter.repo), ("workflow", &filter.workflow), ("branch", &filter.branch)] {
        if let Some(value) = value {
            binds.push(value.clone());
            sql.push_str(&format!(" AND {column} = ${}", binds.len() + 2));
        }
    }
    if let Some(provider) = filter.provider {
        // An integer of our own, formatted in.
        sql.push_str(&format!(" AND provider_id = {}", provider_id(provider)));
    }
    sql
}

impl Flaky<'_> {
    /// The occurrences seen in `[start, end)` (Unix seconds) matching
    /// `filter`, with the job key names and the workflows' conclusive
    /// attempts in the same window.
    pub async fn window(&self, start: i64, end: i64, filter: &FlakyFilter) -> Result<FlakyWindow, StoreError> {
        let mut binds = Vec::new();
        let where_ = filter_sql(filter, &mut binds);
        let sql = format!(
            "SELECT provider_id, repo, {COLUMNS} FROM flaky_occurrences \
             WHERE seen_at >= $1 AND seen_at < $2{where_}"
        );
        let mut conn = self.read.acquire().await?;
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(start).bind(end);
        for bind in &binds {
            query = query.bind(bind.clone());
        }
        let mut window = FlakyWindow::default();
        for row in query.fetch_all(&mut *conn).await? {
            window.rows.push(FlakyRow {
                provider: provider_from_id(row.try_get("provider_id")?)?,
                repo: row.try_get("repo")?,
                occurrence: occurrence_from_row(&row)?,
            });
        }
        let keys: HashSet<i64> = window.rows.iter().filter_map(|r| r.occurrence.key_id).collect();
        for key in keys {
            let name = sqlx::query("SELECT name FROM job_keys WHERE id = $1")
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(row) = name {
                window.key_names.insert(key, row.try_get("name")?);
            }
        }
        let workflows: HashSet<(ProviderKind, String, String)> =
            window.rows.iter().map(|r| (r.provider, r.repo.clone(), r.occurrence.workflow.clone())).collect();
        for (provider, repo, workflow) in workflows {
            let mut sql = "SELECT COUNT(*) AS n FROM builds WHERE provider_id = $1 AND repo = $2 \
                 AND workflow = $3 AND sort_at >= $4 AND sort_at < $5 AND status IN ('success', 'failed')"
                .to_string();
            if filter.branch.is_some() {
                sql.push_str(" AND branch = $6");
            }
            let mut query = sqlx::query(AssertSqlSafe(sql))
                .bind(provider_id(provider))
                .bind(repo.clone())
                .bind(workflow.clone())
                .bind(start)
                .bind(end);
            if let Some(branch) = &filter.branch {
                query = query.bind(branch.clone());
            }
            let n: i64 = query.fetch_one(&mut *conn).await?.try_get("n")?;
            window.attempts.insert((provider, repo, workflow), n);
        }
        Ok(window)
    }

    /// Of the attempts `ids`, those with a flaky badge: the failed or the
    /// passing attempt of a passed-on-retry or same-commit occurrence.
    pub async fn flaky_builds(&self, ids: &[i64]) -> Result<HashSet<i64>, StoreError> {
        let mut flaky = HashSet::new();
        let wanted: HashSet<i64> = ids.iter().copied().collect();
        for chunk in ids.chunks(100) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let list = marks.join(", ");
            let sql = format!(
                "SELECT build_id, failed_build_id FROM flaky_occurrences WHERE kind <> 'job' \
                 AND (build_id IN ({list}) OR failed_build_id IN ({list}))"
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.read).await? {
                for column in ["build_id", "failed_build_id"] {
                    let id: i64 = row.try_get(column)?;
                    if wanted.contains(&id) {
                        flaky.insert(id);
                    }
                }
            }
        }
        Ok(flaky)
    }

    /// Of the jobs of attempt `build_id`, those with a flaky badge: the
    /// failed or the passing try of a flaky-job occurrence.
    pub async fn flaky_jobs_of_build(&self, build_id: i64) -> Result<HashSet<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT build_id, failed_build_id, job_id, failed_job_id FROM flaky_occurrences \
             WHERE kind = 'job' AND (build_id = $1 OR failed_build_id = $1)",
        )
        .bind(build_id)
        .fetch_all(&self.read)
        .await?;
        let mut jobs = HashSet::new();
        for row in rows {
            if row.try_get::<i64, _>("build_id")? == build_id {
                jobs.extend(row.try_get::<Option<i64>, _>("job_id")?);
            }
            if row.try_get::<i64, _>("failed_build_id")? == build_id {
                jobs.extend(row.try_get::<Option<i64>, _>("failed_job_id")?);
            }
        }
        Ok(jobs)
    }
}
