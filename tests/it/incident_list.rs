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
//! one), not API (staging).

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
        assert_eq!(ids(&app, "window_days=30").await, ["API", "ALL", "LONG", "OLD"]);
        let (_, page) = app.get("/api/incidents?limit=2").await;
        assert_eq!((page["incidents"].as_array().map(Vec::len), page["truncated"].as_bool()), (Some(2), Some(true)));

        for bad in ["status=closed", "limit=0", "window_days=400", "repo=a&repo=b"] {
            let (status, problem) = app.get(&format!("/api/incidents?{bad}")).await;
            assert_eq!(status, 422, "{bad}: {problem}");
            assert_eq!(problem["type"], "urn:cicd-dashboard:problem:invalid-parameter", "{bad}");
        }
    }
}
