//! Reading failure reasons: the top failure signatures over a window
//! (`/api/insights/failures`) and one signature's failures
//! (`…/{fingerprint}`); a build's failed jobs are in `build`.
//!
//! Definitions: a signature's **failures** are the failed jobs in the
//! window recorded with it; **builds** the distinct run attempts among
//! them; **first seen** the earliest failure ever recorded with it (kept
//! when retention deletes old failures), **last seen** the latest in the
//! window; **affected jobs, branches, repositories** the distinct values
//! among its failures in the window, most failures first (ties by name),
//! at most [`MAX_NAMES`] each; the **example build** the run attempt of
//! its latest failure in the window. Top signatures are ordered by
//! failures, then last seen (newest first), then fingerprint.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::domain::time::{format_timestamp, from_unix};
use crate::store::{Failures, StoreError};

/// Distinct names answered per list of a signature.
pub const MAX_NAMES: usize = 10;

/// The window and narrowing of the failure insights.
#[derive(Debug, Clone, Default)]
pub struct FailuresFilter {
    /// Failures at or after this Unix second.
    pub since: i64,
    pub repo: Option<String>,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    /// `infrastructure` or `code`.
    pub class: Option<String>,
}

impl FailuresFilter {
    /// `AND …` conditions on `job_failures f` from bind number `first`, and
    /// their values.
    fn conditions(&self, first: usize) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        for (column, value) in [
            ("repo", &self.repo),
            ("workflow", &self.workflow),
            ("branch", &self.branch),
            ("class", &self.class),
        ] {
            if let Some(value) = value {
                sql.push_str(&format!(" AND f.{column} = ${}", first + values.len()));
                values.push(value.clone());
            }
        }
        (sql, values)
    }
}

fn time(seconds: i64) -> String {
    from_unix(seconds).map(format_timestamp).unwrap_or_default()
}

/// One failure signature over the window.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SignatureSummary {
    /// 16 hex digits (`/api/insights/failures/{fingerprint}`).
    pub fingerprint: String,
    /// The normalised error message.
    pub text: String,
    /// Failed jobs in the window with this signature.
    pub failures: i64,
    /// Distinct run attempts among them.
    pub builds: i64,
    /// Of the failures, those classed as infrastructure.
    pub infrastructure_failures: i64,
    /// The class of the latest failure: `infrastructure` or `code`.
    pub class: String,
    /// Earliest failure ever recorded with it (RFC 3339).
    pub first_seen: String,
    /// Latest failure in the window (RFC 3339).
    pub last_seen: String,
    pub jobs: Vec<String>,
    pub branches: Vec<String>,
    pub repositories: Vec<String>,
    /// The run attempt of the latest failure (`/api/builds/{id}`).
    pub example_build_id: i64,
}

/// One failed job with a signature.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SignatureFailure {
    pub build_id: i64,
    pub job_id: i64,
    pub run_id: String,
    pub run_attempt: i64,
    pub repo: String,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub job_name: Option<String>,
    pub failed_step: Option<String>,
    /// RFC 3339.
    pub failed_at: String,
    pub class: String,
    pub first_error_line: Option<String>,
}

pub(super) fn lines_of(row: &AnyRow) -> Result<Vec<String>, StoreError> {
    let text: String = row.try_get("error_lines")?;
    serde_json::from_str(&text).map_err(|err| StoreError::Invariant(format!("stored error lines: {err}")))
}

/// Pushes `name` with `n` failures into a count map.
fn tally(map: &mut BTreeMap<String, i64>, name: Option<String>, n: i64) {
    if let Some(name) = name {
        *map.entry(name).or_default() += n;
    }
}

/// The names of a count map, most first (ties by name), at most [`MAX_NAMES`].
fn top(map: BTreeMap<String, i64>) -> Vec<String> {
    let mut pairs: Vec<(String, i64)> = map.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    pairs.into_iter().take(MAX_NAMES).map(|(name, _)| name).collect()
}

#[derive(Default)]
struct Spread {
    repos: BTreeMap<String, i64>,
    branches: BTreeMap<String, i64>,
    jobs: BTreeMap<String, i64>,
    infrastructure: i64,
    latest: (i64, String),
    builds: i64,
}

impl Failures<'_> {
    /// The top `limit` signatures over the filter's window (definitions in
    /// the module doc).
    pub async fn top_signatures(
        &self,
        filter: &FailuresFilter,
        limit: i64,
    ) -> Result<Vec<SignatureSummary>, StoreError> {
        let (conditions, values) = filter.conditions(3);
        let sql = format!(
            "WITH w AS (SELECT f.signature_id, COUNT(*) AS n, MAX(f.failed_at) AS last_at FROM job_failures f \
             WHERE f.failed_at >= $1 AND f.signature_id IS NOT NULL{conditions} \
             GROUP BY f.signature_id) \
             SELECT w.signature_id, w.n, w.last_at, s.fingerprint, s.text, s.first_seen \
             FROM w JOIN failure_signatures s ON s.id = w.signature_id \
             ORDER BY w.n DESC, w.last_at DESC, s.fingerprint LIMIT $2"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(filter.since).bind(limit);
        for value in &values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.read).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.try_get("signature_id")).collect::<Result<_, _>>()?;
        let mut spreads = self.spreads(filter, &ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (row, id) in rows.iter().zip(&ids) {
            let spread = spreads.remove(id).unwrap_or_default();
            let example = self.example_build(filter, *id).await?;
            out.push(SignatureSummary {
                fingerprint: row.try_get("fingerprint")?,
                text: row.try_get("text")?,
                failures: row.try_get("n")?,
                builds: spread.builds,
                infrastructure_failures: spread.infrastructure,
                class: spread.latest.1,
                first_seen: time(row.try_get("first_seen")?),
                last_seen: time(row.try_get("last_at")?),
                jobs: top(spread.jobs),
                branches: top(spread.branches),
                repositories: top(spread.repos),
                example_build_id: example,
            });
        }
        Ok(out)
    }

    /// Per signature id: its failures by repository, branch, job and class,
    /// and its distinct builds.
    async fn spreads(
        &self,
        filter: &FailuresFilter,
        ids: &[i64],
    ) -> Result<BTreeMap<i64, Spread>, StoreError> {
        let (conditions, values) = filter.conditions(2);
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT f.signature_id, f.repo, f.branch, f.job_name, f.class, COUNT(*) AS n, \
             MAX(f.failed_at) AS last_at FROM job_failures f \
             WHERE f.signature_id IN ({list}) AND f.failed_at >= $1{conditions} \
             GROUP BY f.signature_id, f.repo, f.branch, f.job_name, f.class"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(filter.since);
        for value in &values {
            query = query.bind(value);
        }
        let mut spreads: BTreeMap<i64, Spread> = BTreeMap::new();
        for row in query.fetch_all(&self.read).await? {
            let spread = spreads.entry(row.try_get("signature_id")?).or_default();
            let n: i64 = row.try_get("n")?;
            let class: String = row.try_get("class")?;
            let last_at: i64 = row.try_get("last_at")?;
            tally(&mut spread.repos, row.try_get("repo")?, n);
            tally(&mut spread.branches, row.try_get("branch")?, n);
            tally(&mut spread.jobs, row.try_get("job_name")?, n);
            if class == "infrastructure" {
                spread.infrastructure += n;
            }
            if spread.latest.1.is_empty() || last_at > spread.latest.0 {
                spread.latest = (last_at, class);
            }
        }
        // Distinct builds only for these signatures (through their index),
        // not in the window-wide grouping.
        let sql = format!(
            "SELECT f.signature_id, COUNT(DISTINCT f.build_id) AS builds FROM job_failures f \
             WHERE f.signature_id IN ({list}) AND f.failed_at >= $1{conditions} GROUP BY f.signature_id"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(filter.since);
        for value in &values {
            query = query.bind(value);
        }
        for row in query.fetch_all(&self.read).await? {
            spreads.entry(row.try_get("signature_id")?).or_default().builds = row.try_get("builds")?;
        }
        Ok(spreads)
    }

    async fn example_build(&self, filter: &FailuresFilter, signature_id: i64) -> Result<i64, StoreError> {
        let (conditions, values) = filter.conditions(3);
        let sql = format!(
            "SELECT f.build_id FROM job_failures f WHERE f.signature_id = $1 AND f.failed_at >= $2{conditions} \
             ORDER BY f.failed_at DESC, f.job_id DESC LIMIT 1"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(signature_id).bind(filter.since);
        for value in &values {
            query = query.bind(value);
        }
        Ok(query.fetch_optional(&self.read).await?.map(|r| r.try_get("build_id")).transpose()?.unwrap_or(0))
    }

    /// The signature with `fingerprint` (text, first seen) and its latest
    /// `limit` failures in the filter's window, newest first, with how many
    /// failures the window holds; `None` for an unknown fingerprint.
    #[allow(clippy::type_complexity)]
    pub async fn signature_failures(
        &self,
        fingerprint: &str,
        filter: &FailuresFilter,
        limit: i64,
    ) -> Result<Option<(String, String, i64, Vec<SignatureFailure>)>, StoreError> {
        let Some(signature) =
            sqlx::query("SELECT id, text, first_seen FROM failure_signatures WHERE fingerprint = $1")
                .bind(fingerprint)
                .fetch_optional(&self.read)
                .await?
        else {
            return Ok(None);
        };
        let id: i64 = signature.try_get("id")?;
        let (conditions, values) = filter.conditions(3);
        let count_sql = format!(
            "SELECT COUNT(*) AS n FROM job_failures f WHERE f.signature_id = $1 AND f.failed_at >= $2{conditions}"
        );
        let mut count = sqlx::query(AssertSqlSafe(count_sql)).bind(id).bind(filter.since);
        for value in &values {
            count = count.bind(value);
        }
        let total: i64 = count.fetch_one(&self.read).await?.try_get("n")?;
        let (conditions, values) = filter.conditions(4);
        let sql = format!(
            "SELECT f.job_id, f.build_id, f.repo, f.workflow, f.branch, f.job_name, f.failed_step, \
             f.failed_at, f.class, f.error_lines, b.external_id, b.run_attempt \
             FROM job_failures f JOIN builds b ON b.id = f.build_id \
             WHERE f.signature_id = $1 AND f.failed_at >= $2{conditions} \
             ORDER BY f.failed_at DESC, f.job_id DESC LIMIT $3"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(id).bind(filter.since).bind(limit);
        for value in &values {
            query = query.bind(value);
        }
        let failures = query
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| {
                Ok(SignatureFailure {
                    build_id: row.try_get("build_id")?,
                    job_id: row.try_get("job_id")?,
                    run_id: row.try_get("external_id")?,
                    run_attempt: row.try_get("run_attempt")?,
                    repo: row.try_get("repo")?,
                    workflow: row.try_get("workflow")?,
                    branch: row.try_get("branch")?,
                    job_name: row.try_get("job_name")?,
                    failed_step: row.try_get("failed_step")?,
                    failed_at: time(row.try_get("failed_at")?),
                    class: row.try_get("class")?,
                    first_error_line: lines_of(row)?.into_iter().next(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((signature.try_get("text")?, time(signature.try_get("first_seen")?), total, failures)))
    }
}
