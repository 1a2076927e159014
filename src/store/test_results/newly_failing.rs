//! **Newly failing** tests for `/api/insights/tests`. Definition (also in
//! the README's definitions table):
//!
//! - The **default branch** is `main` or `master` (the dashboard stores no
//!   repository's default branch; the alert rules use the same two), or the
//!   `branch` filter when one is given. Executions count on it when their
//!   attempt's build is on it (and in the `repo` and exact `job` when given).
//! - Its executions are taken in upload order (the order the reports
//!   arrived); skipped executions are left out; an upload with both a pass
//!   and a failure of the test counts as a pass.
//! - A test is newly failing when its latest execution there failed or
//!   errored, an earlier one passed (its **last green run** there), and the
//!   first failure after that pass was uploaded inside the window. A test
//!   that never passed there is not newly failing (it was never green).
//! - Each lists the first failure's upload time and build (run attempt),
//!   the last pass's upload time and how many failed executions came since;
//!   newest first failure first (ties: lower test id), `limit` tests.
//!
//! Cost: candidates are the tests with a failure on the branch in the
//! window (the window's uploads first, materialized, then their failed
//! executions through the `(upload_id, outcome)` index); for each, its
//! executions there are read through the `(test_id, upload_id)` index. It
//! grows with the failed executions in the window, not with all of them.

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

use super::insights::{TEST_REF, TestRef, test_ref};
use crate::domain::time::{format_timestamp, from_unix};
use crate::store::test_results::TestsFilter;
use crate::store::{StoreError, TestResults};

/// Branches that count as the default branch without a `branch` filter.
pub const DEFAULT_BRANCHES: [&str; 2] = ["main", "master"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewlyFailingTest {
    #[serde(flatten)]
    pub test: TestRef,
    /// Upload time of the first failure since the last pass (RFC 3339).
    pub first_failed_at: String,
    /// The build (run attempt) of that first failure.
    pub first_failed_build_id: i64,
    /// Upload time of the last pass on the branch (RFC 3339).
    pub last_passed_at: String,
    /// Failed and errored executions since the last pass.
    pub failures: i64,
}

impl TestResults<'_> {
    /// The newly failing tests of `filter` (definition in this module's
    /// doc), `limit` of them.
    pub async fn newly_failing(
        &self,
        filter: &TestsFilter,
        limit: i64,
    ) -> Result<Vec<NewlyFailingTest>, StoreError> {
        let mut texts: Vec<String> = Vec::new();
        let on = |value: String, texts: &mut Vec<String>| {
            texts.push(value);
            format!("${}", texts.len() + 1)
        };
        let branches: Vec<String> = match &filter.branch {
            Some(branch) => vec![on(branch.as_str().to_owned(), &mut texts)],
            None => DEFAULT_BRANCHES.iter().map(|b| on((*b).to_owned(), &mut texts)).collect(),
        };
        let mut scope = format!("b.branch IN ({})", branches.join(", "));
        if let Some(repo) = &filter.repo {
            scope.push_str(&format!(" AND b.repo = {}", on(repo.as_str().to_owned(), &mut texts)));
        }
        if let Some(job) = &filter.job {
            scope.push_str(&format!(" AND u.job_name = {}", on(job.clone(), &mut texts)));
        }
        let on_branch = |join: &str| {
            format!(
                "test_executions e JOIN test_uploads u ON u.id = e.upload_id \
                 JOIN builds b ON b.id = u.build_id {join} WHERE {scope}"
            )
        };
        let sql = format!(
            "WITH ups AS MATERIALIZED (SELECT u.id FROM test_uploads u JOIN builds b ON b.id = u.build_id \
             WHERE {scope} AND u.received_at >= $1), \
             cand AS (SELECT DISTINCT e.test_id FROM ups JOIN test_executions e ON e.upload_id = ups.id \
             AND e.outcome IN (1, 2)), \
             p AS (SELECT e.test_id, MAX(e.upload_id) AS last_pass FROM {} AND e.outcome = 0 GROUP BY e.test_id), \
             f AS (SELECT e.test_id, p.last_pass, MIN(e.upload_id) AS first_fail, COUNT(*) AS failures \
             FROM {} AND e.outcome IN (1, 2) GROUP BY e.test_id, p.last_pass) \
             SELECT {TEST_REF}, fu.received_at AS first_failed_at, fu.build_id AS first_failed_build_id, \
             pu.received_at AS last_passed_at, CAST(f.failures AS BIGINT) AS failures \
             FROM f JOIN test_uploads fu ON fu.id = f.first_fail JOIN test_uploads pu ON pu.id = f.last_pass \
             JOIN test_cases c ON c.id = f.test_id WHERE fu.received_at >= $1 \
             ORDER BY fu.received_at DESC, f.first_fail DESC, c.id LIMIT {limit}",
            on_branch("JOIN cand ON cand.test_id = e.test_id"),
            on_branch("JOIN p ON p.test_id = e.test_id AND e.upload_id > p.last_pass"),
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(filter.since);
        for text in texts {
            query = query.bind(text);
        }
        let rows = query.fetch_all(&self.read).await?;
        let time = |seconds: i64| from_unix(seconds).map(format_timestamp).unwrap_or_default();
        rows.iter()
            .map(|row| {
                Ok(NewlyFailingTest {
                    test: test_ref(row)?,
                    first_failed_at: time(row.try_get("first_failed_at")?),
                    first_failed_build_id: row.try_get("first_failed_build_id")?,
                    last_passed_at: time(row.try_get("last_passed_at")?),
                    failures: row.try_get("failures")?,
                })
            })
            .collect()
    }
}
