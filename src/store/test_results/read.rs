//! Reading test results back: a build's failed tests under their jobs,
//! and one test's history.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::TestOutcome;
use crate::store::{StoreError, TestResults};

/// One failed or errored execution of a build, with its texts (plain text,
/// never HTML; `None` beyond the per-file cap of failure texts).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FailedTest {
    /// The test's dictionary id (`/api/insights/tests/{id}`).
    pub test_id: i64,
    pub job_name: String,
    pub classname: Option<String>,
    pub name: String,
    pub file: Option<String>,
    /// `failed` or `errored`.
    pub outcome: String,
    pub duration_ms: Option<i64>,
    pub message: Option<String>,
    pub failure_type: Option<String>,
    /// The first lines of the failure's text.
    pub details: Option<String>,
}

/// One execution in a test's history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TestExecutionRow {
    pub build_id: i64,
    pub run_id: String,
    pub run_attempt: i64,
    pub branch: Option<String>,
    pub commit_sha: Option<String>,
    pub job_name: String,
    /// `passed`, `failed`, `errored` or `skipped`.
    pub outcome: String,
    pub duration_ms: Option<i64>,
    /// Earlier failed tries within the job (Surefire reruns).
    pub reruns: i64,
    /// When the report was uploaded (Unix seconds).
    pub uploaded_at: i64,
}

/// A test and its latest executions.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TestHistory {
    pub test_id: i64,
    pub repo: String,
    pub classname: Option<String>,
    pub name: String,
    pub file: Option<String>,
    pub executions: Vec<TestExecutionRow>,
}

fn outcome_name(row: &AnyRow) -> Result<String, StoreError> {
    let code: i64 = row.try_get("outcome")?;
    TestOutcome::from_code(code)
        .map(|o| o.as_str().to_owned())
        .ok_or_else(|| StoreError::Invariant(format!("unknown stored test outcome {code}")))
}

impl TestResults<'_> {
    /// Counts of a build's executions per job name and outcome, as
    /// `(job name, outcome, count)` ordered by job name.
    pub async fn outcome_counts(&self, build_id: i64) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.job_name, e.outcome, COUNT(*) AS n FROM test_uploads u \
             JOIN test_executions e ON e.upload_id = u.id WHERE u.build_id = $1 \
             GROUP BY u.job_name, e.outcome ORDER BY u.job_name, e.outcome",
        )
        .bind(build_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("job_name")?, outcome_name(row)?, row.try_get("n")?))).collect()
    }

    /// Up to `limit` failed and errored executions of a build, by job name,
    /// then class and name.
    pub async fn failed_tests(&self, build_id: i64, limit: i64) -> Result<Vec<FailedTest>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.job_name, c.id AS test_id, c.classname, c.name, c.file, e.outcome, e.duration_ms, \
             f.message, f.failure_type, f.details FROM test_uploads u \
             JOIN test_executions e ON e.upload_id = u.id AND e.outcome IN (1, 2) \
             JOIN test_cases c ON c.id = e.test_id \
             LEFT JOIN test_failures f ON f.id = e.id \
             WHERE u.build_id = $1 ORDER BY u.job_name, c.classname, c.name, e.id LIMIT $2",
        )
        .bind(build_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FailedTest {
                    test_id: row.try_get("test_id")?,
                    job_name: row.try_get("job_name")?,
                    classname: row.try_get("classname")?,
                    name: row.try_get("name")?,
                    file: row.try_get("file")?,
                    outcome: outcome_name(row)?,
                    duration_ms: row.try_get("duration_ms")?,
                    message: row.try_get("message")?,
                    failure_type: row.try_get("failure_type")?,
                    details: row.try_get("details")?,
                })
            })
            .collect()
    }

    /// A test and its latest `limit` executions, newest upload first;
    /// `None` when no test has that id.
    pub async fn history(&self, test_id: i64, limit: i64) -> Result<Option<TestHistory>, StoreError> {
        let Some(test) = sqlx::query("SELECT id, repo, classname, name, file FROM test_cases WHERE id = $1")
            .bind(test_id)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT b.id AS build_id, b.external_id, b.run_attempt, b.branch, b.commit_sha, u.job_name, \
             e.outcome, e.duration_ms, e.reruns, u.received_at FROM test_executions e \
             JOIN test_uploads u ON u.id = e.upload_id JOIN builds b ON b.id = u.build_id \
             WHERE e.test_id = $1 ORDER BY u.received_at DESC, e.id DESC LIMIT $2",
        )
        .bind(test_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let executions = rows
            .iter()
            .map(|row| {
                Ok(TestExecutionRow {
                    build_id: row.try_get("build_id")?,
                    run_id: row.try_get("external_id")?,
                    run_attempt: row.try_get("run_attempt")?,
                    branch: row.try_get("branch")?,
                    commit_sha: row.try_get("commit_sha")?,
                    job_name: row.try_get("job_name")?,
                    outcome: outcome_name(row)?,
                    duration_ms: row.try_get("duration_ms")?,
                    reruns: row.try_get("reruns")?,
                    uploaded_at: row.try_get("received_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(TestHistory {
            test_id: test.try_get("id")?,
            repo: test.try_get("repo")?,
            classname: test.try_get("classname")?,
            name: test.try_get("name")?,
            file: test.try_get("file")?,
            executions,
        }))
    }
}
