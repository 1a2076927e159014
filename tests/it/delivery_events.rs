//! `/api/events` carries deployment and incident changes, on both back
//! ends: a GitHub `deployment_status` webhook, a generic `deployment`
//! event and `POST /api/incidents` each arrive as an event naming the
//! changed row; an unchanged repeat of the incident announces nothing new;
//! a push that arrives after a deployment of its commit (completing its
//! lead times) announces that deployment.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::build_events::post;
use crate::helpers::wait_for_event;
use crate::on_both_backends;
use crate::payloads::minutes_ago;

const FIVE_SECONDS: Duration = Duration::from_secs(5);

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

on_both_backends! {
    async fn deployment_and_incident_changes_arrive_on_the_event_stream(app: TestApp) {
        let mut stream = app.client.get(app.url("/api/events")).send().await.expect("events");
        let status = json!({
            "action": "created",
            "deployment": {"id": 41, "sha": format!("{:0>40}", "a"), "ref": "main", "environment": "production",
                "created_at": ts(minutes_ago(20)), "url": "https://api.github.com/repos/acme/web/deployments/41"},
            "deployment_status": {"state": "success", "created_at": ts(minutes_ago(10)), "updated_at": ts(minutes_ago(10))},
            "repository": {"full_name": "acme/web"}
        });
        app.deliver_json("deployment_status", &status, "stored").await;
        let (_, first) = wait_for_event(&mut stream, FIVE_SECONDS, |name, _| name == "deployment")
            .await
            .expect("a deployment event after the webhook");
        let first = first["id"].as_i64().expect("a row id");

        let generic = json!({
            "idempotency_key": "events-d2", "type": "deployment", "provider": "jenkins", "repository": "acme/web",
            "deployment_id": "d2", "environment": "production", "status": "failure", "status_at": ts(minutes_ago(5)),
        });
        let (code, answer) = post(&app, &generic).await;
        assert_eq!(code, 200, "{answer}");
        let (_, second) = wait_for_event(&mut stream, FIVE_SECONDS, |name, _| name == "deployment")
            .await
            .expect("a deployment event after the generic API");
        assert_ne!(second["id"].as_i64(), Some(first), "another row");

        let incident = json!({"id": "INC-1", "repository": "acme/web", "opened_at": ts(minutes_ago(8))});
        let response = app.admin.post(app.url("/api/incidents")).json(&incident).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 201);
        let (_, opened) = wait_for_event(&mut stream, FIVE_SECONDS, |name, _| name == "incident")
            .await
            .expect("an incident event after POST /api/incidents");
        let id = opened["id"].as_i64().expect("a row id");

        // Unchanged: nothing (the next event is the deployment after it);
        // resolved: the same row again.
        let response = app.admin.post(app.url("/api/incidents")).json(&incident).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 200);
        let mut third = generic.clone();
        third["idempotency_key"] = json!("events-d3");
        third["deployment_id"] = json!("d3");
        let (code, answer) = post(&app, &third).await;
        assert_eq!(code, 200, "{answer}");
        let (name, _) = wait_for_event(&mut stream, FIVE_SECONDS, |name, _| name == "incident" || name == "deployment")
            .await
            .expect("a deployment event");
        assert_eq!(name, "deployment", "an unchanged incident announces nothing");
        let resolved = json!({"id": "INC-1", "repository": "acme/web", "opened_at": ts(minutes_ago(8)), "resolved_at": ts(minutes_ago(1))});
        let response = app.admin.post(app.url("/api/incidents")).json(&resolved).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 200);
        let (_, again) = wait_for_event(&mut stream, FIVE_SECONDS, |name, _| name == "incident")
            .await
            .expect("an incident event after the resolution");
        assert_eq!(again["id"].as_i64(), Some(id));
    }

    async fn a_late_push_announces_the_deployment_whose_lead_times_it_completes(app: TestApp) {
        let mut stream = app.client.get(app.url("/api/events")).send().await.expect("events");
        let sha = format!("{:0>40}", "c");
        let status = json!({
            "action": "created",
            "deployment": {"id": 51, "sha": sha, "ref": "main", "environment": "production",
                "created_at": ts(minutes_ago(20)), "url": "https://api.github.com/repos/acme/web/deployments/51"},
            "deployment_status": {"state": "success", "created_at": ts(minutes_ago(10)), "updated_at": ts(minutes_ago(10))},
            "repository": {"full_name": "acme/web"}
        });
        app.deliver_json("deployment_status", &status, "stored").await;
        let (_, deployed) = wait_for_event(&mut stream, FIVE_SECONDS, |name, _| name == "deployment")
            .await
            .expect("a deployment event after the webhook");
        let (_, before) = app.get("/api/deployments?window_days=1").await;
        assert_eq!(before["deployments"][0]["commits"], json!([]), "no commit known yet: {before}");

        // The push of c, committed 40 minutes ago, arrives late: lead time 30 min.
        let push = json!({
            "ref": "refs/heads/main", "before": format!("{:0>40}", "0"), "after": sha,
            "repository": {"full_name": "acme/web"}, "commits": [{"id": sha, "timestamp": ts(minutes_ago(40))}]
        });
        app.deliver_json("push", &push, "stored").await;
        let (_, again) = wait_for_event(&mut stream, FIVE_SECONDS, |name, _| name == "deployment")
            .await
            .expect("a deployment event after the late push");
        assert_eq!(again["id"], deployed["id"], "the deployment whose lead times changed");
        let (_, after) = app.get("/api/deployments?window_days=1").await;
        let lead = after["deployments"][0]["commits"][0]["lead_time_seconds"].as_i64();
        assert!(lead.is_some_and(|s| (1790..=1810).contains(&s)), "{after}");
    }
}
