//! Alert rules end to end: edges (`started_failing`, `recovered`),
//! `build_failed` with and without cancelled runs, and the cooldown rules
//! (`slow_build` on ingest; `failure_rate` and `stuck` by the periodic
//! check, driven here at chosen times).

use std::time::Duration;

use chrono::Utc;
use cicd_dashboard::alerts::periodic;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::alert_receivers::{FIVE_SECONDS, HttpSink, QUIET, alert_list, configure_ok, wait_for_alerts};
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

/// Webhook channels `a` and `b` (paths `/a`, `/b`) and the given rules.
fn config(http: &HttpSink, rules: Value) -> Value {
    json!({
        "channels": [
            {"id": "a", "type": "webhook", "url": http.url("/a")},
            {"id": "b", "type": "webhook", "url": http.url("/b")}
        ],
        "rules": rules
    })
}

fn kinds(hits: &[crate::alert_receivers::Hit]) -> Vec<String> {
    hits.iter().map(|h| h.json()["kind"].as_str().unwrap_or("").to_owned()).collect()
}

fn run(id: i64, minutes: i64, conclusion: &str, seconds: i64) -> Value {
    Run::new(id, minutes_ago(minutes)).at("completed", Some(conclusion), seconds).payload()
}

async fn other_store(app: &TestApp) -> Store {
    Store::connect(&app.database_url, &Default::default()).await.expect("store").with_secrets(Some(
        cicd_dashboard::secret_box::SecretBox::from_key_text(crate::helpers::SECRET_KEY).expect("key"),
    ))
}

on_both_backends! {
    async fn alerts_fail_fail_fail_is_one_started_failing_then_success_is_one_recovered(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &config(&http, json!([
            {"id": "breaks", "kind": "started_failing", "channels": ["a"]},
            {"id": "fixed", "kind": "recovered", "channels": ["a"]}
        ]))).await;
        app.deliver_json("workflow_run", &run(1, 50, "success", 60), "stored").await;
        for (id, minutes) in [(2, 40), (3, 30), (4, 20)] {
            app.deliver_json("workflow_run", &run(id, minutes, "failure", 60), "stored").await;
        }
        let hits = http.wait_for("/a", 1, FIVE_SECONDS).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(kinds(&http.hits("/a")), ["started_failing"]);
        assert_eq!(hits[0].json()["build"]["run_number"], 2, "the first failure");

        let before = Instant::now();
        app.deliver_json("workflow_run", &run(5, 10, "success", 60), "stored").await;
        let hits = http.wait_for("/a", 2, FIVE_SECONDS).await;
        eprintln!("recovered alert latency: {:?}", hits.last().map(|h| h.at - before));
        tokio::time::sleep(QUIET).await;
        assert_eq!(kinds(&http.hits("/a")), ["started_failing", "recovered"]);
        assert_eq!(http.hits("/a")[1].json()["build"]["run_number"], 5);
        // Another success is no edge; a cancelled run neither breaks nor fixes.
        app.deliver_json("workflow_run", &run(6, 5, "success", 60), "stored").await;
        app.deliver_json("workflow_run", &run(7, 4, "cancelled", 60), "stored").await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(http.hits("/a").len(), 2);
        // Other branches are not the default branch: no rule applies.
        let mut feature = Run::new(8, minutes_ago(3)).at("completed", Some("failure"), 60);
        feature.branch = "feature/x".into();
        app.deliver_json("workflow_run", &feature.payload(), "stored").await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(http.hits("/a").len(), 2);
    }

    async fn alerts_recovered_is_suppressed_when_no_failure_alert_was_sent(app: TestApp) {
        let http = HttpSink::start().await;
        app.deliver_json("workflow_run", &run(1, 30, "failure", 60), "stored").await;
        // The rules come after the failure: nothing was sent for that streak.
        configure_ok(&app, &config(&http, json!([
            {"id": "breaks", "kind": "started_failing", "channels": ["a"]},
            {"id": "fixed", "kind": "recovered", "channels": ["a"]}
        ]))).await;
        app.deliver_json("workflow_run", &run(2, 20, "success", 60), "stored").await;
        tokio::time::sleep(QUIET).await;
        assert!(http.hits("/a").is_empty());
        let alerts = alert_list(&app, "").await;
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!((alerts[0]["kind"].as_str(), alerts[0]["status"].as_str()), (Some("recovered"), Some("suppressed")));
        assert_eq!(alerts[0]["error"], "no failure alert was sent for this failure streak");
        assert_eq!(alerts[0]["attempts"], 0);
    }

    async fn alerts_cancelled_runs_alert_only_when_the_rule_asks(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &config(&http, json!([
            {"id": "failures", "kind": "build_failed", "channels": ["a"]},
            {"id": "failures-and-cancels", "kind": "build_failed", "include_cancelled": true, "channels": ["b"]}
        ]))).await;
        app.deliver_json("workflow_run", &run(1, 30, "cancelled", 60), "stored").await;
        let hits = http.wait_for("/b", 1, FIVE_SECONDS).await;
        assert_eq!(hits[0].json()["title"], "Build cancelled: octo-org/app · CI on main #1");
        app.deliver_json("workflow_run", &run(2, 20, "timed_out", 60), "stored").await;
        http.wait_for("/b", 2, FIVE_SECONDS).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(http.hits("/a").len(), 1, "only the timed-out run on the rule without cancelled");
        assert_eq!(http.hits("/a")[0].json()["build"]["conclusion"], "timed_out");
        assert_eq!(http.hits("/b").len(), 2);
    }

    async fn alerts_slow_build_fires_once_per_cooldown(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &config(&http, json!([
            {"id": "slow", "kind": "slow_build", "duration_seconds": 300, "cooldown_minutes": 60, "channels": ["a"]},
            {"id": "slower-than-usual", "kind": "slow_build", "threshold": 2.0, "min_builds": 5, "branch": "release", "channels": ["b"]}
        ]))).await;
        app.deliver_json("workflow_run", &run(1, 50, "success", 600), "stored").await;
        app.deliver_json("workflow_run", &run(2, 40, "failure", 900), "stored").await;
        app.deliver_json("workflow_run", &run(3, 30, "success", 100), "stored").await;
        let hits = http.wait_for("/a", 1, FIVE_SECONDS).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(http.hits("/a").len(), 1, "the second slow build is inside the cooldown");
        assert_eq!(hits[0].json()["reason"], "took 10m 00s, over the limit of 5m 00s");

        // A multiple of the recent p95: needs 5 earlier builds, then 2 × p95.
        for (i, seconds) in [60, 62, 58, 61, 59, 200].into_iter().enumerate() {
            let mut release = Run::new(100 + i as i64, minutes_ago(20 - i as i64)).at("completed", Some("success"), seconds);
            release.branch = "release".into();
            app.deliver_json("workflow_run", &release.payload(), "stored").await;
        }
        let hits = http.wait_for("/b", 1, FIVE_SECONDS).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(http.hits("/b").len(), 1);
        assert_eq!(hits[0].json()["build"]["duration_seconds"], 200);
    }

    async fn alerts_failure_rate_fires_once_and_respects_its_cooldown(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &config(&http, json!([
            {"id": "flaky", "kind": "failure_rate", "threshold": 0.5, "window_minutes": 60, "min_builds": 4,
             "cooldown_minutes": 30, "channels": ["a"]}
        ]))).await;
        for (id, conclusion) in [(1, "failure"), (2, "failure"), (3, "success")] {
            app.deliver_json("workflow_run", &run(id, 20 - id, conclusion, 60), "stored").await;
        }
        let store = other_store(&app).await;
        let now = Utc::now().timestamp();
        assert_eq!(periodic::check(&store, now).await.expect("check"), 0, "3 builds are under min_builds");
        app.deliver_json("workflow_run", &run(4, 15, "failure", 60), "stored").await;
        assert_eq!(periodic::check(&store, now).await.expect("check"), 1, "3 of 4 failed");
        let hits = http.wait_for("/a", 1, FIVE_SECONDS).await;
        assert_eq!(hits[0].json()["title"], "Failure rate 75%: octo-org/app · CI on main");
        assert_eq!(periodic::check(&store, now + 60).await.expect("check"), 0, "cooldown");
        assert_eq!(periodic::check(&store, now + 29 * 60).await.expect("check"), 0, "cooldown");
        assert_eq!(periodic::check(&store, now + 31 * 60).await.expect("check"), 1, "after the cooldown");
        let alerts = alert_list(&app, "?kind=failure_rate").await;
        assert_eq!(alerts.len(), 2);
        assert!(alerts.iter().all(|a| a["build_id"].is_null() && a["repo"] == "octo-org/app"));
    }

    async fn alerts_stuck_fires_once_per_attempt_and_respects_its_cooldown(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &config(&http, json!([
            {"id": "down", "kind": "stuck", "stuck_minutes": 30, "cooldown_minutes": 60, "channels": ["a"]}
        ]))).await;
        let running = |id: i64, minutes: i64, status: &str| Run::new(id, minutes_ago(minutes)).at(status, None, 0).payload();
        app.deliver_json("workflow_run", &running(1, 45, "in_progress"), "stored").await;
        app.deliver_json("workflow_run", &running(2, 40, "queued"), "stored").await;
        app.deliver_json("workflow_run", &running(3, 5, "in_progress"), "stored").await;
        let store = other_store(&app).await;
        let now = Utc::now().timestamp();
        assert_eq!(periodic::check(&store, now).await.expect("check"), 1, "one alert per pipeline per cooldown");
        let hits = http.wait_for("/a", 1, FIVE_SECONDS).await;
        let alert = hits[0].json();
        assert_eq!((alert["kind"].as_str(), alert["build"]["run_number"].as_i64()), (Some("stuck"), Some(1)));
        assert!(alert["reason"].as_str().expect("reason").starts_with("running for 45m"), "{alert}");
        assert_eq!(periodic::check(&store, now + 120).await.expect("check"), 0);
        // After the cooldown: the next stuck attempt (run 1 was alerted already).
        assert_eq!(periodic::check(&store, now + 61 * 60).await.expect("check"), 1);
        let alerts = alert_list(&app, "?kind=stuck").await;
        let runs: Vec<i64> = alerts.iter().filter_map(|a| a["build_id"].as_i64()).collect();
        assert_eq!(runs.len(), 2);
        assert_ne!(runs[0], runs[1]);
        // A finished attempt is no longer stuck.
        app.deliver_json("workflow_run", &Run::new(2, minutes_ago(40)).at("completed", Some("success"), 60).payload(), "stored").await;
        app.deliver_json("workflow_run", &Run::new(3, minutes_ago(5)).at("completed", Some("success"), 60).payload(), "stored").await;
        assert_eq!(periodic::check(&store, now + 200 * 60).await.expect("check"), 0);
        let _ = wait_for_alerts(&app, "?status=pending", Duration::from_secs(3), |l| l.is_empty()).await;
    }
}
