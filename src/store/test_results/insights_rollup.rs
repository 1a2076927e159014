//! `/api/insights/tests` read from the per-test roll-ups (`test_daily`,
//! `test_flips`, kept by `rollup_write` at upload), so its cost follows the
//! number of tests × days × job names in the window, not the number of
//! executions. The definitions are those of `insights` (the module the
//! scan lives in); the window starts at the UTC midnight on or before
//! `since`, for the scan and the roll-ups alike.
//!
//! A `branch` filter is answered by the scan: the roll-ups do not keep the
//! branch (a report can arrive before its run says which branch it ran on).

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::insights::{Bind, TEST_REF, test_ref};
use crate::metrics::percentile::percentile;
use crate::store::test_results::{FailingTest, FlakyTest, SlowTest, TestInsights, TestsFilter};
use crate::store::{StoreError, TestResults};

const DAY: i64 = 86_400;

/// The roll-up conditions of `filter`: `{D}` stands for the day column and
/// `{J}` for the job conditions, as a query's `WHERE` terms over `$1…`.
struct Narrowing {
    binds: Vec<Bind>,
    /// The window's first UTC day.
    first_day: i64,
    day: String,
    repo: Option<String>,
    job: Option<String>,
}

impl Narrowing {
    fn new(filter: &TestsFilter) -> Narrowing {
        let first_day = filter.since.div_euclid(DAY);
        let mut binds = vec![Bind::Int(first_day)];
        let mut next = |value: String| {
            binds.push(Bind::Text(value));
            format!("${}", binds.len())
        };
        let repo = filter.repo.as_ref().map(|r| next(r.as_str().to_owned()));
        let job = filter.job.clone().map(next);
        Narrowing { binds, first_day, day: "$1".into(), repo, job }
    }

    /// `test_daily` rows of the window.
    fn daily(&self) -> String {
        let mut sql = format!("day >= {}", self.day);
        if let Some(job) = &self.job {
            sql.push_str(&format!(" AND job_name = {job}"));
        }
        if let Some(repo) = &self.repo {
            sql.push_str(&format!(" AND test_id IN (SELECT id FROM test_cases WHERE repo = {repo})"));
        }
        sql
    }

    /// `test_flips` rows whose both sides are in the window.
    fn flips(&self) -> String {
        let mut sql = format!("fail_day >= {0} AND pass_day >= {0}", self.day);
        if let Some(job) = &self.job {
            sql.push_str(&format!(" AND fail_job = {job} AND pass_job = {job}"));
        }
        if let Some(repo) = &self.repo {
            sql.push_str(&format!(" AND test_id IN (SELECT id FROM test_cases WHERE repo = {repo})"));
        }
        sql
    }

    async fn rows(
        &self,
        results: &TestResults<'_>,
        sql: String,
        limit: i64,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let sql = format!("{sql} LIMIT ${}", self.binds.len() + 1);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in &self.binds {
            query = match bind {
                Bind::Int(n) => query.bind(*n),
                Bind::Text(text) => query.bind(text.clone()),
            };
        }
        Ok(query.bind(limit).fetch_all(&results.read).await?)
    }
}

impl TestResults<'_> {
    /// The lists of [`TestInsights`] over `filter`'s window (from its UTC
    /// midnight), `limit` tests each, computed now: from the roll-ups, or
    /// from a scan of the executions with a branch filter. The API reads
    /// them through the cache (`insights_cache`), which gives the same.
    pub async fn compute_insights(
        &self,
        filter: &TestsFilter,
        limit: i64,
    ) -> Result<TestInsights, StoreError> {
        let mut filter = filter.clone();
        filter.since = filter.since.div_euclid(DAY) * DAY;
        let newly_failing = self.newly_failing(&filter, limit).await?;
        if filter.branch.is_some() {
            let scanned = self.scan_insights(&filter, limit).await?;
            return Ok(TestInsights { newly_failing, ..scanned });
        }
        let narrowing = Narrowing::new(&filter);
        let lists = self.failing_and_slowest(&narrowing, limit).await?;
        let mut most_failing = Vec::new();
        let mut slow = Vec::new();
        for row in &lists {
            let test = test_ref(row)?;
            let failures: i64 = row.try_get("failures")?;
            let executions: i64 = row.try_get("executions")?;
            if row.try_get::<i64, _>("list")? == 1 {
                most_failing.push(FailingTest {
                    test,
                    failures,
                    executions,
                    failure_rate: if executions > 0 { failures as f64 / executions as f64 } else { 0.0 },
                });
            } else {
                slow.push((test, row.try_get::<i64, _>("timed")?, row.try_get::<i64, _>("total_ms")?));
            }
        }
        most_failing.sort_by(|a, b| {
            (b.failures, b.executions, a.test.test_id).cmp(&(a.failures, a.executions, b.test.test_id))
        });
        slow.sort_by(|a, b| (b.2, a.0.test_id).cmp(&(a.2, b.0.test_id)));
        let ids: Vec<i64> = slow.iter().map(|(test, _, _)| test.test_id).collect();
        let mut durations = self.rolled_durations(&narrowing, &ids).await?;
        let mut slowest = Vec::with_capacity(slow.len());
        for (test, timed_executions, total_ms) in slow {
            let mut values = durations.remove(&test.test_id).unwrap_or_default();
            values.sort_by(f64::total_cmp);
            slowest.push(SlowTest {
                test,
                timed_executions,
                total_ms,
                p50_ms: percentile(&values, 0.50),
                p95_ms: percentile(&values, 0.95),
            });
        }

        let daily = narrowing.daily();
        let flips = narrowing.flips();
        let flaky_rows = narrowing
            .rows(
                self,
                format!(
                    "WITH f AS (SELECT test_id, CAST(SUM(rerun_passes) AS BIGINT) AS r, 0 AS af, 0 AS cf \
                     FROM test_daily WHERE {daily} AND rerun_passes > 0 GROUP BY test_id \
                     UNION ALL SELECT test_id, 0, COUNT(DISTINCT CASE WHEN kind = 1 THEN flip_key END), \
                     COUNT(DISTINCT CASE WHEN kind = 2 THEN flip_key END) FROM test_flips WHERE {flips} \
                     GROUP BY test_id), \
                     t AS (SELECT test_id, CAST(SUM(r) AS BIGINT) AS rerun_passes, \
                     CAST(SUM(af) AS BIGINT) AS attempt_flips, CAST(SUM(cf) AS BIGINT) AS commit_flips \
                     FROM f GROUP BY test_id) \
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
        Ok(TestInsights { most_failing, slowest, flaky, newly_failing })
    }

    /// The most failing (`list` 1) and slowest (`list` 2) tests, `limit`
    /// each, from one pass over the window's day rows (sums in floating
    /// point, exact below 2^53, so PostgreSQL keeps no NUMERIC state).
    async fn failing_and_slowest(
        &self,
        narrowing: &Narrowing,
        limit: i64,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let sum = |column: &str| format!("SUM(CAST({column} AS DOUBLE PRECISION)) AS {column}");
        let sql = format!(
            "WITH t AS (SELECT test_id, {}, {}, {}, {} FROM test_daily WHERE {} GROUP BY test_id), \
             l AS (SELECT * FROM (SELECT 1 AS list, test_id, failures, executions, timed, total_ms FROM t \
             WHERE failures > 0 ORDER BY failures DESC, executions DESC, test_id LIMIT {limit}) a \
             UNION ALL SELECT * FROM (SELECT 2 AS list, test_id, failures, executions, timed, total_ms FROM t \
             WHERE timed > 0 ORDER BY total_ms DESC, test_id LIMIT {limit}) b) \
             SELECT l.list, {TEST_REF}, CAST(l.failures AS BIGINT) AS failures, \
             CAST(l.executions AS BIGINT) AS executions, CAST(l.timed AS BIGINT) AS timed, \
             CAST(l.total_ms AS BIGINT) AS total_ms FROM l JOIN test_cases c ON c.id = l.test_id",
            sum("failures"),
            sum("executions"),
            sum("timed"),
            sum("total_ms"),
            narrowing.daily()
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in &narrowing.binds {
            query = match bind {
                Bind::Int(n) => query.bind(*n),
                Bind::Text(text) => query.bind(text.clone()),
            };
        }
        Ok(query.fetch_all(&self.read).await?)
    }

    /// The window's durations (ms) of the tests `ids`, from their day rows.
    async fn rolled_durations(
        &self,
        narrowing: &Narrowing,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<f64>>, StoreError> {
        let mut durations: HashMap<i64, Vec<f64>> = HashMap::new();
        if ids.is_empty() {
            return Ok(durations);
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        // The window's days listed (up to tomorrow, for a replica's clock
        // ahead of this one's), so both key columns probe the primary key.
        let today = chrono::Utc::now().timestamp().div_euclid(DAY);
        let days: Vec<String> = (narrowing.first_day..=today + 1).map(|d| d.to_string()).collect();
        let sql = format!(
            "SELECT test_id, durations FROM test_daily WHERE {} AND day IN ({}) AND test_id IN ({}) AND timed > 0",
            narrowing.daily(),
            days.join(", "),
            list.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in &narrowing.binds {
            query = match bind {
                Bind::Int(n) => query.bind(*n),
                Bind::Text(text) => query.bind(text.clone()),
            };
        }
        for row in query.fetch_all(&self.read).await? {
            let test_id: i64 = row.try_get("test_id")?;
            let text: String = row.try_get("durations")?;
            let values = durations.entry(test_id).or_default();
            for value in text.split(',').filter(|v| !v.is_empty()) {
                let ms: i64 = value
                    .parse()
                    .map_err(|_| StoreError::Invariant(format!("a stored duration list holds {value:?}")))?;
                values.push(ms as f64);
            }
        }
        Ok(durations)
    }
}
