//! The cache of `/api/insights/tests` answers: computing the lists sums
//! every test's roll-up rows of the window (seconds at tens of millions of
//! executions), while the stored data changes only at uploads, deliveries
//! that set a build's branch or commit, and retention.
//!
//! - `test_day_versions` (migration 0023): per repository and UTC upload
//!   day, a counter raised by every change to that day's test results (an
//!   upload, in its own transaction: [`bump_day`]; deleted uploads and
//!   builds, builds whose branch or commit changes: database triggers), and
//!   the row of repository `*` raised when any answer may change (retention
//!   of roll-ups, a roll-up rebuild: [`TestResults::invalidate_insights`]).
//!   Rows are never deleted, so the **version** of a request — the sum of
//!   its scope's counters (its repository's rows and `*`, or every row
//!   without a repository filter) — only grows. It sums every day, not only
//!   the window's: newly failing tests look back before the window for the
//!   last green run.
//! - `test_insight_cache`: per request (list length, window's first UTC
//!   day, repository, branch, job, as JSON) the answer computed at a
//!   version. A request whose stored version is the current one reads it
//!   (two indexed reads); otherwise the answer is computed
//!   ([`TestResults::compute_insights`]) and stored. The version is read
//!   before computing, so a stored answer is never older than its version.
//!   Rows not stored for two days are pruned at each store.
//!
//! Owns these two tables' SQL; the answer is exactly the computed one.

use chrono::Utc;
use sqlx::{AnyConnection, Row};

use super::TestInsights;
use crate::store::test_results::TestsFilter;
use crate::store::{Store, StoreError, TestResults};

const DAY: i64 = 86_400;

/// The scope row every request's version includes.
const EVERY_REPO: &str = "*";

/// How long an answer not stored again is kept (seconds).
const KEPT_FOR: i64 = 2 * DAY;

const BUMP: &str = "INSERT INTO test_day_versions (repo, day, version) VALUES ($1, $2, 1) \
     ON CONFLICT (repo, day) DO UPDATE SET version = test_day_versions.version + 1";

/// Raises the version of `repo`'s UTC day `day` inside the caller's
/// transaction (an upload's, just before its commit).
pub(super) async fn bump_day(conn: &mut AnyConnection, repo: &str, day: i64) -> Result<(), StoreError> {
    sqlx::query(BUMP).bind(repo).bind(day).execute(&mut *conn).await?;
    Ok(())
}

impl TestResults<'_> {
    /// The lists of [`TestInsights`] over `filter`'s window (from its UTC
    /// midnight), `limit` tests each: the stored answer when it is current,
    /// else computed by [`TestResults::compute_insights`] and stored.
    pub async fn insights(&self, filter: &TestsFilter, limit: i64) -> Result<TestInsights, StoreError> {
        let first_day = filter.since.div_euclid(DAY);
        let repo = filter.repo.as_ref().map(|r| r.as_str().to_owned());
        let request = serde_json::to_string(&(
            limit,
            first_day,
            &repo,
            filter.branch.as_ref().map(|b| b.as_str()),
            &filter.job,
        ))
        .map_err(|e| StoreError::Invariant(format!("an insights request as JSON: {e}")))?;
        let version = self.version(repo.as_deref()).await?;
        let stored =
            sqlx::query("SELECT answer FROM test_insight_cache WHERE request = $1 AND versions = $2")
                .bind(request.as_str())
                .bind(version)
                .fetch_optional(&self.read)
                .await?;
        if let Some(row) = stored {
            let answer: String = row.try_get("answer")?;
            // An answer that no longer reads (an older layout) is recomputed.
            if let Ok(insights) = serde_json::from_str(&answer) {
                return Ok(insights);
            }
        }
        let insights = self.compute_insights(filter, limit).await?;
        let answer = serde_json::to_string(&insights)
            .map_err(|e| StoreError::Invariant(format!("insights as JSON: {e}")))?;
        // Stored after answering, so the request waits for no writer (a
        // SQLite upload holds the one write connection for seconds).
        let store = Store::clone(self);
        tokio::spawn(async move {
            if let Err(error) = store.test_results().store_answer(&request, version, &answer).await {
                tracing::warn!(%error, "test insights answer not cached");
            }
        });
        Ok(insights)
    }

    /// The version of requests on `repo` (or every repository).
    async fn version(&self, repo: Option<&str>) -> Result<i64, StoreError> {
        let sum = "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) AS v FROM test_day_versions";
        let row = match repo {
            Some(repo) => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{sum} WHERE repo = $1 OR repo = $2")))
                    .bind(repo)
                    .bind(EVERY_REPO)
                    .fetch_one(&self.read)
                    .await?
            }
            None => sqlx::query(sqlx::AssertSqlSafe(sum)).fetch_one(&self.read).await?,
        };
        Ok(row.try_get("v")?)
    }

    /// Keeps `answer` for `request` at `version` (an answer stored at a
    /// later version stays), and prunes answers not stored lately.
    async fn store_answer(&self, request: &str, version: i64, answer: &str) -> Result<(), StoreError> {
        let now = Utc::now().timestamp();
        sqlx::query(
            "INSERT INTO test_insight_cache (request, versions, stored_at, answer) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (request) DO UPDATE SET versions = excluded.versions, stored_at = excluded.stored_at, \
             answer = excluded.answer WHERE excluded.versions >= test_insight_cache.versions",
        )
        .bind(request)
        .bind(version)
        .bind(now)
        .bind(answer)
        .execute(&self.write)
        .await?;
        sqlx::query("DELETE FROM test_insight_cache WHERE stored_at < $1")
            .bind(now - KEPT_FOR)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Makes every stored answer stale (after retention deleted roll-ups,
    /// or a roll-up rebuild).
    pub(super) async fn invalidate_insights(&self) -> Result<(), StoreError> {
        sqlx::query(BUMP).bind(EVERY_REPO).bind(0_i64).execute(&self.write).await?;
        Ok(())
    }
}
