//! Read queries behind `/api/builds` and `/api/builds/{id}`.

use sqlx::{AssertSqlSafe, Row};

use super::rows::{build_columns, job_columns, job_from_row, provider_id, run_from_row};
use super::{Store, StoreError};
use crate::domain::{BuildStatus, Job, ProviderKind, RunAttempt};

/// Filters of `/api/builds`; `None` means "any". Text filters match exactly.
#[derive(Debug, Clone, Default)]
pub struct BuildFilter {
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub workflow: Option<String>,
    pub status: Option<BuildStatus>,
    pub provider: Option<ProviderKind>,
}

/// A stored run attempt and its row id.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildRecord {
    pub id: i64,
    pub attempt: RunAttempt,
}

/// A stored job, its row id and its build's row id.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: i64,
    pub build_id: i64,
    pub job: Job,
}

/// One page of builds plus the number matching the filter.
#[derive(Debug, Clone)]
pub struct BuildPage {
    pub builds: Vec<BuildRecord>,
    pub total: i64,
}

/// `WHERE` clause and its bind values for a filter; placeholders start at `$1`.
fn where_clause(filter: &BuildFilter) -> (String, Vec<String>, Option<i64>) {
    let mut clauses = Vec::new();
    let mut texts = Vec::new();
    for (column, value) in [
        ("repo", filter.repo.as_ref()),
        ("branch", filter.branch.as_ref()),
        ("workflow", filter.workflow.as_ref()),
        ("status", filter.status.map(|s| s.as_str().to_owned()).as_ref()),
    ] {
        if let Some(value) = value {
            texts.push(value.clone());
            clauses.push(format!("{column} = ${}", texts.len()));
        }
    }
    let provider = filter.provider.map(provider_id);
    if provider.is_some() {
        clauses.push(format!("provider_id = ${}", texts.len() + 1));
    }
    let sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
    (sql, texts, provider)
}

impl Store {
    /// One page of run attempts matching `filter`, newest start first
    /// (attempts with no start yet last), then id descending.
    pub async fn list_builds(
        &self,
        filter: &BuildFilter,
        limit: i64,
        offset: i64,
    ) -> Result<BuildPage, StoreError> {
        let (where_sql, texts, provider) = where_clause(filter);
        let next = texts.len() + usize::from(provider.is_some()) + 1;
        let page_sql = format!(
            "SELECT {} FROM builds{where_sql} ORDER BY sort_at DESC, id DESC LIMIT ${} OFFSET ${}",
            build_columns!(),
            next,
            next + 1
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM builds{where_sql}");

        // The SQL holds only column names and numbered placeholders; every
        // value is bound.
        let mut page = sqlx::query(AssertSqlSafe(page_sql));
        let mut count = sqlx::query(AssertSqlSafe(count_sql));
        for text in &texts {
            page = page.bind(text.clone());
            count = count.bind(text.clone());
        }
        if let Some(provider) = provider {
            page = page.bind(provider);
            count = count.bind(provider);
        }
        let rows = page.bind(limit).bind(offset).fetch_all(&self.read).await?;
        let total: i64 = count.fetch_one(&self.read).await?.try_get("n")?;
        let builds = rows
            .iter()
            .map(|row| run_from_row(row).map(|(id, attempt)| BuildRecord { id, attempt }))
            .collect::<Result<_, _>>()?;
        Ok(BuildPage { builds, total })
    }

    /// The run attempt with row id `id`, if any.
    pub async fn get_build(&self, id: i64) -> Result<Option<BuildRecord>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", build_columns!(), " FROM builds WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(|row| run_from_row(row).map(|(id, attempt)| BuildRecord { id, attempt })).transpose()
    }

    /// The job with row id `id`, if any.
    pub async fn get_job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs j JOIN builds b ON b.id = j.build_id WHERE j.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref()
            .map(|row| job_from_row(row).map(|(id, build_id, job)| JobRecord { id, build_id, job }))
            .transpose()
    }

    /// The jobs of build `build_id`, by start time then id.
    pub async fn jobs_of_build(&self, build_id: i64) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs j JOIN builds b ON b.id = j.build_id WHERE j.build_id = $1 \
             ORDER BY j.started_at IS NULL, j.started_at, j.id"
        ))
        .bind(build_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| job_from_row(row).map(|(id, build_id, job)| JobRecord { id, build_id, job }))
            .collect()
    }
}
