//! The `flaky_test` alert rule end to end, driven by the periodic check,
//! delivered to a real HTTP receiver, on the uploaded dataset of
//! `crate::browser_tests_view::seed` (both back ends).

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
    // By hand (the seed's table; every upload within the last day, GitHub,
    // workflow CI, branch main, event push): beta has 2 flaky occurrences —
    // the attempt flip of run 100 (#1 failed, #2 passed) and the commit flip
    // on run 100's commit; gamma has 1 (a rerun pass in run 100 #1); delta
    // failed in run 100 and passed in run 101 (another run and commit: none);
    // alpha never passed after failing: none.
    // Rule "two" (at least 2) fires once, for beta. Rule "pr" (at least 1,
    // event pull_request), "release" (branch release) and "gitlab" (provider
    // gitlab) match nothing. Rule "any" is added later: at least 1 in the
    // last 5 minutes → beta and gamma, one alert each. A second check inside
    // the cooldown adds nothing. Uploading every report again changes nothing.
    async fn alerts_a_test_with_enough_flaky_occurrences(app: TestApp) {
        crate::browser_tests_view::seed(&app).await;
        // Duplicates: every report uploaded again, newest first, counts nothing twice.
        for (run_id, attempt, _, tests) in crate::browser_tests_view::uploads().into_iter().rev() {
            let (status, answer) = crate::browser_tests_view::upload_report(&app, run_id, attempt, &tests).await;
            assert!((200..300).contains(&status), "{answer}");
            assert_ne!(answer["files"][0]["outcome"], "applied", "{answer}");
        }
        let http = HttpSink::start().await;
        let mut config = json!({
            "channels": [{"id": "a", "type": "webhook", "url": http.url("/a")}],
            "rules": [
                {"id": "two", "kind": "flaky_test", "min_occurrences": 2, "channels": ["a"]},
                {"id": "pr", "kind": "flaky_test", "min_occurrences": 1, "event": "pull_request", "channels": ["a"]},
                {"id": "release", "kind": "flaky_test", "min_occurrences": 1, "branch": "release", "channels": ["a"]},
                {"id": "gitlab", "kind": "flaky_test", "min_occurrences": 1, "provider": "gitlab", "channels": ["a"]}
            ]
        });
        configure_ok(&app, &config).await;
        let store = other_store(&app).await;
        let now = Utc::now().timestamp();
        assert_eq!(periodic::check(&store, now).await.expect("check"), 1);
        let hits = http.wait_for("/a", 1, FIVE_SECONDS).await;
        let alert = hits[0].json();
        assert_eq!(alert["kind"], "flaky_test");
        assert_eq!(alert["title"], "Flaky test: octo-org/app · A.beta");
        assert_eq!(
            alert["reason"],
            "failed and passed 2 times in the last 1440 min (at least 2): 1 attempt flip, 1 commit flip"
        );
        assert_eq!(alert["build"]["branch"], "main", "{alert}");
        assert_eq!(periodic::check(&store, now + 60).await.expect("check"), 0, "cooldown");
        let alerts: Vec<Value> = alert_list(&app, "?kind=flaky_test").await;
        assert_eq!(alerts.len(), 1, "{alerts:?}");

        config["rules"].as_array_mut().expect("rules").push(
            json!({"id": "any", "kind": "flaky_test", "min_occurrences": 1, "window_minutes": 5, "channels": ["a"]}));
        configure_ok(&app, &config).await;
        // Checked at the real time again (the sender delivers alerts due by now).
        let later = Utc::now().timestamp();
        assert_eq!(periodic::check(&store, later).await.expect("check"), 2, "beta and gamma under rule any; two still quiet");
        let hits = http.wait_for("/a", 3, FIVE_SECONDS).await;
        let mut titles: Vec<String> = hits[1..].iter().map(|h| h.json()["title"].as_str().unwrap_or_default().to_owned()).collect();
        titles.sort();
        assert_eq!(titles, ["Flaky test: octo-org/app · A.beta", "Flaky test: octo-org/app · A.gamma"]);
        let gamma = hits[1..].iter().map(|h| h.json()).find(|a| a["title"].as_str().is_some_and(|t| t.ends_with("gamma"))).expect("gamma");
        assert_eq!(gamma["reason"], "failed and passed 1 times in the last 5 min (at least 1): 1 passed on a rerun");

        // Validation: min_occurrences is at least 1; an unknown kind names the new one.
        let bad = json!({"channels": [{"id": "a", "type": "webhook", "url": http.url("/a")}],
            "rules": [{"id": "f", "kind": "flaky_test", "min_occurrences": 0, "channels": ["a"]}]});
        let answer = app.admin.post(app.url("/api/alerts/configure")).json(&bad).send().await.expect("sent");
        assert_eq!(answer.status(), 422);
        let problem: Value = answer.json().await.expect("json");
        let fields: Vec<&str> = problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(fields, ["rules[0].min_occurrences"], "{problem}");
    }
}
