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
    let (status, mut first) = app.get(&format!("/api/insights/tests?window_days=7&{query}")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["window_days"], 7);
    assert_eq!(first["stale"], false, "{first}");
    let computed_at = first.as_object_mut().and_then(|o| o.remove("computed_at")).expect("computed_at");
    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    let filter = TestsFilter { since: Utc::now().timestamp() - 7 * 86_400, ..filter };
    let computed = store.test_results().compute_insights(&filter, 20).await.expect("computed");
    let mut expected = serde_json::to_value(&computed).expect("json");
    expected["window_days"] = Value::from(7);
    expected["stale"] = Value::from(false);
    assert_eq!(first, expected, "answer for {query} is the computed one");
    for _ in 0..100 {
        if cache_state(app).await > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, mut second) = app.get(&format!("/api/insights/tests?window_days=7&{query}")).await;
    assert_eq!(second.as_object_mut().and_then(|o| o.remove("computed_at")), Some(computed_at));
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

/// Pretends the stored answers took `ms` to compute, computed `age`
/// seconds before they were.
async fn make_slow(app: &TestApp, ms: i64, age: i64) {
    let mut db = database(app).await;
    sqlx::query("UPDATE test_insight_cache SET compute_ms = $1, computed_at = computed_at - $2")
        .bind(ms)
        .bind(age)
        .execute(&mut db)
        .await
        .expect("slow");
}

async fn stored_answers(app: &TestApp) -> i64 {
    let mut db = database(app).await;
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM test_insight_cache")
        .fetch_one(&mut db)
        .await
        .expect("count")
}

/// An answer slower to compute than the budget (100 ms) is served as it
/// was, marked stale with its `computed_at`, right after an upload, and
/// the upload's failures reach it once the background pass has
/// recomputed it; one older than 15 minutes is recomputed by its reader.
async fn slow_answers_are_served_stale_then_refreshed(app: TestApp) {
    let path = "/api/insights/tests?window_days=7";
    deliver(&app, 320, "main").await;
    send(&app, 320, &[("alpha", FAIL), ("beta", "")]).await;
    let (_, first) = app.get(path).await;
    assert_eq!((failures(&first["most_failing"], "alpha"), &first["stale"]), (Some(1), &Value::from(false)));
    for _ in 0..100 {
        if stored_answers(&app).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    make_slow(&app, 5_000, 60).await;
    let (_, stored) = app.get(path).await;
    let computed_at = stored["computed_at"].clone();
    assert_eq!(stored["stale"], false, "current, though slow: {stored}");

    // A change this process did not make (as another replica's upload):
    // the reader gets the stored lists at once, stale, and starts a pass.
    let mut db = database(&app).await;
    sqlx::query("UPDATE test_day_versions SET version = version + 1").execute(&mut db).await.expect("bump");
    let (_, stale) = app.get(path).await;
    assert_eq!((&stale["stale"], &stale["computed_at"]), (&Value::from(true), &computed_at), "{stale}");
    assert_eq!(failures(&stale["most_failing"], "alpha"), Some(1), "{stale}");
    let mut current = Value::Null;
    for _ in 0..200 {
        (_, current) = app.get(path).await;
        if current["stale"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(current["stale"], false, "refreshed by the pass the reader started: {current}");
    make_slow(&app, 5_000, 60).await;
    let computed_at = app.get(path).await.1["computed_at"].clone();

    // A new upload: alpha and beta fail on run 321. The next reader does
    // not wait: it gets the earlier lists, stale, with their time.
    deliver(&app, 321, "main").await;
    send(&app, 321, &[("alpha", FAIL), ("beta", FAIL)]).await;
    let (status, stale) = app.get(path).await;
    assert_eq!(status, 200, "{stale}");
    if stale["stale"] == true {
        assert_eq!(stale["computed_at"], computed_at);
        assert_eq!(failures(&stale["most_failing"], "alpha"), Some(1), "{stale}");
    } else {
        // The background pass (started by the upload) was quicker than
        // this request: then it is the new answer.
        assert_eq!(failures(&stale["most_failing"], "alpha"), Some(2), "{stale}");
    }
    // The pass recomputes it: alpha 2 failures, beta 1, current.
    let mut refreshed = Value::Null;
    for _ in 0..200 {
        (_, refreshed) = app.get(path).await;
        if refreshed["stale"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(refreshed["stale"], false, "refreshed in the background: {refreshed}");
    assert_eq!(failures(&refreshed["most_failing"], "alpha"), Some(2), "{refreshed}");
    assert_eq!(failures(&refreshed["most_failing"], "beta"), Some(1), "{refreshed}");

    // Slow but computed 20 minutes ago: too old to serve stale.
    for _ in 0..100 {
        if stored_answers(&app).await > 0 && app.get(path).await.1["stale"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    make_slow(&app, 5_000, 20 * 60).await;
    let aged = app.get(path).await.1["computed_at"].clone();
    // A change no pass of this process is told of (as another replica's):
    // only the reader can recompute it, and must, the answer being too old.
    let mut db = database(&app).await;
    sqlx::query("UPDATE test_day_versions SET version = version + 1").execute(&mut db).await.expect("bump");
    let (_, old) = app.get(path).await;
    assert_eq!(old["stale"], false, "recomputed, not served 20 minutes old: {old}");
    assert_ne!(old["computed_at"], aged, "{old}");
    assert_eq!(failures(&old["most_failing"], "alpha"), Some(2), "{old}");
}

fn slow_budget(settings: &mut cicd_dashboard::config::ServeSettings) {
    settings.limits.test_insights_recompute_budget_ms = 100;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_stale_then_refreshed_sqlite() {
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, slow_budget).await.expect("sqlite");
    slow_answers_are_served_stale_then_refreshed(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_stale_then_refreshed_postgres() {
    if let Some(app) = TestApp::spawn_with(crate::helpers::Backend::Postgres, slow_budget).await {
        slow_answers_are_served_stale_then_refreshed(app).await
    }
}
