//! `/api/insights/tests` answers from the cache (`insights_cache`) are
//! exactly what computing them now gives, after each kind of change: a new
//! upload with a failure on a day in the window, a delivery that sets the
//! branch of an uploaded attempt, a deleted upload, a deleted build, and
//! retention (both back ends).

use std::time::Duration;

use chrono::Utc;
use cicd_dashboard::domain::{BranchName, RepoName};
use cicd_dashboard::store::Store;
use cicd_dashboard::store::test_results::TestsFilter;
use serde_json::Value;
use sqlx::Connection;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};
use crate::test_results::upload;

const FAIL: &str = r#"<failure message="boom" type="AssertionError"/>"#;

fn report(cases: &[(&str, &str)]) -> Vec<u8> {
    let mut xml = String::from(r#"<testsuite name="S">"#);
    for (name, child) in cases {
        xml.push_str(&format!(r#"<testcase classname="A" name="{name}" time="0.5">{child}</testcase>"#));
    }
    xml.push_str("</testsuite>");
    xml.into_bytes()
}

async fn send(app: &TestApp, run: i64, cases: &[(&str, &str)]) {
    let query = format!("repo=octo-org/app&run_id={run}&job=unit");
    let (status, answer) = upload(app, &query, "application/xml", report(cases)).await;
    assert_eq!(status, 201, "{answer}");
}

async fn deliver(app: &TestApp, run: i64, branch: &str) {
    let mut run = Run::new(run, minutes_ago(30));
    run.branch = branch.into();
    app.deliver_json("workflow_run", &run.at("completed", Some("success"), 60).payload(), "stored").await;
}

async fn database(app: &TestApp) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&app.database_url).await.expect("connect")
}

async fn cache_state(app: &TestApp) -> i64 {
    let mut db = database(app).await;
    // Changes when an answer is added or replaced by a later version's.
    sqlx::query_scalar("SELECT CAST(COUNT(*) + COALESCE(SUM(versions), 0) AS BIGINT) FROM test_insight_cache")
        .fetch_one(&mut db)
        .await
        .expect("count")
}

/// `query`'s answer over HTTP, checked against the lists computed now
/// without the cache; read twice, the second time once the first answer
/// is stored, so the stored answer is checked too.
async fn answer(app: &TestApp, query: &str, filter: TestsFilter) -> Value {
    let before = cache_state(app).await;
    let (status, first) = app.get(&format!("/api/insights/tests?window_days=7&{query}")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["window_days"], 7);
    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    let filter = TestsFilter { since: Utc::now().timestamp() - 7 * 86_400, ..filter };
    let computed = store.test_results().compute_insights(&filter, 20).await.expect("computed");
    let mut expected = serde_json::to_value(&computed).expect("json");
    expected["window_days"] = Value::from(7);
    assert_eq!(first, expected, "answer for {query} is the computed one");
    for _ in 0..100 {
        if cache_state(app).await > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, second) = app.get(&format!("/api/insights/tests?window_days=7&{query}")).await;
    assert_eq!(second, first, "the stored answer for {query}");
    first
}

fn failures(list: &Value, name: &str) -> Option<i64> {
    list.as_array()
        .expect("list")
        .iter()
        .find(|t| t["name"] == name)
        .map(|t| t["failures"].as_i64().expect("n"))
}

fn repo() -> Option<RepoName> {
    Some(RepoName::from("octo-org/app".to_owned()))
}

on_both_backends! {
    async fn uploads_and_deliveries_refresh_cached_answers(app: TestApp) {
        deliver(&app, 300, "main").await;
        send(&app, 300, &[("alpha", ""), ("beta", "")]).await;
        let all = answer(&app, "", TestsFilter::default()).await;
        assert_eq!(all["most_failing"], Value::Array(vec![]));
        let in_repo = answer(&app, "repo=octo-org/app", TestsFilter { repo: repo(), ..Default::default() }).await;
        assert_eq!(in_repo["slowest"].as_array().map(Vec::len), Some(2));

        // A second upload today (in the window): beta fails.
        deliver(&app, 301, "main").await;
        send(&app, 301, &[("alpha", ""), ("beta", FAIL)]).await;
        let all = answer(&app, "", TestsFilter::default()).await;
        assert_eq!(failures(&all["most_failing"], "beta"), Some(1));
        let in_repo = answer(&app, "repo=octo-org/app", TestsFilter { repo: repo(), ..Default::default() }).await;
        assert_eq!(failures(&in_repo["most_failing"], "beta"), Some(1));
        let job = answer(&app, "job=unit", TestsFilter { job: Some("unit".into()), ..Default::default() }).await;
        assert_eq!(failures(&job["most_failing"], "beta"), Some(1));

        // Run 302 uploads before its delivery says its branch: nothing on
        // "feature" until the delivery sets it.
        let feature = || TestsFilter { branch: Some(BranchName::from("feature".to_owned())), ..Default::default() };
        send(&app, 302, &[("gamma", FAIL)]).await;
        let before = answer(&app, "branch=feature", feature()).await;
        assert_eq!(before["most_failing"], Value::Array(vec![]));
        deliver(&app, 302, "feature").await;
        let after = answer(&app, "branch=feature", feature()).await;
        assert_eq!(failures(&after["most_failing"], "gamma"), Some(1));
    }

    async fn deletions_and_retention_refresh_cached_answers(app: TestApp) {
        for run in [310, 311, 312] {
            deliver(&app, run, "main").await;
        }
        send(&app, 310, &[("alpha", FAIL)]).await;
        send(&app, 311, &[("alpha", FAIL), ("beta", FAIL)]).await;
        send(&app, 312, &[("alpha", FAIL), ("beta", FAIL), ("gamma", FAIL)]).await;
        // The scan (branch filter) reads the executions themselves.
        let main = || TestsFilter { branch: Some(BranchName::from("main".to_owned())), ..Default::default() };
        let first = answer(&app, "branch=main", main()).await;
        assert_eq!(failures(&first["most_failing"], "alpha"), Some(3));

        // One upload deleted (as retention deletes them): run 312's.
        let mut db = database(&app).await;
        sqlx::query(
            "DELETE FROM test_uploads WHERE build_id IN (SELECT id FROM builds WHERE external_id = '312')",
        )
        .execute(&mut db)
        .await
        .expect("delete upload");
        let after = answer(&app, "branch=main", main()).await;
        assert_eq!(failures(&after["most_failing"], "alpha"), Some(2));
        assert_eq!(failures(&after["most_failing"], "gamma"), None);

        // A build deleted with its uploads: run 311's.
        sqlx::query("DELETE FROM builds WHERE external_id = '311'").execute(&mut db).await.expect("delete build");
        let after = answer(&app, "branch=main", main()).await;
        assert_eq!(failures(&after["most_failing"], "alpha"), Some(1));
        assert_eq!(failures(&after["most_failing"], "beta"), None);

        // Retention past tomorrow's midnight takes the rest, roll-ups too.
        let rolled = answer(&app, "", TestsFilter::default()).await;
        assert!(failures(&rolled["most_failing"], "alpha").is_some(), "{rolled}");
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let midnight = Utc::now().timestamp().div_euclid(86_400) * 86_400;
        store.test_results().delete_older_than(midnight + 2 * 86_400).await.expect("retention");
        for (query, filter) in [("", TestsFilter::default()), ("branch=main", main())] {
            let after = answer(&app, query, filter).await;
            for list in ["most_failing", "slowest", "flaky", "newly_failing"] {
                assert_eq!(after[list], Value::Array(vec![]), "{list} of {query} after retention");
            }
        }
    }
}
