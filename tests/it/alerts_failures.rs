//! Failure alerts carry why the build failed, on both back ends: the
//! failed job, its first error line and its signature's history when the
//! job's reason is recorded before the run completes — or, with
//! `wait_for_reason_seconds`, when it is recorded within that wait — and rules with
//! `failure_class` routing infrastructure and code failures to different
//! channels. Bad `failure_class` values are refused.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::config::FailureSettings;
use cicd_dashboard::domain::failure::Classifier;
use cicd_dashboard::providers::failure_fetch::FailureFetch;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::alert_receivers::{FIVE_SECONDS, HttpSink, QUIET, configure, configure_ok};
use crate::build_events::post;
use crate::helpers::TestApp;
use crate::on_both_backends;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn run_event(run: &str, branch: &str, status: &str, at: DateTime<Utc>) -> Value {
    let mut event = json!({"idempotency_key": format!("{run}-{status}"), "type": "run", "provider": "jenkins",
        "repository": "acme/app", "workflow": "pipeline", "run_id": run, "status": status, "branch": branch,
        "started_at": ts(at - Duration::seconds(60))});
    if status == "completed" {
        event["conclusion"] = json!("failure");
        event["completed_at"] = json!(ts(at));
    }
    event
}

/// Run `run` on `branch`: its job `test` fails with `message` recorded as
/// its reason before the run completes.
async fn failing_run(
    app: &TestApp,
    fetch: &FailureFetch,
    run: &str,
    branch: &str,
    message: &str,
    at: DateTime<Utc>,
) {
    let job = json!({"idempotency_key": format!("{run}-job"), "type": "job", "provider": "jenkins",
        "repository": "acme/app", "run_id": run, "job_id": format!("{run}-test"), "name": "test",
        "status": "completed", "conclusion": "failure", "started_at": ts(at - Duration::seconds(50)), "completed_at": ts(at)});
    let (status, body) =
        post(app, &json!({"events": [run_event(run, branch, "in_progress", at), job]})).await;
    assert_eq!(status, 200, "{body}");
    for pending in fetch.store.failures().pending(0, 10).await.expect("pending") {
        fetch.save(&pending, &[message.to_owned()], None, at.timestamp()).await.expect("save");
    }
    let (status, body) = post(app, &run_event(run, branch, "completed", at)).await;
    assert_eq!(status, 200, "{body}");
}

on_both_backends! {
    async fn failure_alerts_name_job_error_and_history_and_route_by_class(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &json!({
            "channels": [
                {"id": "all", "type": "webhook", "url": http.url("/all")},
                {"id": "code", "type": "webhook", "url": http.url("/code")},
                {"id": "infra", "type": "webhook", "url": http.url("/infra")}
            ],
            "rules": [
                {"id": "every", "kind": "build_failed", "channels": ["all"], "branch": "*"},
                {"id": "ours", "kind": "build_failed", "channels": ["code"], "branch": "*", "failure_class": "code"},
                {"id": "theirs", "kind": "build_failed", "channels": ["infra"], "branch": "*", "failure_class": "infrastructure"}
            ]
        })).await;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let fetch = FailureFetch { store, classifier: Arc::new(Classifier::new(&[]).expect("classifier")),
            settings: FailureSettings::default() };
        let now = Utc::now();
        failing_run(&app, &fetch, "p1", "main", "error: boom at src/x.rs:1", now - Duration::hours(2)).await;
        failing_run(&app, &fetch, "p2", "feature", "error: boom at src/y.rs:22", now - Duration::hours(1)).await;
        failing_run(&app, &fetch, "p3", "main", "npm ERR! code ECONNRESET", now - Duration::minutes(5)).await;
        let all = http.wait_for("/all", 3, FIVE_SECONDS).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(http.hits("/all").len(), 3);
        let failures: Vec<Value> = all.iter().map(|h| h.json()["failure"].clone()).collect();
        assert_eq!(failures[0]["job"], "test");
        assert_eq!(failures[0]["error_line"], "error: boom at src/x.rs:1");
        assert_eq!(failures[0]["signature_history"], "seen once in the last 7 days, not in other builds before");
        assert_eq!(failures[1]["error_line"], "error: boom at src/y.rs:22");
        assert_eq!(failures[1]["signature_history"], "seen 2 times in the last 7 days, last on main");
        assert_eq!(failures[1]["class"], "code");
        assert_eq!((failures[2]["class"].as_str(), failures[2]["error_line"].as_str()), (Some("infrastructure"), Some("npm ERR! code ECONNRESET")));
        // Routing by class: code failures to one channel, infrastructure to the other.
        let code: Vec<String> = http.hits("/code").iter().map(|h| h.json()["failure"]["error_line"].as_str().unwrap_or("").to_owned()).collect();
        assert_eq!(code, ["error: boom at src/x.rs:1", "error: boom at src/y.rs:22"]);
        let infra = http.hits("/infra");
        assert_eq!(infra.len(), 1);
        assert_eq!(infra[0].json()["build"]["branch"], "main");
    }

    async fn a_failure_alert_can_wait_for_the_reason_recorded_after_the_run(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &json!({
            "channels": [
                {"id": "now", "type": "webhook", "url": http.url("/now")},
                {"id": "later", "type": "webhook", "url": http.url("/later")}
            ],
            "rules": [
                {"id": "at-once", "kind": "build_failed", "channels": ["now"], "branch": "*"},
                {"id": "waits", "kind": "build_failed", "channels": ["later"], "branch": "*", "wait_for_reason_seconds": 3}
            ]
        })).await;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let fetch = FailureFetch { store, classifier: Arc::new(Classifier::new(&[]).expect("classifier")),
            settings: FailureSettings::default() };
        // The run completes before its failed job's reason is recorded.
        let at = Utc::now() - Duration::minutes(1);
        let job = json!({"idempotency_key": "w1-job", "type": "job", "provider": "jenkins",
            "repository": "acme/app", "run_id": "w1", "job_id": "w1-test", "name": "test",
            "status": "completed", "conclusion": "failure", "started_at": ts(at - Duration::seconds(50)), "completed_at": ts(at)});
        let (status, body) = post(&app, &json!({"events": [run_event("w1", "main", "in_progress", at), job]})).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = post(&app, &run_event("w1", "main", "completed", at)).await;
        assert_eq!(status, 200, "{body}");
        // The rule without a wait sends at once, without an error line.
        let now = http.wait_for("/now", 1, FIVE_SECONDS).await;
        assert_eq!(now[0].json()["failure"]["job"], "test");
        assert_eq!(now[0].json()["failure"]["error_line"], Value::Null, "{}", now[0].json());
        assert!(http.hits("/later").is_empty(), "the waiting rule holds its alert");
        // The reason arrives (as the failure-reasons job or a fetch records it).
        for pending in fetch.store.failures().pending(0, 10).await.expect("pending") {
            fetch.save(&pending, &["error: linker failed at target/x.o".to_owned()], None, at.timestamp()).await.expect("save");
        }
        let later = http.wait_for("/later", 1, FIVE_SECONDS + FIVE_SECONDS).await;
        let failure = &later[0].json()["failure"];
        assert_eq!(failure["error_line"], "error: linker failed at target/x.o", "{failure}");
        assert_eq!(failure["signature_history"], "seen once in the last 7 days, not in other builds before");

        // A run, its failed job and its completion in one request: the
        // alert still names the failed job.
        let job = json!({"idempotency_key": "w2-job", "type": "job", "provider": "jenkins",
            "repository": "acme/app", "run_id": "w2", "job_id": "w2-test", "name": "test",
            "status": "completed", "conclusion": "failure", "started_at": ts(at - Duration::seconds(50)), "completed_at": ts(at)});
        let (status, body) = post(&app, &json!({"events": [run_event("w2", "main", "in_progress", at), job,
            run_event("w2", "main", "completed", at)]})).await;
        assert_eq!(status, 200, "{body}");
        let now = http.wait_for("/now", 2, FIVE_SECONDS).await;
        assert_eq!(now[1].json()["failure"]["job"], "test", "{}", now[1].json());
    }

    async fn a_bad_failure_class_is_refused(app: TestApp) {
        let channels = json!([{"id": "a", "type": "webhook", "url": "https://hooks.example.com/a"}]);
        for (rule, field) in [
            (json!({"id": "r", "kind": "build_failed", "channels": ["a"], "failure_class": "network"}), "rules[0].failure_class"),
            (json!({"id": "r", "kind": "failure_rate", "channels": ["a"], "threshold": 0.5, "failure_class": "code"}), "rules[0].failure_class"),
            (json!({"id": "r", "kind": "build_failed", "channels": ["a"], "wait_for_reason_seconds": 901}), "rules[0].wait_for_reason_seconds"),
            (json!({"id": "r", "kind": "failure_rate", "channels": ["a"], "threshold": 0.5, "wait_for_reason_seconds": 60}), "rules[0].wait_for_reason_seconds"),
        ] {
            let (status, body) = configure(&app, &json!({"channels": channels, "rules": [rule]})).await;
            assert_eq!(status, 422, "{body}");
            assert!(body.to_string().contains(field), "{body}");
        }
    }
}
