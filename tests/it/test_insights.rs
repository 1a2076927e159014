//! `/api/insights/tests` and `/api/insights/tests/{id}` on a small dataset
//! worked out by hand (both back ends).

use serde_json::Value;

use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};
use crate::test_results::upload;

/// A report of class `A` in suite `S`: (name, seconds, child element).
fn report(cases: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut xml = String::from(r#"<testsuite name="S">"#);
    for (name, time, child) in cases {
        xml.push_str(&format!(r#"<testcase classname="A" name="{name}" time="{time}">{child}</testcase>"#));
    }
    xml.push_str("</testsuite>");
    xml.into_bytes()
}

const FAIL: &str = r#"<failure message="expected 1" type="AssertionError">at A.beta(A.java:3)</failure>"#;
const FLAKY: &str = r#"<flakyFailure message="timing" type="AssertionError"/>"#;

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .expect("list")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().expect("list").iter().map(|t| t["name"].as_str().expect("name")).collect()
}

on_both_backends! {
    async fn most_failing_slowest_flaky_and_history(app: TestApp) {
        // Run 100 (both attempts on one commit), job "unit":
        //   attempt 1: alpha passed 0.1 s, beta failed 0.2 s, gamma passed after one
        //              flakyFailure 0.3 s, delta skipped 0 s
        //   attempt 2: alpha passed 0.3 s, beta passed 0.4 s, gamma passed 0.1 s,
        //              delta failed 0.05 s
        let run = Run::new(100, minutes_ago(30));
        app.deliver_json("workflow_run", &run.at("completed", Some("failure"), 60).payload(), "stored").await;
        let mut second = Run::new(100, minutes_ago(20));
        second.attempt = 2;
        app.deliver_json("workflow_run", &second.at("completed", Some("success"), 60).payload(), "stored").await;
        let first = report(&[("alpha", "0.1", ""), ("beta", "0.2", FAIL), ("gamma", "0.3", FLAKY), ("delta", "0", "<skipped/>")]);
        let (status, answer) = upload(&app, "repo=octo-org/app&run_id=100&attempt=1&job=unit", "application/xml", first).await;
        assert_eq!(status, 201, "{answer}");
        let retried = report(&[("alpha", "0.3", ""), ("beta", "0.4", ""), ("gamma", "0.1", ""), ("delta", "0.05", FAIL)]);
        let (status, answer) = upload(&app, "repo=octo-org/app&run_id=100&attempt=2&job=unit", "application/xml", retried).await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(app.builds().await.len(), 2, "uploads joined the delivered attempts");

        let (status, insights) = app.get("/api/insights/tests?window_days=1&repo=octo-org/app").await;
        assert_eq!(status, 200, "{insights}");
        // Most failing: beta 1 failure of 2 executions (rate 0.5); delta 1 of 1
        // (its skip is no execution for the rate: 1.0). Ties on failures go to
        // more executions: beta first. alpha and gamma never failed.
        let failing = &insights["most_failing"];
        assert_eq!(names(failing), ["beta", "delta"]);
        assert_eq!((&by_name(failing, "beta")["failures"], &by_name(failing, "beta")["executions"]), (&Value::from(1), &Value::from(2)));
        assert_eq!(by_name(failing, "beta")["failure_rate"], 0.5);
        assert_eq!(by_name(failing, "delta")["failure_rate"], 1.0);
        assert_eq!(by_name(failing, "beta")["classname"], "A");

        // Slowest by total: beta 200 + 400 = 600 ms; alpha 100 + 300 = 400 and
        // gamma 300 + 100 = 400 (tie: lower test id, alpha, first seen first);
        // delta 0 + 50 = 50.
        let slowest = &insights["slowest"];
        assert_eq!(names(slowest), ["beta", "alpha", "gamma", "delta"]);
        // Type 7 on two values x0 ≤ x1: p = x0 + p·(x1 − x0).
        // beta [200, 400]: p50 = 300, p95 = 200 + 0.95·200 = 390.
        let beta = by_name(slowest, "beta");
        assert_eq!((&beta["total_ms"], &beta["timed_executions"]), (&Value::from(600), &Value::from(2)));
        assert_eq!((beta["p50_ms"].as_f64(), beta["p95_ms"].as_f64()), (Some(300.0), Some(390.0)));
        // delta [0, 50]: p50 = 25, p95 = 47.5.
        let delta = by_name(slowest, "delta");
        assert_eq!((delta["p50_ms"].as_f64(), delta["p95_ms"].as_f64()), (Some(25.0), Some(47.5)));

        // Flaky: beta failed in attempt 1 and passed in attempt 2 (an attempt
        // flip) on the same commit (a commit flip): 0 + 1 + 1 = 2. gamma passed
        // after a flakyFailure (a rerun pass): 1. delta went skipped → failed:
        // never passed, not flaky. alpha always passed.
        let flaky = &insights["flaky"];
        assert_eq!(names(flaky), ["beta", "gamma"]);
        let beta = by_name(flaky, "beta");
        assert_eq!([&beta["rerun_passes"], &beta["attempt_flips"], &beta["commit_flips"]], [0, 1, 1]);
        let gamma = by_name(flaky, "gamma");
        assert_eq!([&gamma["rerun_passes"], &gamma["attempt_flips"], &gamma["commit_flips"]], [1, 0, 0]);

        // Narrowing: another job or branch has nothing.
        let (_, other) = app.get("/api/insights/tests?job=lint").await;
        assert_eq!(other["most_failing"], Value::Array(vec![]));
        let (_, other) = app.get("/api/insights/tests?branch=release").await;
        assert_eq!(other["slowest"], Value::Array(vec![]));
        let (status, _) = app.get("/api/insights/tests?window_days=0").await;
        assert_eq!(status, 422);

        // beta's history, newest first: passed in attempt 2, failed in attempt 1.
        let id = by_name(failing, "beta")["test_id"].clone();
        let (status, history) = app.get(&format!("/api/insights/tests/{id}")).await;
        assert_eq!(status, 200, "{history}");
        let strip: Vec<(i64, &str, i64)> = history["executions"]
            .as_array()
            .expect("executions")
            .iter()
            .map(|e| (e["run_attempt"].as_i64().expect("attempt"), e["outcome"].as_str().expect("outcome"), e["duration_ms"].as_i64().expect("ms")))
            .collect();
        assert_eq!(strip, [(2, "passed", 400), (1, "failed", 200)]);
        assert_eq!(history["executions"][0]["branch"], "main");
        let (status, _) = app.get("/api/insights/tests/999999").await;
        assert_eq!(status, 404);
    }
}
