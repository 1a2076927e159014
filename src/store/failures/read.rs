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
//! at most [`MAX_NAMES`](super::spread::MAX_NAMES) each; the **example build** the run attempt of
//! its latest failure in the window. Top signatures are ordered by
//! failures, then last seen (newest first), then fingerprint; a
//! signature's **class** is its latest failure's (by failed_at, then job
//! id), the one the example build holds.
//!
//! The list is read from the roll-up (`window`); the scan here is its
//! reference and the shared assembly.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::spread::{Spread, add, contenders, rank, top};
use crate::domain::time::{format_timestamp, from_unix};
use crate::store::{Failures, StoreError};

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
    /// `AND …` conditions on `job_failures f` (or `failure_days f`) from
    /// bind number `first`, and their values.
    pub(super) fn conditions(&self, first: usize) -> (String, Vec<String>) {
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

impl FailuresFilter {
    /// The conditions on raw failures `f` in `[since, until)` (`until`
    /// `None`: no end) from bind number `first`: SQL and the values
    /// (the window bounds first).
    pub(super) fn raw_window(&self, until: Option<i64>, first: usize) -> (String, Vec<i64>, Vec<String>) {
        let mut bounds = vec![self.since];
        let mut sql = format!(" AND f.failed_at >= ${first}");
        if let Some(until) = until {
            sql.push_str(&format!(" AND f.failed_at < ${}", first + 1));
            bounds.push(until);
        }
        let (conditions, values) = self.conditions(first + bounds.len());
        sql.push_str(&conditions);
        (sql, bounds, values)
    }
}

impl Failures<'_> {
    /// The top `limit` signatures over the filter's window (definitions in
    /// the module doc), from one scan of `job_failures`: what the roll-up
    /// read ([`Failures::top_signatures`]) must equal, and its answer for
    /// filters the roll-up cannot tell from a missing value (empty text).
    pub async fn top_signatures_scan(
        &self,
        filter: &FailuresFilter,
        limit: i64,
    ) -> Result<Vec<SignatureSummary>, StoreError> {
        let (window, bounds, values) = filter.raw_window(None, 1);
        let sql = format!(
            "SELECT f.signature_id, COUNT(*) AS n, MAX(f.failed_at) AS last_at FROM job_failures f \
             WHERE f.signature_id IS NOT NULL{window} GROUP BY f.signature_id"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bound in &bounds {
            query = query.bind(*bound);
        }
        for value in &values {
            query = query.bind(value);
        }
        let mut totals = Vec::new();
        for row in query.fetch_all(&self.read).await? {
            totals.push((row.try_get("signature_id")?, row.try_get("n")?, row.try_get("last_at")?));
        }
        let limit = usize::try_from(limit).unwrap_or(0);
        let fingerprints = self.fingerprints(&contenders(&totals, limit)).await?;
        let ids = rank(totals, &fingerprints, limit);
        let mut spreads = BTreeMap::new();
        self.raw_spreads(filter, None, &ids, &mut spreads).await?;
        self.raw_builds(filter, &ids, &mut spreads).await?;
        self.summaries(filter, &ids, spreads).await
    }

    /// The fingerprints of signature `ids`.
    pub(super) async fn fingerprints(&self, ids: &[i64]) -> Result<BTreeMap<i64, String>, StoreError> {
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(500) {
            let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
            let sql = format!("SELECT id, fingerprint FROM failure_signatures WHERE id IN ({list})");
            for row in sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.read).await? {
                out.insert(row.try_get("id")?, row.try_get("fingerprint")?);
            }
        }
        Ok(out)
    }

    /// Adds the raw failures of `ids` in `[since, until)` to their spreads:
    /// failures, last seen, by repository, branch, job and class.
    pub(super) async fn raw_spreads(
        &self,
        filter: &FailuresFilter,
        until: Option<i64>,
        ids: &[i64],
        spreads: &mut BTreeMap<i64, Spread>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let (window, bounds, values) = filter.raw_window(until, 1);
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT f.signature_id, f.repo, f.branch, f.job_name, f.class, COUNT(*) AS n, \
             MAX(f.failed_at) AS last_at FROM job_failures f \
             WHERE f.signature_id IN ({list}){window} \
             GROUP BY f.signature_id, f.repo, f.branch, f.job_name, f.class"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bound in &bounds {
            query = query.bind(*bound);
        }
        for value in &values {
            query = query.bind(value);
        }
        for row in query.fetch_all(&self.read).await? {
            let spread = spreads.entry(row.try_get("signature_id")?).or_default();
            add(spread, &row, row.try_get("repo")?, row.try_get("branch")?, row.try_get("job_name")?)?;
        }
        Ok(())
    }

    /// Sets the distinct run attempts of `ids` over the window, from the
    /// raw failures (through the signature index).
    pub(super) async fn raw_builds(
        &self,
        filter: &FailuresFilter,
        ids: &[i64],
        spreads: &mut BTreeMap<i64, Spread>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let (window, bounds, values) = filter.raw_window(None, 1);
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT f.signature_id, COUNT(DISTINCT f.build_id) AS builds FROM job_failures f \
             WHERE f.signature_id IN ({list}){window} GROUP BY f.signature_id"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bound in &bounds {
            query = query.bind(*bound);
        }
        for value in &values {
            query = query.bind(value);
        }
        for row in query.fetch_all(&self.read).await? {
            spreads.entry(row.try_get("signature_id")?).or_default().builds = row.try_get("builds")?;
        }
        Ok(())
    }

    /// The answers for ranked `ids` from their spreads: text, first seen,
    /// and the latest failure's class and run attempt (two statements for
    /// all of them, not two per signature).
    pub(super) async fn summaries(
        &self,
        filter: &FailuresFilter,
        ids: &[i64],
        mut spreads: BTreeMap<i64, Spread>,
    ) -> Result<Vec<SignatureSummary>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let sql =
            format!("SELECT id, fingerprint, text, first_seen FROM failure_signatures WHERE id IN ({list})");
        let mut signatures = BTreeMap::new();
        for row in sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.read).await? {
            signatures.insert(row.try_get::<i64, _>("id")?, row);
        }
        let mut latest = self.latest_failures(filter, ids).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(signature) = signatures.get(id) else {
                continue;
            };
            let spread = spreads.remove(id).unwrap_or_default();
            let (example_build_id, class) = latest.remove(id).unwrap_or((0, String::new()));
            out.push(SignatureSummary {
                fingerprint: signature.try_get("fingerprint")?,
                text: signature.try_get("text")?,
                failures: spread.failures,
                builds: spread.builds,
                infrastructure_failures: spread.infrastructure,
                class,
                first_seen: time(signature.try_get("first_seen")?),
                last_seen: time(spread.last_at),
                jobs: top(spread.jobs),
                branches: top(spread.branches),
                repositories: top(spread.repos),
                example_build_id,
            });
        }
        Ok(out)
    }

    /// Per signature of `ids`: the run attempt and class of its latest
    /// failure in the window (by failed_at, then job id), one index look-up
    /// each, in one statement.
    async fn latest_failures(
        &self,
        filter: &FailuresFilter,
        ids: &[i64],
    ) -> Result<BTreeMap<i64, (i64, String)>, StoreError> {
        let (conditions, values) = filter.conditions(2);
        // The ids are integers from the database, formatted in.
        let sql = ids
            .iter()
            .map(|id| {
                format!(
                    "SELECT * FROM (SELECT f.signature_id, f.build_id, f.class FROM job_failures f \
                     WHERE f.signature_id = {id} AND f.failed_at >= $1{conditions} \
                     ORDER BY f.failed_at DESC, f.job_id DESC LIMIT 1) AS latest_{id}"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(filter.since);
        for value in &values {
            query = query.bind(value);
        }
        let mut out = BTreeMap::new();
        for row in query.fetch_all(&self.read).await? {
            out.insert(row.try_get("signature_id")?, (row.try_get("build_id")?, row.try_get("class")?));
        }
        Ok(out)
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
