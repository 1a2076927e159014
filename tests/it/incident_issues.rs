//! GitHub issues carrying the incident label as incidents, over HTTP on
//! both back ends: the `issues` webhook opens and resolves them
//! (closed, unlabeled), repeats and any order converge, issues without the
//! label are only recorded, and the DORA figures count them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::payloads::minutes_ago;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An `issues` delivery shaped like GitHub's (the fields this dashboard
/// reads, plus the usual neighbours).
fn issue_event(
    action: &str,
    id: u64,
    labels: &[&str],
    label: Option<&str>,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    closed: Option<DateTime<Utc>>,
) -> Value {
    let labels: Vec<Value> =
        labels.iter().map(|name| json!({"id": 1, "name": name, "color": "d73a4a"})).collect();
    let mut event = json!({
        "action": action,
        "issue": {
            "id": id, "number": id % 1000, "title": format!("Checkout down ({id})"),
            "html_url": format!("https://github.com/acme/web/issues/{}", id % 1000),
            "state": if closed.is_some() { "closed" } else { "open" },
            "labels": labels, "created_at": ts(created), "updated_at": ts(updated),
            "closed_at": closed.map(ts),
        },
        "repository": {"id": 1296269, "full_name": "acme/web"},
        "sender": {"login": "octocat"}
    });
    if let Some(name) = label {
        event["label"] = json!({"id": 1, "name": name, "color": "d73a4a"});
    }
    event
}

fn deployment_status(id: u64, state: &str, at: DateTime<Utc>) -> Value {
    json!({
        "action": "created",
        "deployment": {"id": id, "sha": format!("{id:0>40}"), "ref": "main", "environment": "production",
                       "created_at": ts(at - Duration::minutes(5)), "url": format!("https://api.github.com/repos/acme/web/deployments/{id}")},
        "deployment_status": {"state": state, "created_at": ts(at), "updated_at": ts(at)},
        "repository": {"full_name": "acme/web"}
    })
}

on_both_backends! {
    // Deployment 1 of acme/web succeeds 4 h ago. Issue 501 (label
    // `incident`) opened 3 h ago, closed 2 h ago (delivered closed first,
    // then opened, then closed again): 3600 s. Issue 502 opened 90 min ago
    // without the label, labeled 80 min ago (created_at counts: 90 min
    // ago), unlabeled with updated_at 60 min ago: 1800 s. Issue 503
    // without the label: only recorded.
    //
    // Time to restore: [1800, 3600] → median 2700, 2 restored. Change
    // failure rate: deployment 1 was followed by an incident before any
    // next success → 1 / 1.
    async fn labelled_issues_are_incidents(app: TestApp) {
        let base = minutes_ago(0);
        let ago = |minutes: i64| base - Duration::minutes(minutes);
        app.deliver_json("deployment_status", &deployment_status(1, "success", ago(240)), "stored").await;

        let closed = issue_event("closed", 501, &["incident", "bug"], None, ago(180), ago(120), Some(ago(120)));
        let opened = issue_event("opened", 501, &["incident"], None, ago(180), ago(180), None);
        app.deliver_json("issues", &closed, "stored").await;
        app.deliver_json("issues", &opened, "stored").await;
        app.deliver_json("issues", &closed, "stored").await;

        let plain = issue_event("opened", 502, &[], None, ago(90), ago(90), None);
        app.deliver_json("issues", &plain, "ignored").await;
        let labeled = issue_event("labeled", 502, &["Incident"], Some("Incident"), ago(90), ago(80), None);
        app.deliver_json("issues", &labeled, "stored").await;
        let unlabeled = issue_event("unlabeled", 502, &[], Some("incident"), ago(90), ago(60), None);
        app.deliver_json("issues", &unlabeled, "stored").await;
        let other = issue_event("opened", 503, &["bug"], None, ago(30), ago(30), None);
        app.deliver_json("issues", &other, "ignored").await;

        let (status, body) = app.get("/api/dora?window_days=7").await;
        assert_eq!(status, 200, "{body}");
        let current = &body["current"];
        assert_eq!(current["time_to_restore"]["restored"], 2, "{body}");
        assert_eq!(current["time_to_restore"]["unrestored"], 0, "{body}");
        assert_eq!(current["time_to_restore"]["median_seconds"], 2700.0, "{body}");
        assert_eq!(current["change_failure_rate"]["deployments"], 1, "{body}");
        assert_eq!(current["change_failure_rate"]["rate"], 1.0, "{body}");

        let (status, list) = app.get("/api/deployments?window_days=7").await;
        assert_eq!(status, 200, "{list}");
        let mut spans: Vec<(String, Option<String>)> = list["incidents"]
            .as_array()
            .expect("incidents")
            .iter()
            .map(|i| (i["opened_at"].as_str().unwrap_or_default().to_owned(), i["resolved_at"].as_str().map(str::to_owned)))
            .collect();
        spans.sort();
        assert_eq!(spans.len(), 2, "{list}");
        assert_eq!(list["deployments"][0]["failure_signal"], "incident", "{list}");
    }

    // A labelled issue's payload without `created_at` is refused with
    // 400 problem JSON, not stored.
    async fn an_unusable_labelled_issue_is_refused(app: TestApp) {
        let mut event = issue_event("opened", 601, &["incident"], None, minutes_ago(10), minutes_ago(10), None);
        event["issue"]["created_at"] = Value::Null;
        let response = app.deliver("issues", &serde_json::to_vec(&event).expect("json")).await;
        assert_eq!(response.status().as_u16(), 400);
        let problem: Value = response.json().await.expect("json");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("created_at"), "{problem}");
    }
}
