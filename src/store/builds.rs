//! Read queries behind `/api/builds` and `/api/builds/{id}`.

use sqlx::{AssertSqlSafe, Row};

use super::StoreError;
use super::rows::{build_columns, job_columns, job_from_row, provider_id, run_from_row};
use crate::domain::{BranchName, BuildStatus, Job, ProviderKind, RepoName, RunAttempt};
use crate::store::Builds;

/// Filters of `/api/builds`; `None` means "any". Text filters match exactly;
/// `search` matches a substring (case-insensitive) of the repository,
/// workflow, branch, commit SHA or actor; `since`/`until` bound the start
/// (Unix seconds, `since ≤ start < until`); `latest_attempt` keeps only
/// each run's latest attempt (its final outcome), whatever the other filters.
#[derive(Debug, Clone, Default)]
pub struct BuildFilter {
    pub repo: Option<RepoName>,
    pub branch: Option<BranchName>,
    pub workflow: Option<String>,
    pub status: Option<BuildStatus>,
    pub provider: Option<ProviderKind>,
    pub event: Option<String>,
    /// `triggered_by`.
    pub actor: Option<String>,
    pub search: Option<String>,
    /// The provider's run id (`external_id`): every attempt of one run.
    pub run_id: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only attempts no later attempt of the same run exists for.
    pub latest_attempt: bool,
}

/// Orders of `/api/builds`; ties go to the higher id (lower for ascending).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BuildSort {
    /// Newest start first; attempts with no start yet last (the default).
    #[default]
    StartedDesc,
    StartedAsc,
    /// Longest first; attempts without a duration last.
    DurationDesc,
    DurationAsc,
}

impl BuildSort {
    /// Parses the `sort` parameter: `-started`, `started`, `-duration`, `duration`.
    pub fn parse(text: &str) -> Option<BuildSort> {
        match text {
            "-started" => Some(BuildSort::StartedDesc),
            "started" => Some(BuildSort::StartedAsc),
            "-duration" => Some(BuildSort::DurationDesc),
            "duration" => Some(BuildSort::DurationAsc),
            _ => None,
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            BuildSort::StartedDesc => "sort_at DESC, id DESC",
            BuildSort::StartedAsc => "sort_at ASC, id ASC",
            BuildSort::DurationDesc => "duration_seconds IS NULL, duration_seconds DESC, id DESC",
            BuildSort::DurationAsc => "duration_seconds IS NULL, duration_seconds ASC, id ASC",
        }
    }
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
        PageCursor { sort_at: record.attempt.placed_at().map_or(0, |t| t.timestamp()), id: record.id }
    }

    fn text(self) -> String {
        format!("{}.{}", self.sort_at, self.id)
    }
}

/// A value bound to a numbered placeholder.
#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

/// `LIKE` pattern matching `text` anywhere, with `\` escaping `%`, `_` and `\`.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `WHERE` clause and its bind values for a filter; placeholders start at `$1`.
fn where_clause(filter: &BuildFilter) -> (String, Vec<Bind>) {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    for (column, value) in [
        ("repo", filter.repo.as_ref().map(RepoName::as_str)),
        ("branch", filter.branch.as_ref().map(BranchName::as_str)),
        ("workflow", filter.workflow.as_deref()),
        ("status", filter.status.map(BuildStatus::as_str)),
        ("event", filter.event.as_deref()),
        ("triggered_by", filter.actor.as_deref()),
        ("external_id", filter.run_id.as_deref()),
    ] {
        if let Some(value) = value {
            binds.push(Bind::Text(value.to_owned()));
            clauses.push(format!("{column} = ${}", binds.len()));
        }
    }
    if let Some(provider) = filter.provider {
        binds.push(Bind::Int(provider_id(provider)));
        clauses.push(format!("provider_id = ${}", binds.len()));
    }
    if let Some(since) = filter.since {
        binds.push(Bind::Int(since));
        clauses.push(format!("sort_at >= ${}", binds.len()));
    }
    if let Some(until) = filter.until {
        binds.push(Bind::Int(until));
        clauses.push(format!("sort_at < ${}", binds.len()));
    }
    if filter.since.is_some() || filter.until.is_some() {
        // An attempt with no start yet (`sort_at` 0) is in no span of starts.
        clauses.push("sort_at > 0".to_owned());
    }
    if filter.latest_attempt {
        // The unique (provider_id, repo, external_id, run_attempt) index answers it.
        clauses.push(
            "NOT EXISTS (SELECT 1 FROM builds later WHERE later.provider_id = builds.provider_id \
             AND later.repo = builds.repo AND later.external_id = builds.external_id \
             AND later.run_attempt > builds.run_attempt)"
                .to_owned(),
        );
    }
    if let Some(search) = &filter.search {
        binds.push(Bind::Text(contains_pattern(search)));
        let n = binds.len();
        let any: Vec<String> = ["repo", "workflow", "branch", "commit_sha", "triggered_by"]
            .iter()
            .map(|column| format!("LOWER(COALESCE({column}, '')) LIKE ${n} ESCAPE '\\'"))
            .collect();
        clauses.push(format!("({})", any.join(" OR ")));
    }
    let sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
    (sql, binds)
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: &[Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text.clone()),
            Bind::Int(n) => query.bind(*n),
        };
    }
    query
}

impl Builds<'_> {
    /// One page of run attempts matching `filter` in `sort` order.
    /// With `cursor` (only meaningful for the default order), the page starts
    /// after that position (then `offset` skips further); `next_cursor` is
    /// given only in the default order.
    pub async fn list_builds(
        &self,
        filter: &BuildFilter,
        sort: BuildSort,
        limit: i64,
        offset: i64,
        cursor: Option<PageCursor>,
    ) -> Result<BuildPage, StoreError> {
        let (where_sql, binds) = where_clause(filter);
        let next = binds.len() + 1;
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
            "SELECT {} FROM builds{page_where} ORDER BY {} LIMIT ${} OFFSET ${}",
            build_columns!(),
            sort.order_by(),
            next,
            next + 1
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM builds{where_sql}");

        // The SQL holds only column names and numbered placeholders; every
        // value is bound.
        let mut page = bind_all(sqlx::query(AssertSqlSafe(page_sql)), &binds);
        let count = bind_all(sqlx::query(AssertSqlSafe(count_sql)), &binds);
        if let Some(cursor) = cursor {
            page = page.bind(cursor.sort_at).bind(cursor.id);
        }
        // One row more than asked tells whether another page follows.
        let unfiltered = where_sql.is_empty();
        let total = async {
            if unfiltered {
                // Every attempt: from the roll-ups where they are fresh.
                self.metrics().count_attempts().await
            } else {
                Ok(count.fetch_one(&self.read).await?.try_get::<i64, _>("n")?)
            }
        };
        let (rows, total) = tokio::try_join!(
            async { Ok(page.bind(limit + 1).bind(offset).fetch_all(&self.read).await?) },
            total
        )?;
        let mut builds: Vec<BuildRecord> = rows
            .iter()
            .map(|row| run_from_row(row).map(|(id, attempt)| BuildRecord { id, attempt }))
            .collect::<Result<_, _>>()?;
        let has_more = builds.len() as i64 > limit;
        builds.truncate(limit.max(0) as usize);
        let next_cursor = builds
            .last()
            .filter(|_| has_more && sort == BuildSort::StartedDesc)
            .map(|last| PageCursor::after(last).text());
        Ok(BuildPage { builds, total, has_more, next_cursor })
    }

    /// Up to `max` run attempts matching `filter` in `sort` order (for
    /// export), and whether more matched.
    pub async fn export_builds(
        &self,
        filter: &BuildFilter,
        sort: BuildSort,
        max: i64,
    ) -> Result<(Vec<BuildRecord>, bool), StoreError> {
        let (where_sql, binds) = where_clause(filter);
        let sql = format!(
            "SELECT {} FROM builds{where_sql} ORDER BY {} LIMIT ${}",
            build_columns!(),
            sort.order_by(),
            binds.len() + 1
        );
        let rows =
            bind_all(sqlx::query(AssertSqlSafe(sql)), &binds).bind(max + 1).fetch_all(&self.read).await?;
        let mut builds: Vec<BuildRecord> = rows
            .iter()
            .map(|row| run_from_row(row).map(|(id, attempt)| BuildRecord { id, attempt }))
            .collect::<Result<_, _>>()?;
        let truncated = builds.len() as i64 > max;
        builds.truncate(max.max(0) as usize);
        Ok((builds, truncated))
    }

    /// The run attempt with row id `id`, if any.
    pub async fn get_build(&self, id: i64) -> Result<Option<BuildRecord>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", build_columns!(), " FROM builds WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(|row| run_from_row(row).map(|(id, attempt)| BuildRecord { id, attempt })).transpose()
    }

    /// The run attempts with the given row ids (those that exist, in no
    /// order): one query per 100 ids.
    pub async fn get_builds(&self, ids: &[i64]) -> Result<Vec<BuildRecord>, StoreError> {
        let mut builds = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                concat!("SELECT ", build_columns!(), " FROM builds WHERE id IN ({})"),
                marks.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.read).await? {
                let (id, attempt) = run_from_row(&row)?;
                builds.push(BuildRecord { id, attempt });
            }
        }
        Ok(builds)
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

    /// The jobs of build `build_id`, by start time then id, with their steps.
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
        let mut jobs = rows
            .iter()
            .map(|row| job_from_row(row).map(|(id, build_id, job)| JobRecord { id, build_id, job }))
            .collect::<Result<Vec<_>, _>>()?;
        self.attach_steps(build_id, &mut jobs).await?;
        Ok(jobs)
    }
}
