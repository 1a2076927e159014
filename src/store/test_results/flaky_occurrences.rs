//! The flaky-test occurrences a `flaky_test` alert rule counts: each rerun
//! pass, attempt flip and commit flip (the definitions of
//! `insights`, the same three counts the Tests view sums) whose executions
//! were all uploaded in a window, one row each, with the build the rule's
//! filters look at. Reads only; must not know alert rules.

use sqlx::Row;

use crate::store::{StoreError, TestResults};

/// One flaky occurrence of a test.
#[derive(Debug, Clone, PartialEq)]
pub struct FlakyTestOccurrence {
    pub test_id: i64,
    pub classname: Option<String>,
    pub name: String,
    /// `rerun` (passed after failed tries in its job), `attempt` (failed in
    /// attempt n, passed in attempt n + 1 of the run) or `commit` (failed
    /// and passed on one commit).
    pub kind: String,
    /// `rerun`: the execution's build; `attempt`: the passing attempt;
    /// `commit`: the latest build (highest id) of the commit's executions.
    pub build_id: i64,
    /// The latest upload (Unix seconds) of the executions it is made of.
    pub seen_at: i64,
    pub repo: String,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub event: Option<String>,
    pub provider_kind: String,
}

const OCCURRENCES: &str = "WITH w AS (SELECT e.test_id, e.outcome, e.reruns, u.received_at, b.id AS build_id, \
     b.provider_id, b.repo, b.external_id, b.run_attempt, b.commit_sha FROM test_uploads u \
     JOIN test_executions e ON e.upload_id = u.id JOIN builds b ON b.id = u.build_id \
     WHERE u.received_at >= $1 AND u.received_at < $2), \
     a AS (SELECT test_id, provider_id, repo, external_id, run_attempt, MAX(build_id) AS build_id, \
     MAX(received_at) AS seen_at, MAX(CASE WHEN outcome IN (1, 2) THEN 1 ELSE 0 END) AS failed, \
     MAX(CASE WHEN outcome = 0 THEN 1 ELSE 0 END) AS passed FROM w \
     GROUP BY test_id, provider_id, repo, external_id, run_attempt), \
     o AS (SELECT test_id, 'rerun' AS kind, build_id, received_at AS seen_at FROM w WHERE outcome = 0 AND reruns > 0 \
     UNION ALL SELECT y.test_id, 'attempt', y.build_id, CASE WHEN y.seen_at > x.seen_at THEN y.seen_at ELSE x.seen_at END \
     FROM a x JOIN a y ON y.test_id = x.test_id AND y.provider_id = x.provider_id AND y.repo = x.repo \
     AND y.external_id = x.external_id AND y.run_attempt = x.run_attempt + 1 WHERE x.failed = 1 AND y.passed = 1 \
     UNION ALL SELECT test_id, 'commit', MAX(build_id), MAX(received_at) FROM w WHERE commit_sha IS NOT NULL \
     GROUP BY test_id, repo, commit_sha HAVING MAX(CASE WHEN outcome IN (1, 2) THEN 1 ELSE 0 END) = 1 \
     AND MAX(CASE WHEN outcome = 0 THEN 1 ELSE 0 END) = 1) \
     SELECT o.test_id, o.kind, o.build_id, o.seen_at, c.classname, c.name, b.repo, b.workflow, b.branch, b.event, \
     p.kind AS provider_kind FROM o JOIN test_cases c ON c.id = o.test_id JOIN builds b ON b.id = o.build_id \
     JOIN providers p ON p.id = b.provider_id ORDER BY o.test_id, o.seen_at, o.build_id, o.kind";

impl TestResults<'_> {
    /// The flaky occurrences whose executions were all uploaded in
    /// [`since`, `until`) (Unix seconds), by test, oldest first.
    ///
    /// Errors: SQL failures.
    pub async fn flaky_occurrences(
        &self,
        since: i64,
        until: i64,
    ) -> Result<Vec<FlakyTestOccurrence>, StoreError> {
        let rows = sqlx::query(OCCURRENCES).bind(since).bind(until).fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                Ok(FlakyTestOccurrence {
                    test_id: row.try_get("test_id")?,
                    classname: row.try_get("classname")?,
                    name: row.try_get("name")?,
                    kind: row.try_get("kind")?,
                    build_id: row.try_get("build_id")?,
                    seen_at: row.try_get("seen_at")?,
                    repo: row.try_get("repo")?,
                    workflow: row.try_get("workflow")?,
                    branch: row.try_get("branch")?,
                    event: row.try_get("event")?,
                    provider_kind: row.try_get("provider_kind")?,
                })
            })
            .collect()
    }
}
