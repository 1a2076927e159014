//! The `queue_time` alert rule end to end, driven by the periodic check at
//! chosen times, delivered to a real HTTP receiver: one job waiting too
//! long (once per job, quiet per pipeline for the cooldown; approvals and
//! other labels ignored), and the queue p95 of a label set over a window.

use chrono::{DateTime, Utc};
use cicd_dashboard::alerts::periodic;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::alert_receivers::{FIVE_SECONDS, HttpSink, alert_list, configure_ok};
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

async fn job(
    app: &TestApp,
    id: i64,
    labels: &[&str],
    status: &str,
    created: DateTime<Utc>,
    started: DateTime<Utc>,
) {
    let run = Run::new(id, created);
    let mut payload = job_payload(id, &run, status, None, created, started, None);
    payload["workflow_job"]["labels"] = json!(labels);
    app.deliver_json("workflow_job", &payload, "stored").await;
}

async fn other_store(app: &TestApp) -> Store {
    Store::connect(&app.database_url, &Default::default()).await.expect("store").with_secrets(Some(
        cicd_dashboard::secret_box::SecretBox::from_key_text(crate::helpers::SECRET_KEY).expect("key"),
    ))
}

on_both_backends! {
    async fn alerts_queue_time_per_job_and_per_label_set_p95(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &json!({
            "channels": [
                {"id": "a", "type": "webhook", "url": http.url("/a")},
                {"id": "b", "type": "webhook", "url": http.url("/b")}
            ],
            "rules": [
                {"id": "job-wait", "kind": "queue_time", "queue_minutes": 15, "labels": "Ubuntu-*", "cooldown_minutes": 60, "channels": ["a"]},
                {"id": "p95", "kind": "queue_time", "queue_minutes": 2, "window_minutes": 60, "min_builds": 3, "labels": "self-hosted", "branch": "*", "channels": ["b"]}
            ]
        })).await;
        let ubuntu = ["ubuntu-latest"];
        job(&app, 1, &ubuntu, "queued", minutes_ago(25), minutes_ago(25)).await; // waits 25 min > 15
        job(&app, 2, &ubuntu, "queued", minutes_ago(5), minutes_ago(5)).await; // 5 min
        job(&app, 3, &["self-hosted", "gpu"], "queued", minutes_ago(40), minutes_ago(40)).await; // other labels
        job(&app, 4, &ubuntu, "waiting", minutes_ago(60), minutes_ago(60)).await; // an approval, not a runner
        // Self-hosted jobs started in the last hour, queued 60 s and 90 s.
        job(&app, 5, &["self-hosted", "linux"], "in_progress", minutes_ago(30), minutes_ago(29)).await;
        job(&app, 6, &["self-hosted", "linux"], "in_progress", minutes_ago(20), minutes_ago(20) + chrono::Duration::seconds(90)).await;

        let store = other_store(&app).await;
        let now = Utc::now().timestamp();
        assert_eq!(periodic::check(&store, now).await.expect("check"), 1, "job 1 only; p95 has 2 of 3 jobs");
        let hits = http.wait_for("/a", 1, FIVE_SECONDS).await;
        let alert = hits[0].json();
        assert_eq!(alert["kind"], "queue_time");
        assert_eq!(alert["title"], "Waiting for a runner: octo-org/app · job-1 (ubuntu-latest)");
        assert!(alert["reason"].as_str().expect("reason").starts_with("queued for 25m"), "{alert}");

        // A third self-hosted job queued 600 s: queues [60, 90, 600] →
        // p95 h = 1.9 → 90 + 0.9 · 510 = 549 s > 120 s.
        job(&app, 7, &["self-hosted", "linux"], "in_progress", minutes_ago(15), minutes_ago(5)).await;
        // (Checked at the same `now`: the sender delivers only alerts already due.)
        assert_eq!(periodic::check(&store, now).await.expect("check"), 1, "the p95; job 1 is not alerted twice");
        let hits = http.wait_for("/b", 1, FIVE_SECONDS).await;
        assert_eq!(hits[0].json()["title"], "Queue p95 9m 09s: runner labels linux, self-hosted");
        assert_eq!(periodic::check(&store, now + 120).await.expect("check"), 0, "both quiet");
        // 11 min later job 2 has waited 16 min, but its pipeline is in the cooldown.
        assert_eq!(periodic::check(&store, now + 11 * 60).await.expect("check"), 0, "cooldown");
        // Once job 2 has started it is no longer waiting.
        job(&app, 2, &ubuntu, "in_progress", minutes_ago(5), minutes_ago(1)).await;
        assert_eq!(periodic::check(&store, now + 61 * 60).await.expect("check"), 0, "nothing waits; the p95 window has moved on");
        let alerts: Vec<Value> = alert_list(&app, "?kind=queue_time").await;
        assert_eq!(alerts.len(), 2, "{alerts:?}");

        // Validation: queue_minutes is required, labels must be a glob.
        let bad = json!({"channels": [{"id": "a", "type": "webhook", "url": http.url("/a")}],
            "rules": [{"id": "q", "kind": "queue_time", "labels": "[", "channels": ["a"]}]});
        let answer = app.admin.post(app.url("/api/alerts/configure")).json(&bad).send().await.expect("sent");
        assert_eq!(answer.status(), 422);
        let problem: Value = answer.json().await.expect("json");
        let fields: Vec<&str> = problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(fields, ["rules[0].labels", "rules[0].queue_minutes"], "{problem}");
    }
}
