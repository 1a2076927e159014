//! Deployments and the DORA keys over HTTP, on both back ends: GitHub
//! (`push`, `deployment`, `deployment_status` out of order and twice),
//! GitLab (`Deployment Hook`: success, failed, skipped) and the generic
//! API (`deployment` events with commits) together; incidents (idempotent,
//! open/resolve, 4xx); an incident across a day boundary in Berlin;
//! deployment rules over runs.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::build_events::{post, run_event};
use crate::gitlab_payloads::deliver as deliver_gitlab;
use crate::helpers::{Backend, TestApp, fixture_bytes};
use crate::on_both_backends;
use crate::payloads::minutes_ago;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn sha(name: &str) -> String {
    format!("{name:0>40}")
}

fn github_deployment(id: u64, commit: &str, created: DateTime<Utc>) -> Value {
    json!({
        "id": id, "sha": sha(commit), "ref": "main", "environment": "production", "created_at": ts(created),
        "url": format!("https://api.github.com/repos/acme/web/deployments/{id}")
    })
}

fn github_status(id: u64, commit: &str, created: DateTime<Utc>, state: &str, at: DateTime<Utc>) -> Value {
    json!({
        "action": "created", "deployment": github_deployment(id, commit, created),
        "deployment_status": {"state": state, "created_at": ts(at), "updated_at": ts(at)},
        "repository": {"full_name": "acme/web"}
    })
}

fn gitlab_hook(id: u64, commit: &str, status: &str, at: DateTime<Utc>) -> Value {
    let mut hook: Value =
        serde_json::from_slice(&fixture_bytes("gitlab/webhooks/deployment.json")).expect("json");
    hook["deployment_id"] = json!(id);
    hook["deployable_id"] = json!(9000 + id);
    hook["status"] = json!(status);
    hook["status_changed_at"] = json!(at.format("%Y-%m-%d %H:%M:%S +0000").to_string());
    hook["environment"] = json!("production");
    hook["project"]["path_with_namespace"] = json!("group/api");
    hook["commit_url"] = json!(format!("https://gitlab.example.com/group/api/-/commit/{}", sha(commit)));
    hook
}

async fn dora(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get(&format!("/api/dora?{query}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

on_both_backends! {
    // GitHub: a push of a (5 h ago) and b (4 h ago); deployment 1 of b
    // created 3 h 10 min ago, `success` 3 h ago, delivered before its
    // creation event, twice, and followed by an older `in_progress`.
    // GitLab: deployment 11 succeeds 2 h ago, 12 fails 1 h ago, 13 is
    // skipped. Generic (jenkins, environment `prod`): success 30 min ago
    // carrying x (committed 60 min ago, authored 90 min ago).
    //
    // Counted: 3 successes + 1 failure = 4 (13 skipped; nothing pending).
    // Frequency 3 / 7 days. CFR: 12 failed → 1/4 = 0.25 (high). Lead
    // times: a 3 h − 5 h = 7200 s, b 3600 s, x 1800 s (committed time) →
    // [1800, 3600, 7200]: median 3600, p90 3600 + 0.8 × 3600 = 6480.
    // Time to restore: 12's outage is not restored (1 unrestored).
    async fn github_gitlab_and_generic_deployments_together(app: TestApp) {
        // One base time, so the hand-worked lead times are exact.
        let base = minutes_ago(0);
        let ago = |minutes: i64| base - Duration::minutes(minutes);
        let push = json!({
            "ref": "refs/heads/main", "before": sha("0"), "after": sha("b"), "repository": {"full_name": "acme/web"},
            "commits": [{"id": sha("a"), "timestamp": ts(ago(300))}, {"id": sha("b"), "timestamp": ts(ago(240))}]
        });
        app.deliver_json("push", &push, "stored").await;
        let created = ago(190);
        let success = github_status(1, "b", created, "success", ago(180));
        app.deliver_json("deployment_status", &success, "stored").await;
        app.deliver_json("deployment_status", &success, "stored").await;
        let creation = json!({"action": "created", "deployment": github_deployment(1, "b", created), "repository": {"full_name": "acme/web"}});
        app.deliver_json("deployment", &creation, "stored").await;
        app.deliver_json("deployment_status", &github_status(1, "b", created, "in_progress", ago(185)), "stored").await;
        // A second GitHub deployment only created: pending, counted nowhere.
        let pending = json!({"action": "created", "deployment": github_deployment(2, "b", ago(5)), "repository": {"full_name": "acme/web"}});
        app.deliver_json("deployment", &pending, "stored").await;

        deliver_gitlab(&app, "Deployment Hook", &gitlab_hook(11, "c", "running", ago(125)), "stored").await;
        deliver_gitlab(&app, "Deployment Hook", &gitlab_hook(11, "c", "success", ago(120)), "stored").await;
        deliver_gitlab(&app, "Deployment Hook", &gitlab_hook(12, "d", "failed", ago(60)), "stored").await;
        deliver_gitlab(&app, "Deployment Hook", &gitlab_hook(13, "e", "skipped", ago(50)), "stored").await;

        let event = json!({
            "idempotency_key": "deploy-77", "type": "deployment", "provider": "jenkins", "repository": "acme/jobs",
            "deployment_id": 77, "environment": "prod", "status": "success", "status_at": ts(ago(30)),
            "commit": sha("x"), "commits": [{"sha": sha("x"), "authored_at": ts(ago(90)), "committed_at": ts(ago(60))}]
        });
        let (status, answer) = post(&app, &event).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["events"][0]["type"], "deployment");

        let body = dora(&app, "window_days=7").await;
        let current = &body["current"];
        assert_eq!(current["deployment_frequency"]["deployments"], 3, "{body}");
        assert!((current["deployment_frequency"]["per_day"].as_f64().expect("f64") - 3.0 / 7.0).abs() < 1e-9);
        assert_eq!(current["change_failure_rate"]["deployments"], 4, "{body}");
        assert_eq!(current["change_failure_rate"]["rate"], 0.25);
        assert_eq!(current["change_failure_rate"]["level"], "high");
        assert_eq!(current["lead_time"]["commits"], 3, "{body}");
        assert_eq!(current["lead_time"]["median_seconds"], 3600.0);
        assert_eq!(current["lead_time"]["p90_seconds"], 6480.0);
        assert_eq!(current["time_to_restore"]["unrestored"], 1);
        assert_eq!(current["time_to_restore"]["median_seconds"], Value::Null);
        assert_eq!(body["previous"]["change_failure_rate"]["deployments"], 0);

        // One provider, one environment by name.
        let gitlab = dora(&app, "window_days=7&provider=gitlab").await;
        assert_eq!(gitlab["current"]["change_failure_rate"]["rate"], 0.5);
        let staging = dora(&app, "window_days=7&environment=staging").await;
        assert_eq!(staging["current"]["change_failure_rate"]["deployments"], 0);

        let (status, list) = app.get("/api/deployments?window_days=7").await;
        assert_eq!(status, 200, "{list}");
        let items = list["deployments"].as_array().expect("array");
        let by_id = |provider: &str, id: &str| {
            items.iter().find(|d| d["provider"] == provider && d["deployment_id"] == id).cloned().unwrap_or(Value::Null)
        };
        assert_eq!(by_id("github", "2")["outcome"], "pending");
        let first = by_id("github", "1");
        assert_eq!((first["outcome"].as_str(), first["status"].as_str()), (Some("success"), Some("success")), "{first}");
        let leads: Vec<i64> = first["commits"].as_array().expect("commits").iter().map(|c| c["lead_time_seconds"].as_i64().expect("lead")).collect();
        assert_eq!(leads, [3600, 7200], "newest first: b, then a");
        assert_eq!(by_id("gitlab", "12")["failure_signal"], "failed");
        assert_eq!(by_id("gitlab", "13")["outcome"], "not_counted");
        assert_eq!(by_id("jenkins", "77")["production"], true);
    }

    async fn incidents_are_idempotent_by_the_callers_id(app: TestApp) {
        let url = app.url("/api/incidents");
        // One base time for both ends, so the outage is exactly 3600 s.
        let base = minutes_ago(0);
        let open = json!({"id": "INC-1", "repository": "acme/web", "title": "checkout down", "opened_at": ts(base - Duration::minutes(90))});
        let response = app.admin.post(&url).json(&open).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 201);
        let response = app.admin.post(&url).json(&open).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().await.expect("json");
        assert_eq!((answer["outcome"].as_str(), answer["status"].as_str()), (Some("unchanged"), Some("open")));
        let resolve = json!({"id": "INC-1", "status": "resolved", "resolved_at": ts(base - Duration::minutes(30))});
        let answer: Value = app.admin.post(&url).json(&resolve).send().await.expect("post").json().await.expect("json");
        assert_eq!((answer["outcome"].as_str(), answer["status"].as_str()), (Some("changed"), Some("resolved")));
        assert_eq!(answer["title"], "checkout down", "a resolve keeps what the opening said");
        // A retried "resolved" without a time leaves the resolution where it
        // is (it would lengthen the outage), and says so.
        let again = json!({"id": "INC-1", "status": "resolved"});
        for _ in 0..2 {
            let answer: Value = app.admin.post(&url).json(&again).send().await.expect("post").json().await.expect("json");
            assert_eq!(answer["outcome"], "unchanged", "{answer}");
            assert_eq!(answer["resolved_at"], ts(base - Duration::minutes(30)), "{answer}");
        }
        // A repeat of a report resolved "now" is unchanged too (times are
        // compared at the whole seconds they are stored in).
        let now_resolved = json!({"id": "INC-4", "repository": "acme/api", "environment": "staging", "status": "resolved"});
        let first: Value = app.admin.post(&url).json(&now_resolved).send().await.expect("post").json().await.expect("json");
        let second: Value = app.admin.post(&url).json(&now_resolved).send().await.expect("post").json().await.expect("json");
        assert_eq!((first["outcome"].as_str(), second["outcome"].as_str()), (Some("created"), Some("unchanged")), "{second}");
        assert_eq!(first["resolved_at"], second["resolved_at"]);

        // One outage of 60 minutes (opened 90, resolved 30 minutes ago).
        let body = dora(&app, "window_days=1").await;
        assert_eq!(body["current"]["time_to_restore"]["median_seconds"], 3600.0, "{body}");
        assert_eq!(body["current"]["time_to_restore"]["level"], "high");

        let bad = json!({"title": 5, "opened_at": "yesterday", "status": "gone", "colour": "red"});
        let response = app.admin.post(&url).json(&bad).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 422);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.expect("json");
        let fields: Vec<&str> = problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        for field in ["id", "title", "opened_at", "status", "colour"] {
            assert!(fields.contains(&field), "{field}: {problem}");
        }
        let early = json!({"id": "INC-2", "opened_at": ts(minutes_ago(10)), "resolved_at": ts(minutes_ago(20))});
        assert_eq!(app.admin.post(&url).json(&early).send().await.expect("post").status().as_u16(), 422);
        let nope = app.admin.post(&url).header("content-type", "application/json").body("{nope");
        assert_eq!(nope.send().await.expect("post").status().as_u16(), 400);
        // Not declared JSON (curl -d without -H): 415, and INC-3 is not stored.
        let form = json!({"id": "INC-3", "opened_at": ts(minutes_ago(5))});
        let response = app.admin.post(&url).header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string()).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 415);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let response = app.admin.post(&url).json(&form).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 201, "INC-3 was not stored by the refused request");
        assert_eq!(app.client.post(&url).json(&open).send().await.expect("post").status().as_u16(), 401);
    }

    // Opened 23:30 UTC on the day three days ago, resolved 90 minutes
    // later: in UTC its outage starts on that day; in Berlin (CET, UTC+1
    // in December) at 00:30 on the next day.
    async fn an_incident_across_a_day_boundary_falls_on_its_local_day(app: TestApp) {
        let day = (Utc::now() - Duration::days(3)).date_naive();
        let opened = day.and_hms_opt(23, 30, 0).expect("time").and_utc();
        let incident = json!({"id": "INC-9", "opened_at": ts(opened), "resolved_at": ts(opened + Duration::minutes(90))});
        let response = app.admin.post(app.url("/api/incidents")).json(&incident).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 201);
        for (tz, label) in [("UTC", day), ("Europe/Berlin", day.succ_opt().expect("next day"))] {
            let (status, body) = app.get(&format!("/api/dora/timeseries?window_days=7&tz={tz}")).await;
            assert_eq!(status, 200, "{body}");
            let buckets = body["buckets"].as_array().expect("buckets");
            let restored: Vec<&str> = buckets
                .iter()
                .filter(|b| b["time_to_restore"]["restored"] == 1)
                .filter_map(|b| b["label"].as_str())
                .collect();
            assert_eq!(restored, [label.to_string().as_str()], "{tz}");
            let hit = buckets.iter().find(|b| b["label"] == label.to_string()).expect("bucket");
            assert_eq!(hit["time_to_restore"]["median_seconds"], 5400.0);
        }
        let (status, weeks) = app.get("/api/dora/timeseries?window_days=28&bucket=week&tz=Europe/Berlin").await;
        assert_eq!(status, 200, "{weeks}");
        assert!(weeks["buckets"][0]["label"].as_str().is_some_and(|l| l.contains("-W")), "{weeks}");
        for bad in ["bucket=month", "tz=Mars/Base", "window_days=0", "provider=nope"] {
            let (status, body) = app.get(&format!("/api/dora/timeseries?{bad}")).await;
            assert_eq!(status, 422, "{bad}: {body}");
        }
    }
}

async fn deployment_rules_name_runs_deployments(backend: Backend) {
    let rule = "workflow=Deploy*,branch=main,environment=production".to_owned();
    let Some(app) = TestApp::spawn_with(backend, |s| s.worker.delivery.deployment_rules = vec![rule]).await
    else {
        return;
    };
    let run = |id: &str, workflow: &str, branch: &str, conclusion: &str, minutes: i64| {
        run_event(
            "jenkins",
            id,
            &format!("run-{id}"),
            "completed",
            json!({
                "workflow": workflow, "branch": branch, "conclusion": conclusion, "commit": sha(id),
                "started_at": ts(minutes_ago(minutes + 5)), "completed_at": ts(minutes_ago(minutes))
            }),
        )
    };
    let events = json!([
        run("1", "Deploy web", "main", "success", 100),
        run("2", "Deploy web", "main", "failure", 50),
        run("3", "Deploy web", "main", "skipped", 40),
        run("4", "Deploy web", "dev", "success", 30),
        run("5", "CI", "main", "success", 20),
    ]);
    let (status, answer) = post(&app, &events).await;
    assert_eq!(status, 200, "{answer}");
    let (status, list) = app.get("/api/deployments?window_days=1").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["deployments"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["deployment_id"].as_str())
        .collect();
    assert_eq!(ids, ["run:2:1", "run:1:1"], "newest first; skipped, dev and CI runs are none");
    let body = dora(&app, "window_days=1").await;
    assert_eq!(body["current"]["change_failure_rate"]["rate"], 0.5, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_rules_sqlite() {
    deployment_rules_name_runs_deployments(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_rules_postgres() {
    deployment_rules_name_runs_deployments(Backend::Postgres).await;
}
