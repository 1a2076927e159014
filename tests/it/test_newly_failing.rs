//! "Newly failing" tests in `/api/insights/tests` on a small history worked
//! out by hand: skipped executions, another branch's passes, a test that
//! never passed and one that recovered (both back ends).

use serde_json::Value;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};
use crate::test_results::upload;

const FAIL: &str = r#"<failure message="no"/>"#;
const SKIP: &str = "<skipped/>";

/// Delivers run `id` on `branch` and uploads its report (job "unit"):
/// (name, child element: "" passed, FAIL, SKIP).
async fn run(app: &TestApp, id: i64, branch: &str, cases: &[(&str, &str)]) {
    let mut run = Run::new(id, minutes_ago(60 - id % 100));
    run.branch = branch.into();
    app.deliver_json("workflow_run", &run.at("completed", Some("success"), 60).payload(), "stored").await;
    let mut xml = String::from(r#"<testsuite name="S">"#);
    for (name, child) in cases {
        xml.push_str(&format!(r#"<testcase classname="A" name="{name}" time="0.1">{child}</testcase>"#));
    }
    xml.push_str("</testsuite>");
    let query = format!("repo=octo-org/app&run_id={id}&job=unit");
    let (status, answer) = upload(app, &query, "application/xml", xml.into_bytes()).await;
    assert_eq!(status, 201, "{answer}");
}

fn listed(insights: &Value) -> Vec<(String, i64)> {
    insights["newly_failing"]
        .as_array()
        .expect("list")
        .iter()
        .map(|t| (t["name"].as_str().expect("name").to_owned(), t["failures"].as_i64().expect("failures")))
        .collect()
}

on_both_backends! {
    async fn newly_failing_on_the_default_branch(app: TestApp) {
        // Upload order (all in the window), outcomes per test:
        //            301 main  302 main  303 main  304 topic  305 main
        //   alpha    pass      fail      fail      .          fail
        //   beta     pass      pass      fail      pass       .
        //   gamma    fail      fail      fail      .          .
        //   delta    pass      skip      fail      .          .
        //   epsilon  pass      fail      pass      .          .
        run(&app, 301, "main", &[("alpha", ""), ("beta", ""), ("gamma", FAIL), ("delta", ""), ("epsilon", "")]).await;
        run(&app, 302, "main", &[("alpha", FAIL), ("beta", ""), ("gamma", FAIL), ("delta", SKIP), ("epsilon", FAIL)]).await;
        run(&app, 303, "main", &[("alpha", FAIL), ("beta", FAIL), ("gamma", FAIL), ("delta", FAIL), ("epsilon", "")]).await;
        run(&app, 304, "topic", &[("beta", "")]).await;
        run(&app, 305, "main", &[("alpha", FAIL)]).await;

        // alpha: last pass 301, failed in 302, 303, 305 → first failure 302, 3 failures.
        // beta: last pass on main 302 (304 is another branch), failed in 303 → 1.
        // gamma: never passed on main → not newly failing (never green).
        // delta: passed in 301, skipped in 302 (left out), failed in 303 → 1.
        // epsilon: its latest (303) passed → recovered, not listed.
        // Newest first failure first: beta and delta (303, lower id first), then alpha (302).
        let (status, insights) = app.get("/api/insights/tests?window_days=1").await;
        assert_eq!(status, 200, "{insights}");
        assert_eq!(listed(&insights), [("beta".to_owned(), 1), ("delta".to_owned(), 1), ("alpha".to_owned(), 3)]);
        let alpha = &insights["newly_failing"][2];
        let builds = app.builds().await;
        let run_302 = builds.iter().find(|b| b["external_id"] == "302").expect("run 302");
        assert_eq!(alpha["first_failed_build_id"], run_302["id"]);
        assert!(alpha["first_failed_at"].as_str().expect("time") >= alpha["last_passed_at"].as_str().expect("time"));
        assert_eq!(alpha["classname"], "A");

        // The same through the scan (a branch filter) on main; on topic only
        // beta ran and passed: nothing. Another job or repository: nothing.
        let (_, on_main) = app.get("/api/insights/tests?window_days=1&branch=main").await;
        assert_eq!(on_main["newly_failing"], insights["newly_failing"]);
        let (_, on_topic) = app.get("/api/insights/tests?branch=topic").await;
        assert_eq!(listed(&on_topic), []);
        let (_, other) = app.get("/api/insights/tests?job=lint").await;
        assert_eq!(listed(&other), []);
        let (_, unit) = app.get("/api/insights/tests?job=unit&repo=octo-org/app").await;
        assert_eq!(unit["newly_failing"], insights["newly_failing"]);
    }
}
