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
    /// Attempts matching the filter (all pages).
    pub total: i64,
    /// Whether more attempts follow this page.
    pub has_more: bool,
    /// Opaque keyset cursor of the next page (see [`PageCursor`]), when
    /// `has_more`.
    pub next_cursor: Option<String>,
}

/// A keyset position in the builds order: the `(sort_at, id)` of the last
/// attempt shown. Paging by cursor costs the same at any depth, unlike
/// `offset`. Text form: `"<sort_at>.<id>"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub sort_at: i64,
    pub id: i64,
}

impl PageCursor {
    /// Parses the text form; `None` if malformed.
    pub fn parse(text: &str) -> Option<PageCursor> {
        let (sort_at, id) = text.split_once('.')?;
        Some(PageCursor { sort_at: sort_at.parse().ok()?, id: id.parse().ok()? })
    }

    fn after(record: &BuildRecord) -> PageCursor {
        PageCursor { sort_at: record.attempt.started_at.map_or(0, |t| t.timestamp()), id: record.id }
    }

    fn text(self) -> String {
        format!("{}.{}", self.sort_at, self.id)
    }
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
    /// With `cursor`, the page starts after that position (then `offset`
    /// skips further).
    pub async fn list_builds(
        &self,
        filter: &BuildFilter,
        limit: i64,
        offset: i64,
        cursor: Option<PageCursor>,
    ) -> Result<BuildPage, StoreError> {
        let (where_sql, texts, provider) = where_clause(filter);
        let next = texts.len() + usize::from(provider.is_some()) + 1;
        let (page_where, next) = match cursor {
            None => (where_sql.clone(), next),
            Some(_) => {
                let keyset = format!("(sort_at, id) < (${next}, ${})", next + 1);
                let clause = if where_sql.is_empty() {
                    format!(" WHERE {keyset}")
                } else {
                    format!("{where_sql} AND {keyset}")
                };
                (clause, next + 2)
            }
        };
        let page_sql = format!(
            "SELECT {} FROM builds{page_where} ORDER BY sort_at DESC, id DESC LIMIT ${} OFFSET ${}",
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
        if let Some(cursor) = cursor {
            page = page.bind(cursor.sort_at).bind(cursor.id);
        }
        // One row more than asked tells whether another page follows.
        let (rows, total) = tokio::try_join!(
            page.bind(limit + 1).bind(offset).fetch_all(&self.read),
            count.fetch_one(&self.read)
        )?;
        let total: i64 = total.try_get("n")?;
        let mut builds: Vec<BuildRecord> = rows
            .iter()
            .map(|row| run_from_row(row).map(|(id, attempt)| BuildRecord { id, attempt }))
            .collect::<Result<_, _>>()?;
        let has_more = builds.len() as i64 > limit;
        builds.truncate(limit.max(0) as usize);
        let next_cursor = builds.last().filter(|_| has_more).map(|last| PageCursor::after(last).text());
        Ok(BuildPage { builds, total, has_more, next_cursor })
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
