//! `/api/insights/tests`: the most failing, slowest and flaky tests over a
//! window of uploads. Definitions (also in the README's definitions table):
//!
//! - The **window** holds the executions of reports uploaded at or after
//!   the UTC midnight on or before `since` (Unix seconds; `insights_rollup`
//!   rounds it down before either way of answering), narrowed to the
//!   attempt's repository, branch and the job name when given.
//!
//! This file holds the lists' types and the scan of the executions (the
//! answer with a branch filter); `insights_rollup` answers from the
//! roll-ups otherwise, and `newly_failing` adds the fourth list.
//! - **Most failing**: tests by failed + errored executions in the window
//!   (ties: more executions first, then the lower test id); the **failure
//!   rate** is failures ÷ executions that were not skipped.
//! - **Slowest**: tests by **total time** (sum of the window's execution
//!   durations, ms; executions without a time count as absent), with the
//!   **p50** and **p95** of those durations (type 7 percentiles,
//!   `crate::metrics::percentile`).
//! - **Flaky**: a test with at least one of, in the window: a **rerun
//!   pass** (an execution that passed after earlier failed tries within
//!   its job: Surefire's `flakyFailure`/`flakyError`); an **attempt flip**
//!   (it failed in attempt *n* of a run and passed in attempt *n + 1* of
//!   the same run, any job; counted once per run attempt pair); a **commit
//!   flip** (it both failed and passed in executions of attempts with the
//!   same commit SHA; counted once per commit). Ordered by the sum of the
//!   three counts.

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

use crate::domain::{BranchName, RepoName};
use crate::metrics::percentile::percentile;
use crate::store::{StoreError, TestResults};

/// The window and narrowing of `/api/insights/tests`.
#[derive(Debug, Clone, Default)]
pub struct TestsFilter {
    /// Uploads at or after this Unix second.
    pub since: i64,
    pub repo: Option<RepoName>,
    pub branch: Option<BranchName>,
    /// Exact job name.
    pub job: Option<String>,
}

/// A test's identity as the lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TestRef {
    pub test_id: i64,
    pub repo: String,
    pub classname: Option<String>,
    pub name: String,
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FailingTest {
    #[serde(flatten)]
    pub test: TestRef,
    /// Failed + errored executions.
    pub failures: i64,
    /// Executions that were not skipped.
    pub executions: i64,
    /// failures ÷ executions (0 when there were none).
    pub failure_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlowTest {
    #[serde(flatten)]
    pub test: TestRef,
    /// Executions with a duration.
    pub timed_executions: i64,
    pub total_ms: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlakyTest {
    #[serde(flatten)]
    pub test: TestRef,
    /// Executions that passed after failed tries within the job.
    pub rerun_passes: i64,
    /// Attempt n failed, attempt n + 1 of the same run passed.
    pub attempt_flips: i64,
    /// Commits on which the test both failed and passed.
    pub commit_flips: i64,
}

/// The four lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TestInsights {
    pub most_failing: Vec<FailingTest>,
    pub slowest: Vec<SlowTest>,
    pub flaky: Vec<FlakyTest>,
    /// First failure on the default branch since the test's last green run
    /// there (`newly_failing` module).
    pub newly_failing: Vec<super::NewlyFailingTest>,
}

pub(super) enum Bind {
    Int(i64),
    Text(String),
}

/// The window as a CTE `w` (one row per execution) and its binds.
fn window(filter: &TestsFilter) -> (String, Vec<Bind>) {
    let mut binds = vec![Bind::Int(filter.since)];
    let mut sql = String::from(
        "WITH w AS (SELECT e.id, e.test_id, e.outcome, e.duration_ms, e.reruns, b.provider_id, b.repo, \
         b.external_id, b.run_attempt, b.commit_sha FROM test_uploads u \
         JOIN test_executions e ON e.upload_id = u.id JOIN builds b ON b.id = u.build_id \
         WHERE u.received_at >= $1",
    );
    let mut add = |column: &str, value: Option<String>| {
        if let Some(value) = value {
            binds.push(Bind::Text(value));
            sql.push_str(&format!(" AND {column} = ${}", binds.len()));
        }
    };
    add("b.repo", filter.repo.as_ref().map(|r| r.as_str().to_owned()));
    add("b.branch", filter.branch.as_ref().map(|b| b.as_str().to_owned()));
    add("u.job_name", filter.job.clone());
    sql.push_str(") ");
    (sql, binds)
}

pub(super) const TEST_REF: &str = "c.id AS test_id, c.repo, c.classname, c.name, c.file";

pub(super) fn test_ref(row: &sqlx::any::AnyRow) -> Result<TestRef, StoreError> {
    Ok(TestRef {
        test_id: row.try_get("test_id")?,
        repo: row.try_get("repo")?,
        classname: row.try_get("classname")?,
        name: row.try_get("name")?,
        file: row.try_get("file")?,
    })
}

impl TestResults<'_> {
    async fn window_rows(
        &self,
        filter: &TestsFilter,
        query: &str,
        limit: i64,
    ) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        let (mut sql, binds) = window(filter);
        sql.push_str(query);
        sql.push_str(&format!(" LIMIT ${}", binds.len() + 1));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for bind in binds {
            q = match bind {
                Bind::Int(n) => q.bind(n),
                Bind::Text(text) => q.bind(text),
            };
        }
        Ok(q.bind(limit).fetch_all(&self.read).await?)
    }

    /// The lists of [`TestInsights`] (definitions in this module's doc),
    /// `limit` tests each, from a scan of the window's executions (the
    /// answer with a branch filter; the roll-ups give the same answer
    /// without one).
    pub(super) async fn scan_insights(
        &self,
        filter: &TestsFilter,
        limit: i64,
    ) -> Result<TestInsights, StoreError> {
        let failing = self
            .window_rows(
                filter,
                &format!(
                    "SELECT {TEST_REF}, t.failures, t.executions FROM (SELECT test_id, \
                     SUM(CASE WHEN outcome IN (1, 2) THEN 1 ELSE 0 END) AS failures, \
                     SUM(CASE WHEN outcome <> 3 THEN 1 ELSE 0 END) AS executions FROM w GROUP BY test_id) t \
                     JOIN test_cases c ON c.id = t.test_id WHERE t.failures > 0 \
                     ORDER BY t.failures DESC, t.executions DESC, c.id"
                ),
                limit,
            )
            .await?;
        let most_failing = failing
            .iter()
            .map(|row| {
                let failures: i64 = row.try_get("failures")?;
                let executions: i64 = row.try_get("executions")?;
                Ok(FailingTest {
                    test: test_ref(row)?,
                    failures,
                    executions,
                    failure_rate: if executions > 0 { failures as f64 / executions as f64 } else { 0.0 },
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;

        let slow = self
            .window_rows(
                filter,
                &format!(
                    "SELECT {TEST_REF}, t.timed, t.total_ms FROM (SELECT test_id, COUNT(duration_ms) AS timed, \
                     SUM(duration_ms) AS total_ms FROM w WHERE duration_ms IS NOT NULL GROUP BY test_id) t \
                     JOIN test_cases c ON c.id = t.test_id ORDER BY t.total_ms DESC, c.id"
                ),
                limit,
            )
            .await?;
        let mut slowest = Vec::with_capacity(slow.len());
        for row in &slow {
            let test = test_ref(row)?;
            let mut durations = self.durations(filter, test.test_id).await?;
            durations.sort_by(f64::total_cmp);
            slowest.push(SlowTest {
                test,
                timed_executions: row.try_get("timed")?,
                total_ms: row.try_get("total_ms")?,
                p50_ms: percentile(&durations, 0.50),
                p95_ms: percentile(&durations, 0.95),
            });
        }

        let flaky_rows = self
            .window_rows(
                filter,
                &format!(
                    ", a AS (SELECT test_id, provider_id, repo, external_id, run_attempt, \
                     MAX(CASE WHEN outcome IN (1, 2) THEN 1 ELSE 0 END) AS failed, \
                     MAX(CASE WHEN outcome = 0 THEN 1 ELSE 0 END) AS passed FROM w \
                     GROUP BY test_id, provider_id, repo, external_id, run_attempt), \
                     k AS (SELECT test_id FROM w WHERE commit_sha IS NOT NULL GROUP BY test_id, commit_sha \
                     HAVING MAX(CASE WHEN outcome IN (1, 2) THEN 1 ELSE 0 END) = 1 \
                     AND MAX(CASE WHEN outcome = 0 THEN 1 ELSE 0 END) = 1), \
                     f AS (SELECT test_id, 1 AS r, 0 AS af, 0 AS cf FROM w WHERE outcome = 0 AND reruns > 0 \
                     UNION ALL SELECT x.test_id, 0, 1, 0 FROM a x JOIN a y ON y.test_id = x.test_id \
                     AND y.provider_id = x.provider_id AND y.repo = x.repo AND y.external_id = x.external_id \
                     AND y.run_attempt = x.run_attempt + 1 WHERE x.failed = 1 AND y.passed = 1 \
                     UNION ALL SELECT test_id, 0, 0, 1 FROM k), \
                     t AS (SELECT test_id, SUM(r) AS rerun_passes, SUM(af) AS attempt_flips, \
                     SUM(cf) AS commit_flips FROM f GROUP BY test_id) \
                     SELECT {TEST_REF}, t.rerun_passes, t.attempt_flips, t.commit_flips FROM t \
                     JOIN test_cases c ON c.id = t.test_id \
                     ORDER BY t.rerun_passes + t.attempt_flips + t.commit_flips DESC, c.id"
                ),
                limit,
            )
            .await?;
        let flaky = flaky_rows
            .iter()
            .map(|row| {
                Ok(FlakyTest {
                    test: test_ref(row)?,
                    rerun_passes: row.try_get("rerun_passes")?,
                    attempt_flips: row.try_get("attempt_flips")?,
                    commit_flips: row.try_get("commit_flips")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(TestInsights { most_failing, slowest, flaky, newly_failing: Vec::new() })
    }

    /// The window's durations (ms) of one test.
    async fn durations(&self, filter: &TestsFilter, test_id: i64) -> Result<Vec<f64>, StoreError> {
        let (mut sql, binds) = window(filter);
        sql.push_str(&format!(
            "SELECT duration_ms FROM w WHERE test_id = ${} AND duration_ms IS NOT NULL",
            binds.len() + 1
        ));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for bind in binds {
            q = match bind {
                Bind::Int(n) => q.bind(n),
                Bind::Text(text) => q.bind(text),
            };
        }
        let rows = q.bind(test_id).fetch_all(&self.read).await?;
        rows.iter().map(|row| Ok(row.try_get::<i64, _>("duration_ms")? as f64)).collect()
    }
}
