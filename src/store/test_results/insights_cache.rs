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
//!   ([`TestResults::compute_insights`]) and stored with when it was
//!   computed and how long that took. The version is read before
//!   computing, so a stored answer is never older than its version. Rows
//!   not stored for two days are pruned at each store.
//! - An answer whose computation took longer than the recompute budget
//!   (`--test-insights-recompute-budget-ms`, default 100) is not
//!   recomputed by its reader when stale: the reader gets it as it was,
//!   marked stale with its `computed_at` (if at most 15 minutes old), while
//!   `insights_refresh` recomputes it in the background — as it does after
//!   every upload for the requests read lately — so at scale no reader
//!   waits for a recomputation, and the newest uploads reach the lists
//!   within one recomputation.
//!
//! Owns these two tables' SQL; a current answer is exactly the computed one.

use std::time::Instant;

use chrono::Utc;
use sqlx::{AnyConnection, Row};

use super::{TestInsights, insights_refresh};
use crate::domain::{BranchName, RepoName};
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

/// An answer of [`TestResults::insights`].
#[derive(Debug)]
pub struct CachedInsights {
    pub lists: TestInsights,
    /// When the lists were computed (Unix seconds).
    pub computed_at: i64,
    /// Whether changes since then are not in the lists yet (they are being
    /// recomputed in the background, `insights_refresh`).
    pub stale: bool,
}

/// A stale answer older than this (seconds) is recomputed by its reader.
const MAX_STALE: i64 = 15 * 60;

/// What identifies a cached answer: list length, window's first UTC day,
/// repository, branch, job; stored as a JSON array.
type Request = (i64, i64, Option<String>, Option<String>, Option<String>);

/// A stored answer.
struct Stored {
    versions: i64,
    computed_at: i64,
    compute_ms: i64,
    answer: String,
}

impl TestResults<'_> {
    /// The lists of [`TestInsights`] over `filter`'s window (from its UTC
    /// midnight), `limit` tests each: the stored answer when it is current;
    /// else, when its last computation took longer than the recompute
    /// budget and it is at most 15 minutes old, the stored answer marked
    /// stale while a background pass recomputes it; else computed now by
    /// [`TestResults::compute_insights`] and stored.
    pub async fn insights(&self, filter: &TestsFilter, limit: i64) -> Result<CachedInsights, StoreError> {
        let request: Request = (
            limit,
            filter.since.div_euclid(DAY),
            filter.repo.as_ref().map(|r| r.as_str().to_owned()),
            filter.branch.as_ref().map(|b| b.as_str().to_owned()),
            filter.job.clone(),
        );
        let text = serde_json::to_string(&request)
            .map_err(|e| StoreError::Invariant(format!("an insights request as JSON: {e}")))?;
        let version = self.version(request.2.as_deref()).await?;
        self.insights_refresher.watch(&text);
        // An answer that no longer reads (an older layout) is recomputed.
        let stored = self
            .stored(&text)
            .await?
            .and_then(|s| serde_json::from_str::<TestInsights>(&s.answer).ok().map(|lists| (s, lists)));
        if let Some((stored, lists)) = stored {
            if stored.versions >= version {
                return Ok(CachedInsights { lists, computed_at: stored.computed_at, stale: false });
            }
            let slow = u64::try_from(stored.compute_ms).unwrap_or(0) > self.insights_refresher.budget_ms();
            if slow && Utc::now().timestamp() - stored.computed_at <= MAX_STALE {
                insights_refresh::poke(self);
                return Ok(CachedInsights { lists, computed_at: stored.computed_at, stale: true });
            }
        }
        let (lists, computed_at, compute_ms) = self.compute_timed(&request).await?;
        let answer = serde_json::to_string(&lists)
            .map_err(|e| StoreError::Invariant(format!("insights as JSON: {e}")))?;
        // Stored after answering, so the request waits for no writer (a
        // SQLite upload holds the one write connection for seconds).
        let store = Store::clone(self);
        tokio::spawn(async move {
            let results = store.test_results();
            if let Err(error) = results.store_answer(&text, version, computed_at, compute_ms, &answer).await {
                tracing::warn!(%error, "test insights answer not cached");
            }
        });
        Ok(CachedInsights { lists, computed_at, stale: false })
    }

    /// `request`'s lists computed now, when, and in how many milliseconds.
    async fn compute_timed(&self, request: &Request) -> Result<(TestInsights, i64, i64), StoreError> {
        let (limit, first_day, repo, branch, job) = request.clone();
        let filter = TestsFilter {
            since: first_day * DAY,
            repo: repo.map(RepoName::from),
            branch: branch.map(BranchName::from),
            job,
        };
        let computed_at = Utc::now().timestamp();
        let started = Instant::now();
        let lists = self.compute_insights(&filter, limit).await?;
        let compute_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        Ok((lists, computed_at, compute_ms))
    }

    /// The stored answer of `request`, if any.
    async fn stored(&self, request: &str) -> Result<Option<Stored>, StoreError> {
        let row = sqlx::query(
            "SELECT versions, computed_at, compute_ms, answer FROM test_insight_cache WHERE request = $1",
        )
        .bind(request)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Stored {
            versions: row.try_get("versions")?,
            computed_at: row.try_get("computed_at")?,
            compute_ms: row.try_get("compute_ms")?,
            answer: row.try_get("answer")?,
        }))
    }

    /// One background pass (`insights_refresh`): recomputes and stores
    /// every watched request whose stored answer is stale and took longer
    /// than the budget to compute.
    pub(super) async fn refresh_watched(&self) -> Result<(), StoreError> {
        let budget = self.insights_refresher.budget_ms();
        for text in self.insights_refresher.watched() {
            let Ok(request) = serde_json::from_str::<Request>(&text) else { continue };
            let version = self.version(request.2.as_deref()).await?;
            let Some(stored) = self.stored(&text).await? else { continue };
            if stored.versions >= version || u64::try_from(stored.compute_ms).unwrap_or(0) <= budget {
                continue;
            }
            let (lists, computed_at, compute_ms) = self.compute_timed(&request).await?;
            let answer = serde_json::to_string(&lists)
                .map_err(|e| StoreError::Invariant(format!("insights as JSON: {e}")))?;
            self.store_answer(&text, version, computed_at, compute_ms, &answer).await?;
        }
        Ok(())
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
    async fn store_answer(
        &self,
        request: &str,
        version: i64,
        computed_at: i64,
        compute_ms: i64,
        answer: &str,
    ) -> Result<(), StoreError> {
        let now = Utc::now().timestamp();
        sqlx::query(
            "INSERT INTO test_insight_cache (request, versions, stored_at, answer, computed_at, compute_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (request) DO UPDATE SET versions = excluded.versions, stored_at = excluded.stored_at, \
             answer = excluded.answer, computed_at = excluded.computed_at, compute_ms = excluded.compute_ms \
             WHERE excluded.versions >= test_insight_cache.versions",
        )
        .bind(request)
        .bind(version)
        .bind(now)
        .bind(answer)
        .bind(computed_at)
        .bind(compute_ms)
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
