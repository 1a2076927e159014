//! The `flaky` alert rule end to end, driven by the periodic check,
//! delivered to a real HTTP receiver, on the flaky dataset of
//! `crate::flaky` (GitHub's "test" and GitLab's "test" each flaky once).

use chrono::Utc;
use cicd_dashboard::alerts::periodic;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::alert_receivers::{FIVE_SECONDS, HttpSink, alert_list, configure_ok};
use crate::helpers::TestApp;
use crate::on_both_backends;

async fn other_store(app: &TestApp) -> Store {
    Store::connect(&app.database_url, &Default::default()).await.expect("store").with_secrets(Some(
        cicd_dashboard::secret_box::SecretBox::from_key_text(crate::helpers::SECRET_KEY).expect("key"),
    ))
}

on_both_backends! {
    // By hand: in the last day, job key "test" of octo-org/app · CI has 1
    // flaky occurrence (run 501, 300 s wasted) and "test" of grp/app has 1
    // (180 s). Rule "one" (at least 1, repo octo-org/*) fires once for the
    // GitHub key; rule "two" (at least 2, any repo) never fires; a second
    // check inside the cooldown adds nothing.
    async fn alerts_flaky_job_key_with_enough_occurrences(app: TestApp) {
        crate::flaky::seed(&app).await;
        let http = HttpSink::start().await;
        configure_ok(&app, &json!({
            "channels": [{"id": "a", "type": "webhook", "url": http.url("/a")}],
            "rules": [
                {"id": "one", "kind": "flaky", "min_occurrences": 1, "repo": "octo-org/*", "channels": ["a"]},
                {"id": "two", "kind": "flaky", "min_occurrences": 2, "window_minutes": 1440, "branch": "*", "channels": ["a"]}
            ]
        })).await;
        let store = other_store(&app).await;
        let now = Utc::now().timestamp();
        assert_eq!(periodic::check(&store, now).await.expect("check"), 1);
        let hits = http.wait_for("/a", 1, FIVE_SECONDS).await;
        let alert = hits[0].json();
        assert_eq!(alert["kind"], "flaky");
        assert_eq!(alert["title"], "Flaky job: octo-org/app · CI / test");
        assert_eq!(
            alert["reason"],
            "failed, then passed on the next attempt 1 times in the last 1440 min (at least 1); 5m 00s of runner time wasted"
        );
        assert_eq!(periodic::check(&store, now + 60).await.expect("check"), 0, "cooldown");
        let alerts: Vec<Value> = alert_list(&app, "?kind=flaky").await;
        assert_eq!(alerts.len(), 1, "{alerts:?}");

        // Validation: min_occurrences is at least 1.
        let bad = json!({"channels": [{"id": "a", "type": "webhook", "url": http.url("/a")}],
            "rules": [{"id": "f", "kind": "flaky", "min_occurrences": 0, "channels": ["a"]}]});
        let answer = app.admin.post(app.url("/api/alerts/configure")).json(&bad).send().await.expect("sent");
        assert_eq!(answer.status(), 422);
        let problem: Value = answer.json().await.expect("json");
        let fields: Vec<&str> = problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(fields, ["rules[0].min_occurrences"], "{problem}");
    }
}
