//! The per-test roll-ups give `/api/insights/tests` exactly what a scan of
//! the executions gives, on messy data (uploads before their run, attempts
//! uploaded out of order, a re-uploaded file, a test twice in one file, a
//! commit shared by two runs, executions without a time), for each
//! narrowing; and the roll-ups rebuilt at startup from the executions
//! equal the ones kept upload by upload; retention takes them with their
//! uploads (both back ends).
//!
//! The scan answers requests with a `branch` filter; every run here is on
//! `main`, so `…&branch=main` is the scan's answer for the same data.

use chrono::Utc;
use cicd_dashboard::store::Store;
use serde_json::Value;
use sqlx::Connection;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};
use crate::test_results::upload;

/// A report of class `A`: (name, time attribute or "" for none, child element).
fn report(cases: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut xml = String::from(r#"<testsuite name="S">"#);
    for (name, time, child) in cases {
        let time = if time.is_empty() { String::new() } else { format!(r#" time="{time}""#) };
        xml.push_str(&format!(r#"<testcase classname="A" name="{name}"{time}>{child}</testcase>"#));
    }
    xml.push_str("</testsuite>");
    xml.into_bytes()
}

const FAIL: &str = r#"<failure message="boom" type="AssertionError"/>"#;

async fn deliver(app: &TestApp, id: i64, attempt: i64, sha: Option<&str>) {
    let mut run = Run::new(id, minutes_ago(40 - attempt));
    run.attempt = attempt;
    let mut payload = run.at("completed", Some("success"), 60).payload();
    if let Some(sha) = sha {
        payload["workflow_run"]["head_sha"] = Value::from(sha);
    }
    app.deliver_json("workflow_run", &payload, "stored").await;
}

async fn send(app: &TestApp, run: i64, attempt: i64, job: &str, cases: &[(&str, &str, &str)]) -> String {
    let query = format!("repo=octo-org/app&run_id={run}&attempt={attempt}&job={job}");
    let (status, answer) = upload(app, &query, "application/xml", report(cases)).await;
    let outcome = answer["files"][0]["outcome"].as_str().unwrap_or_default();
    assert_eq!(status, if outcome == "duplicate" { 200 } else { 201 }, "{answer}");
    answer["files"][0]["outcome"].as_str().unwrap_or_default().to_owned()
}

const NARROWINGS: [&str; 5] =
    ["window_days=3", "job=unit", "job=lint", "repo=octo-org/app", "repo=other/app"];

/// Each narrowing's answer from the roll-ups, checked against the scan's.
async fn answers(app: &TestApp) -> Vec<Value> {
    let mut all = Vec::new();
    for narrowing in NARROWINGS {
        let (status, mut rolled) = app.get(&format!("/api/insights/tests?{narrowing}")).await;
        assert_eq!(status, 200, "{rolled}");
        let (_, mut scanned) = app.get(&format!("/api/insights/tests?{narrowing}&branch=main")).await;
        // The lists only: when they were computed differs.
        for answer in [&mut rolled, &mut scanned] {
            assert_eq!(answer["stale"], false, "{answer}");
            answer.as_object_mut().expect("object").remove("computed_at");
        }
        assert_eq!(rolled, scanned, "roll-ups and scan differ for {narrowing}");
        all.push(rolled);
    }
    all
}

fn flaky_counts(list: &Value, name: &str) -> [i64; 3] {
    let test = list.as_array().expect("list").iter().find(|t| t["name"] == name);
    let test = test.unwrap_or_else(|| panic!("{name} in {list}"));
    ["rerun_passes", "attempt_flips", "commit_flips"].map(|k| test[k].as_i64().expect("count"))
}

on_both_backends! {
    async fn rollups_answer_as_the_scan_on_messy_data(app: TestApp) {
        let shared = format!("{:040x}", 200);
        // Run 200 attempt 1 ("unit") arrives before any delivery of its run:
        // alpha failed, beta passed, gamma passed without a time.
        send(&app, 200, 1, "unit", &[("alpha", "0.1", FAIL), ("beta", "0.2", ""), ("gamma", "", "")]).await;
        deliver(&app, 200, 1, None).await;
        deliver(&app, 200, 2, None).await;
        // Attempt 2: alpha and beta pass in "unit" (sent twice: the second is
        // a duplicate), alpha fails in "lint".
        let again = [("alpha", "0.3", ""), ("beta", "0.4", "")];
        assert_eq!(send(&app, 200, 2, "unit", &again).await, "applied");
        assert_eq!(send(&app, 200, 2, "unit", &again).await, "duplicate");
        send(&app, 200, 2, "lint", &[("alpha", "0.05", FAIL)]).await;
        // Run 201 on run 200's commit: beta fails there.
        deliver(&app, 201, 1, Some(&shared)).await;
        send(&app, 201, 1, "unit", &[("beta", "0.5", FAIL)]).await;
        // Run 202: attempt 3 and 2 uploaded before attempt 1; delta passed in
        // both, failed in attempt 1. epsilon is twice in attempt 1's file,
        // once failed and once passed.
        for attempt in 1..=3 {
            deliver(&app, 202, attempt, None).await;
        }
        send(&app, 202, 3, "unit", &[("delta", "1.0", "")]).await;
        send(&app, 202, 2, "unit", &[("delta", "1.2", "")]).await;
        send(&app, 202, 1, "unit", &[("delta", "0.9", FAIL), ("epsilon", "0.01", FAIL), ("epsilon", "0.02", "")]).await;

        let before = answers(&app).await;
        // Worked by hand, whole window:
        // alpha: failed in 200/1 "unit", passed in 200/2 "unit" → an attempt
        //   flip (key 200/1) and a commit flip (run 200's commit); the "lint"
        //   failure in 200/2 adds a pair on the same commit, not a new commit.
        // beta: passed on run 200 (commit shared), failed on run 201 (same
        //   commit) → one commit flip; no attempt flip (201 has one attempt).
        // delta: failed in 202/1, passed in 202/2 → an attempt flip (2 → 3
        //   both passed: none) and one commit flip.
        // epsilon: failed and passed in one file → one commit flip.
        let flaky = &before[0]["flaky"];
        assert_eq!(flaky_counts(flaky, "alpha"), [0, 1, 1]);
        assert_eq!(flaky_counts(flaky, "beta"), [0, 0, 1]);
        assert_eq!(flaky_counts(flaky, "delta"), [0, 1, 1]);
        assert_eq!(flaky_counts(flaky, "epsilon"), [0, 0, 1]);
        // Only "lint": alpha failed there and never passed there → not flaky.
        assert_eq!(before[2]["flaky"], Value::Array(vec![]));
        // Most failing: alpha 2 failures of 3 executions (the duplicate did not
        // count), beta 1 of 3, delta 1 of 3, epsilon 1 of 2.
        let failing = &before[0]["most_failing"];
        let alpha = failing.as_array().expect("list").iter().find(|t| t["name"] == "alpha").expect("alpha");
        assert_eq!((alpha["failures"].as_i64(), alpha["executions"].as_i64()), (Some(2), Some(3)));
        // Slowest: delta 900 + 1200 + 1000 = 3100 ms first; gamma had no time
        // and is not listed.
        let slowest = &before[0]["slowest"];
        assert_eq!(slowest[0]["name"], "delta");
        assert_eq!(slowest[0]["total_ms"], 3100);
        // delta [900, 1000, 1200]: p50 = 1000, p95 = 1000 + 0.9·200 = 1180.
        assert_eq!((slowest[0]["p50_ms"].as_f64(), slowest[0]["p95_ms"].as_f64()), (Some(1000.0), Some(1180.0)));
        assert!(slowest.as_array().expect("list").iter().all(|t| t["name"] != "gamma"));
        assert_eq!(before[4]["most_failing"], Value::Array(vec![]), "another repository has nothing");

        // Drop the roll-ups; the next start rebuilds them from the executions.
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
        sqlx::query("DELETE FROM test_daily").execute(&mut db).await.expect("clear days");
        sqlx::query("DELETE FROM test_flips").execute(&mut db).await.expect("clear flips");
        db.close().await.expect("close");
        let restarted = TestApp::spawn_replica_with(&app, &app.database_url, |_| {}).await;
        assert_eq!(answers(&restarted).await, before, "rebuilt roll-ups answer as the kept ones");

        // Retention: a cutoff at today's midnight keeps today's uploads and
        // roll-ups; one past tomorrow's midnight takes both.
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let midnight = Utc::now().timestamp().div_euclid(86_400) * 86_400;
        store.test_results().delete_older_than(midnight).await.expect("retention");
        assert_eq!(answers(&restarted).await, before);
        store.test_results().delete_older_than(midnight + 2 * 86_400).await.expect("retention");
        for answer in answers(&restarted).await {
            for list in ["most_failing", "slowest", "flaky", "newly_failing"] {
                assert_eq!(answer[list], Value::Array(vec![]), "{list} after retention");
            }
        }
        let mut db = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
        for table in ["test_daily", "test_flips"] {
            let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut db)
                .await
                .expect("count");
            assert_eq!(left, 0, "{table} after retention");
        }
    }
}
