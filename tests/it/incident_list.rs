//! `GET /api/incidents` over HTTP on both back ends, on a hand-worked set:
//!
//! | id | repository | environment | opened | resolved | in 7 d? |
//! |---|---|---|---|---|---|
//! | OLD | acme/web | – | 10 d ago | 9 d ago | no (resolved before the window) |
//! | LONG | acme/web | – | 10 d ago | 2 h ago | yes, resolved, 10 d − 2 h long |
//! | ALL | – | – | 3 h ago | open | yes, open, about every repository |
//! | API | acme/api | staging | 1 h ago | 30 min ago | yes, resolved, 1 800 s |
//!
//! Newest opening first: API, ALL, LONG. `repo=acme/web` keeps LONG and
//! ALL (about every repository); `status=open` keeps ALL;
//! `environment=production` keeps LONG and ALL (no environment: every
//! production one), not API (staging); `environment=staging` keeps only
//! API (an incident without an environment is not about staging).
//!
//! DORA: one successful deployment of acme/web to production and one to
//! staging, each 4 h ago. ALL (opened 3 h ago, no environment) marks the
//! production one (change failure rate 1/1) and is its outage; staging's
//! figures have no failed change (0/1) and no outage but API's (1 800 s).

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let (status, body) = app.get(&format!("/api/incidents?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

on_both_backends! {
    async fn incidents_of_a_window_are_listed_newest_first_with_filters(app: TestApp) {
        let now = Utc::now();
        let incidents = [
            json!({"id": "OLD", "repository": "acme/web", "opened_at": ts(now - Duration::days(10)), "resolved_at": ts(now - Duration::days(9))}),
            json!({"id": "LONG", "repository": "acme/web", "title": "slow checkout", "opened_at": ts(now - Duration::days(10)), "resolved_at": ts(now - Duration::hours(2))}),
            json!({"id": "ALL", "title": "CDN down", "url": "https://status.example.com/1", "opened_at": ts(now - Duration::hours(3))}),
            json!({"id": "API", "repository": "acme/api", "environment": "staging", "opened_at": ts(now - Duration::hours(1)), "resolved_at": ts(now - Duration::minutes(30))}),
        ];
        for incident in &incidents {
            let response = app.admin.post(app.url("/api/incidents")).json(incident).send().await.expect("post");
            assert_eq!(response.status(), 201, "{incident}");
        }
        let (status, body) = app.get("/api/incidents").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["window_days"], 7);
        assert_eq!(body["truncated"], false);
        let listed = body["incidents"].as_array().expect("incidents");
        let got: Vec<&str> = listed.iter().map(|i| i["id"].as_str().expect("id")).collect();
        assert_eq!(got, ["API", "ALL", "LONG"], "{body}");
        assert_eq!(listed[0]["status"], "resolved");
        assert_eq!(listed[0]["environment"], "staging");
        assert_eq!(listed[0]["duration_seconds"], 1800);
        assert_eq!(listed[1]["status"], "open");
        assert_eq!(listed[1]["repository"], Value::Null);
        assert_eq!(listed[1]["url"], "https://status.example.com/1");
        assert_eq!(listed[1]["resolved_at"], Value::Null);
        let open_for = listed[1]["duration_seconds"].as_i64().expect("seconds");
        assert!((3 * 3600..3 * 3600 + 120).contains(&open_for), "open for about 3 h: {open_for}");
        assert_eq!(listed[2]["duration_seconds"], 10 * 86_400 - 2 * 3600);
        assert_eq!(listed[2]["title"], "slow checkout");

        assert_eq!(ids(&app, "repo=acme/web").await, ["ALL", "LONG"]);
        assert_eq!(ids(&app, "status=open").await, ["ALL"]);
        assert_eq!(ids(&app, "status=resolved&repo=acme/api").await, ["API"]);
        assert_eq!(ids(&app, "environment=production").await, ["ALL", "LONG"]);
        assert_eq!(ids(&app, "environment=staging").await, ["API"]);

        for (key, environment) in [("prod-1", "production"), ("staging-1", "staging")] {
            let event = json!({"idempotency_key": key, "type": "deployment", "provider": "jenkins",
                "repository": "acme/web", "deployment_id": key, "environment": environment,
                "status": "success", "status_at": ts(now - Duration::hours(4))});
            let (status, answer) = crate::build_events::post(&app, &event).await;
            assert_eq!(status, 200, "{answer}");
        }
        let (_, production) = app.get("/api/dora?window_days=1&environment=production&repo=acme/web").await;
        let current = &production["current"];
        assert_eq!(current["change_failure_rate"]["deployments"], 1, "{production}");
        assert_eq!(current["change_failure_rate"]["rate"], 1.0, "{production}");
        let (_, staging) = app.get("/api/dora?window_days=1&environment=staging&repo=acme/web").await;
        let current = &staging["current"];
        assert_eq!(current["change_failure_rate"]["deployments"], 1, "{staging}");
        assert_eq!(current["change_failure_rate"]["rate"], 0.0, "ALL is not about staging: {staging}");
        assert_eq!(ids(&app, "window_days=30").await, ["API", "ALL", "LONG", "OLD"]);
        let (_, page) = app.get("/api/incidents?limit=2").await;
        assert_eq!((page["incidents"].as_array().map(Vec::len), page["truncated"].as_bool()), (Some(2), Some(true)));

        // Opened now (no opened_at): listed at once, within the same second.
        let response = app.admin.post(app.url("/api/incidents")).json(&json!({"id": "NOW"})).send().await.expect("post");
        assert_eq!(response.status(), 201);
        assert_eq!(ids(&app, "status=open").await, ["NOW", "ALL"]);

        // Contradictory or runaway input is refused, naming the field.
        for (body, field) in [
            (json!({"id": "C", "status": "open", "resolved_at": ts(now - Duration::hours(1))}), "status"),
            (json!({"id": "F", "opened_at": "2099-01-01T00:00:00Z"}), "opened_at"),
            (json!({"id": "Z", "opened_at": "1970-01-01T00:00:00Z"}), "opened_at"),
            (json!({"id": "R", "resolved_at": ts(now + Duration::days(3))}), "resolved_at"),
            (json!({"id": " "}), "id"),
        ] {
            let response = app.admin.post(app.url("/api/incidents")).json(&body).send().await.expect("post");
            assert_eq!(response.status(), 422, "{body}");
            let problem: Value = response.json().await.expect("problem");
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
            let message = problem["errors"][0]["message"].as_str().expect("message");
            assert!(!message.contains("leave it out"), "a required field: {message}");
        }
        assert_eq!(ids(&app, "window_days=30").await.len(), 5, "none of them stored");

        for bad in ["status=closed", "limit=0", "window_days=400", "repo=a&repo=b"] {
            let (status, problem) = app.get(&format!("/api/incidents?{bad}")).await;
            assert_eq!(status, 422, "{bad}: {problem}");
            assert_eq!(problem["type"], "urn:cicd-dashboard:problem:invalid-parameter", "{bad}");
        }
    }
}
