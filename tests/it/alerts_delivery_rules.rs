//! The `deployment_failed` and `change_failure_rate` alert rules, driven by
//! the delivery check at chosen times on both back ends, delivered to a
//! real HTTP receiver.
//!
//! Dataset (generic `deployment` events, jenkins): acme/web production
//! d1 success 50 min ago, d2 failure 40 min ago, d3 success 30 min ago,
//! d4 failure 20 min ago; staging s1 failure 10 min ago (not production).
//! deployment_failed: d2 and d4 → 2 alerts, once each. CFR of acme/web:
//! failed changes d2, d4 of 4 → 0.5 > 0.4 with 4 ≥ min 3 → 1 alert, then
//! quiet for the cooldown.

use chrono::{DateTime, Utc};
use cicd_dashboard::alerts::delivery_rule;
use cicd_dashboard::metrics::dora::config::Environments;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::alert_receivers::{FIVE_SECONDS, HttpSink, alert_list, configure_ok};
use crate::build_events::post;
use crate::on_both_backends;
use crate::payloads::minutes_ago;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn deployment(id: &str, environment: &str, status: &str, minutes: i64) -> Value {
    json!({
        "idempotency_key": format!("alert-{id}"), "type": "deployment", "provider": "jenkins",
        "repository": "acme/web", "deployment_id": id, "environment": environment, "status": status,
        "status_at": ts(minutes_ago(minutes)), "commit": format!("{id:0>40}"),
    })
}

on_both_backends! {
    async fn alerts_on_failed_production_deployments_and_the_change_failure_rate(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &json!({
            "channels": [
                {"id": "a", "type": "webhook", "url": http.url("/a")},
                {"id": "b", "type": "webhook", "url": http.url("/b")}
            ],
            "rules": [
                {"id": "failed", "kind": "deployment_failed", "repo": "acme/*", "channels": ["a"]},
                {"id": "cfr", "kind": "change_failure_rate", "threshold": 0.4, "min_builds": 3, "window_minutes": 120, "cooldown_minutes": 60, "channels": ["b"]}
            ]
        })).await;
        let events = json!([
            deployment("d1", "production", "success", 50),
            deployment("d2", "production", "failure", 40),
            deployment("d3", "production", "success", 30),
            deployment("d4", "production", "failure", 20),
            deployment("s1", "staging", "failure", 10),
        ]);
        let (status, answer) = post(&app, &events).await;
        assert_eq!(status, 200, "{answer}");

        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store").with_secrets(Some(
            cicd_dashboard::secret_box::SecretBox::from_key_text(crate::helpers::SECRET_KEY).expect("key"),
        ));
        let production = Environments::default();
        let now = Utc::now().timestamp();
        assert_eq!(delivery_rule::check(&store, &production, now).await.expect("check"), 3, "d2, d4 and the rate");
        let hits = http.wait_for("/a", 2, FIVE_SECONDS).await;
        assert!(hits.iter().all(|h| h.json()["kind"] == "deployment_failed"));
        assert_eq!(hits[0].json()["title"], "Deployment failed: acme/web to production");
        let rate = http.wait_for("/b", 1, FIVE_SECONDS).await;
        assert_eq!(rate[0].json()["title"], "Change failure rate 50%: acme/web");
        assert_eq!(delivery_rule::check(&store, &production, now + 60).await.expect("check"), 0, "once each; cooldown");
        assert_eq!(alert_list(&app, "?kind=deployment_failed").await.len(), 2);

        // change_failure_rate needs a threshold between 0 and 1.
        let bad = json!({"channels": [{"id": "a", "type": "webhook", "url": http.url("/a")}],
            "rules": [{"id": "c", "kind": "change_failure_rate", "threshold": 2, "channels": ["a"]}]});
        let answer = app.admin.post(app.url("/api/alerts/configure")).json(&bad).send().await.expect("sent");
        assert_eq!(answer.status(), 422);
    }
}
