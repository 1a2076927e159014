//! The flaky rate's denominator kept as a per-day tally
//! (`flaky_attempt_days`, migration 0020): after every kind of change to
//! the stored attempts (a conclusion changed, an attempt moved to another
//! day or branch, an attempt deleted) the tally equals the conclusive
//! attempts counted from `builds`, and `/api/insights/flaky` counts whole
//! days from it and the window's partial days from `builds`.

use serde_json::Value;
use sqlx::{AnyConnection, Connection, Row};

use crate::flaky::seed;
use crate::helpers::TestApp;
use crate::on_both_backends;

/// (provider, repo, workflow, day, branch, attempts), sorted.
pub type Tally = Vec<(i64, String, String, i64, String, i64)>;

const KEPT: &str = "SELECT provider_id, repo, workflow, day, branch, attempts FROM flaky_attempt_days \
     ORDER BY provider_id, repo, workflow, day, branch";
const COUNTED: &str = "SELECT provider_id, repo, workflow, sort_at / 86400 AS day, COALESCE(branch, '') AS branch, \
     COUNT(*) AS attempts FROM builds WHERE workflow IS NOT NULL AND status IN ('success', 'failed') \
     GROUP BY provider_id, repo, workflow, sort_at / 86400, COALESCE(branch, '') \
     ORDER BY provider_id, repo, workflow, day, branch";

async fn tally(db: &mut AnyConnection, sql: &str) -> Tally {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *db).await.expect("tally");
    rows.iter()
        .map(|r| {
            let get = |c: &str| r.try_get::<i64, _>(c).expect(c);
            let text = |c: &str| r.try_get::<String, _>(c).expect(c);
            (get("provider_id"), text("repo"), text("workflow"), get("day"), text("branch"), get("attempts"))
        })
        .collect()
}

/// The tally kept in the database at `url` (the `db copy` test: the
/// target's triggers count the copied attempts, a re-run adds nothing).
pub async fn kept(url: &str) -> Tally {
    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(url).await.expect("connect");
    let kept = tally(&mut db, KEPT).await;
    assert_eq!(kept, tally(&mut db, COUNTED).await, "{url}: the tally is the attempts counted");
    kept
}

async fn assert_in_step(db: &mut AnyConnection, after: &str) {
    let (kept, counted) = (tally(db, KEPT).await, tally(db, COUNTED).await);
    assert_eq!(kept, counted, "after {after}");
}

/// The GitHub "CI" workflow's conclusive attempts in the last `days`.
async fn ci_attempts(app: &TestApp, days: u32) -> Value {
    let (status, body) = app.get(&format!("/api/insights/flaky?window_days={days}&provider=github")).await;
    assert_eq!(status, 200, "{body}");
    let ci = body["workflows"].as_array().expect("workflows").iter().find(|w| w["workflow"] == "CI").cloned();
    ci.map(|w| w["attempts"].clone()).unwrap_or(Value::Null)
}

on_both_backends! {
    // The seeded GitHub CI attempts (see `flaky::seed`, all a few hours
    // old): 501#1 failed, 501#2, 601 failed, 602, 701#2 passed, 701#1
    // cancelled → 5 conclusive. By hand, after each step below:
    // 1. 602 moved 3 days back: 7 days → 5 (602 now on a whole day of the
    //    tally), 2 days → 4 (602 outside).
    // 2. 602 moved 10 days back: 7 days → 4.
    // 3. 601 cancelled (no longer conclusive): 7 days → 3.
    // 4. 701#2 on another branch: still 3 (no branch filter).
    // 5. 701#1 cancelled → failed (conclusive): 4. 6. 501#2 deleted: 3.
    async fn the_attempt_tally_follows_every_change_to_the_attempts(app: TestApp) {
        seed(&app).await;
        sqlx::any::install_default_drivers();
        let mut db = AnyConnection::connect(&app.database_url).await.expect("connect");
        assert_in_step(&mut db, "seeding").await;
        assert_eq!(ci_attempts(&app, 7).await, 5);
        let id = |run: &str, attempt: i64| {
            format!("(SELECT id FROM builds WHERE external_id = '{run}' AND run_attempt = {attempt})")
        };
        let steps: [(String, u32, i64); 6] = [
            (format!("UPDATE builds SET sort_at = sort_at - 3 * 86400 WHERE id = {}", id("602", 1)), 7, 5),
            (format!("UPDATE builds SET sort_at = sort_at - 7 * 86400 WHERE id = {}", id("602", 1)), 7, 4),
            (format!("UPDATE builds SET status = 'cancelled' WHERE id = {}", id("601", 1)), 7, 3),
            (format!("UPDATE builds SET branch = 'other' WHERE id = {}", id("701", 2)), 7, 3),
            (format!("UPDATE builds SET status = 'failed' WHERE id = {}", id("701", 1)), 7, 4),
            (format!("DELETE FROM builds WHERE id = {}", id("501", 2)), 7, 3),
        ];
        for (i, (sql, days, want)) in steps.iter().enumerate() {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(&mut db).await.expect("change");
            assert_in_step(&mut db, sql).await;
            assert_eq!(ci_attempts(&app, *days).await, *want, "step {}: {sql}", i + 1);
            if i == 0 {
                assert_eq!(ci_attempts(&app, 2).await, 4, "602 three days back is outside 2 days");
            }
        }
    }
}
