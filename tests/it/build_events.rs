//! The generic build API over HTTP (`POST /api/builds/events`), on both
//! back ends: start and finish in either order converge, idempotency keys,
//! every bad field listed with nothing stored, who may post, many events in
//! one request, and the `provider` filter across GitHub and generic rows.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestApp};
use crate::on_both_backends;
use crate::payloads::minutes_ago;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A run event of `provider` for run `run_id` of `acme/app`.
pub(crate) fn run_event(provider: &str, run_id: &str, key: &str, status: &str, extra: Value) -> Value {
    let mut event = json!({
        "idempotency_key": key, "type": "run", "provider": provider, "repository": "acme/app",
        "workflow": "pipeline", "run_id": run_id, "status": status,
    });
    for (k, v) in extra.as_object().expect("object") {
        event[k] = v.clone();
    }
    event
}

pub(crate) async fn post(app: &TestApp, body: &Value) -> (u16, Value) {
    let response = app.admin.post(app.url("/api/builds/events")).json(body).send().await.expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The fields of a build that must not depend on the order events came in.
fn settled(build: &Value) -> Value {
    let mut build = build.clone();
    for volatile in ["id", "external_id"] {
        build.as_object_mut().expect("object").remove(volatile);
    }
    build
}

on_both_backends! {
    async fn started_and_finished_converge_in_either_order(app: TestApp) {
        // Hand-worked: started 10 min ago, the job starts 30 s later and
        // both finish 5 min after the start, so the build lasts 300 s, waits
        // 30 s for its job, and the job runs 270 s after queueing 30 s.
        let start = minutes_ago(10);
        let job_start = start + Duration::seconds(30);
        let end = start + Duration::seconds(300);
        let events = |run: &str| {
            let started = run_event("jenkins", run, &format!("{run}-started"), "in_progress",
                json!({"started_at": ts(start), "created_at": ts(start), "branch": "main", "number": 7,
                       "actor": "ada", "url": format!("https://ci.example.com/job/app/{run}/")}));
            let finished = run_event("jenkins", run, &format!("{run}-finished"), "completed",
                json!({"conclusion": "success", "completed_at": ts(end), "commit": "0123abcd"}));
            let job = |key: &str, status: &str, extra: Value| {
                let mut job = json!({"idempotency_key": format!("{run}-{key}"), "type": "job", "provider": "jenkins",
                    "repository": "acme/app", "run_id": run, "job_id": format!("{run}-build"), "name": "build",
                    "status": status, "created_at": ts(start)});
                for (k, v) in extra.as_object().expect("object") { job[k] = v.clone(); }
                job
            };
            let job_started = job("job-started", "in_progress", json!({"started_at": ts(job_start), "runner_labels": ["linux"]}));
            let job_finished = job("job-finished", "completed",
                json!({"conclusion": "success", "started_at": ts(job_start), "completed_at": ts(end), "runner_name": "agent-2"}));
            (started, finished, job_started, job_finished)
        };
        // Run 100 in order, one request per event; run 200 backwards.
        let (s, f, js, jf) = events("100");
        for event in [&s, &js, &jf, &f] {
            let (status, body) = post(&app, event).await;
            assert_eq!((status, body["events"][0]["outcome"].as_str()), (200, Some("applied")), "{body}");
        }
        let (s, f, js, jf) = events("200");
        for event in [&f, &jf, &js, &s] {
            let (status, body) = post(&app, event).await;
            assert_eq!(status, 200, "{body}");
        }
        let builds = app.builds().await;
        assert_eq!(builds.len(), 2);
        let forward = builds.iter().find(|b| b["external_id"] == "100").expect("run 100");
        let backward = builds.iter().find(|b| b["external_id"] == "200").expect("run 200");
        assert_eq!(forward["status"], "success", "{forward}");
        assert_eq!(forward["provider_kind"], "jenkins");
        assert_eq!(forward["provider_name"], "Jenkins");
        assert_eq!(forward["duration_seconds"], 300);
        assert_eq!(forward["queue_seconds"], 30);
        assert_eq!(forward["started_at"], ts(start));
        assert_eq!(forward["finished_at"], ts(end));
        assert_eq!((forward["branch"].as_str(), forward["commit_sha"].as_str()), (Some("main"), Some("0123abcd")));
        assert_eq!((forward["run_number"].as_i64(), forward["triggered_by"].as_str()), (Some(7), Some("ada")));
        let mut forward_settled = settled(forward);
        let mut backward_settled = settled(backward);
        forward_settled["url"] = Value::Null;
        backward_settled["url"] = Value::Null;
        assert_eq!(forward_settled, backward_settled, "the order does not matter");

        for build in [forward, backward] {
            let detail = app.build(&build["id"]).await;
            let job = &detail["jobs"][0];
            assert_eq!(detail["jobs"].as_array().map(Vec::len), Some(1), "{detail}");
            assert_eq!((job["status"].as_str(), job["runner_name"].as_str()), (Some("success"), Some("agent-2")));
            assert_eq!((job["queue_seconds"].as_i64(), job["duration_seconds"].as_i64()), (Some(30), Some(270)));
            assert_eq!(job["labels"], json!(["linux"]));
        }
    }

    async fn a_repeated_idempotency_key_is_answered_duplicate_and_stored_once(app: TestApp) {
        let event = run_event("buildkite", "b-1", "bk-1-started", "in_progress", json!({"started_at": ts(minutes_ago(5))}));
        let (status, first) = post(&app, &event).await;
        assert_eq!((status, first["applied"].as_i64()), (200, Some(1)), "{first}");
        // Again alone, and twice more in one request (with another event).
        let (_, again) = post(&app, &event).await;
        assert_eq!(again["events"][0]["outcome"], "duplicate", "{again}");
        let other = run_event("buildkite", "b-2", "bk-2-started", "queued", json!({}));
        let (status, batch) = post(&app, &json!({"events": [event, other, event]})).await;
        assert_eq!(status, 200, "{batch}");
        let outcomes: Vec<&str> = batch["events"].as_array().expect("events").iter()
            .map(|e| e["outcome"].as_str().expect("outcome")).collect();
        assert_eq!(outcomes, ["duplicate", "applied", "duplicate"]);
        assert_eq!((batch["applied"].as_i64(), batch["duplicate"].as_i64()), (Some(1), Some(2)));
        // The same key for another provider is another event.
        let mut circle = event.clone();
        circle["provider"] = "circleci".into();
        let (_, circle_answer) = post(&app, &circle).await;
        assert_eq!(circle_answer["events"][0]["outcome"], "applied");
        assert_eq!(app.builds().await.len(), 3, "b-1 (buildkite), b-2, b-1 (circleci)");
    }

    async fn a_request_with_bad_fields_lists_them_all_and_stores_nothing(app: TestApp) {
        let good = run_event("jenkins", "9", "nine-started", "in_progress", json!({"started_at": ts(minutes_ago(3))}));
        let bad_status = run_event("jenkins", "10", "ten", "exploded", json!({"started_at": "last tuesday"}));
        let bad_job = json!({"idempotency_key": "job one", "type": "job", "provider": "hudson",
            "repository": "acme/app", "run_id": -1, "status": "completed", "finished_at": "2026-12-01T10:00:00Z"});
        let bad_times = run_event("jenkins", "11", "eleven", "in_progress",
            json!({"started_at": "0001-01-01T00:00:00Z", "created_at": "9999-12-31T23:59:59Z"}));
        let (status, problem) = post(&app, &json!([good, bad_status, bad_job, bad_times])).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["type"], "urn:cicd-dashboard:problem:invalid-fields");
        let mut fields: Vec<&str> = problem["errors"].as_array().expect("errors").iter()
            .map(|e| e["field"].as_str().expect("field")).collect();
        fields.sort_unstable();
        assert_eq!(fields, [
            "events[1].started_at", "events[1].status",
            "events[2].completed_at", "events[2].conclusion", "events[2].finished_at",
            "events[2].idempotency_key", "events[2].job_id", "events[2].provider", "events[2].run_id",
            "events[3].created_at", "events[3].started_at",
        ], "{problem}");
        let provider = problem["errors"].as_array().expect("errors").iter()
            .find(|e| e["field"] == "events[2].provider").expect("provider error");
        assert!(provider["message"].as_str().expect("message").contains("azure-pipelines"), "{provider}");
        assert!(problem["detail"].as_str().expect("detail").contains("nothing"), "{problem}");
        // Nothing stored: no build, and the good event's key was not recorded.
        assert_eq!(app.builds().await.len(), 0);
        let (status, answer) = post(&app, &good).await;
        assert_eq!((status, answer["events"][0]["outcome"].as_str()), (200, Some("applied")), "{answer}");
        // Not JSON, or not an event shape: 400 problems.
        let response = app.admin.post(app.url("/api/builds/events"))
            .header("content-type", "application/json").body("{oops").send().await.expect("post");
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        // A valid event not declared JSON (curl -d without -H): 415, nothing stored.
        let form = run_event("jenkins", "12", "twelve", "queued", json!({}));
        for content_type in [None, Some("application/x-www-form-urlencoded")] {
            let mut request = app.admin.post(app.url("/api/builds/events")).body(form.to_string());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.expect("post");
            assert_eq!(response.status(), 415, "{content_type:?}");
            let problem: Value = response.json().await.expect("problem");
            assert!(problem["detail"].as_str().expect("detail").contains("Content-Type: application/json"), "{problem}");
        }
        // A required field given empty is told so, not to leave it out;
        // an optional one given empty is told to leave it out.
        let mut empty = run_event("jenkins", "13", "thirteen", "queued", json!({"branch": " ", "attempt": u64::MAX}));
        empty["repository"] = json!("");
        empty["run_id"] = json!("");
        let (status, problem) = post(&app, &empty).await;
        assert_eq!(status, 422, "{problem}");
        let message = |field: &str| {
            let errors = problem["errors"].as_array().expect("errors");
            let error = errors.iter().find(|e| e["field"] == field).unwrap_or_else(|| panic!("{field}: {problem}"));
            error["message"].as_str().expect("message").to_owned()
        };
        assert_eq!(message("events[0].repository"), "must not be empty");
        assert_eq!(message("events[0].run_id"), "must not be empty");
        assert_eq!(message("events[0].branch"), "must not be empty (leave it out instead)");
        assert_eq!(message("events[0].attempt"), format!("must be an integer from 1 to {}", i64::MAX));
        assert_eq!(app.builds().await.len(), 1, "only the good event");
        let (status, _) = post(&app, &json!("a string")).await;
        assert_eq!(status, 400);
        let (status, problem) = post(&app, &json!({"events": []})).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("events")), "{problem}");
    }

    async fn only_a_write_token_or_the_ingest_token_may_post(app: TestApp) {
        let event = run_event("drone", "1", "drone-1", "queued", json!({}));
        let url = app.url("/api/builds/events");
        let none = app.client.post(&url).json(&event).send().await.expect("post");
        assert_eq!(none.status(), 401);
        assert_eq!(none.headers()["content-type"], "application/problem+json");
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        let read = crate::auth::create_token(&app.database_url, "viewer", "read");
        let as_read = app.client.post(&url).bearer_auth(&read).json(&event).send().await.expect("post");
        assert_eq!(as_read.status(), 403);
        let problem: Value = as_read.json().await.expect("json");
        assert!(problem["detail"].as_str().expect("detail").contains("write"), "{problem}");
        let wrong = app.client.post(&url).bearer_auth("cicd_not_a_token").json(&event).send().await.expect("post");
        assert_eq!(wrong.status(), 401);
        assert_eq!(app.builds().await.len(), 0, "refused requests store nothing");
        let write = crate::auth::create_token(&app.database_url, "jenkins", "write");
        let as_write = app.client.post(&url).bearer_auth(&write).json(&event).send().await.expect("post");
        assert_eq!(as_write.status(), 200);
        let mut second = event.clone();
        second["idempotency_key"] = "drone-1-again".into();
        let as_ingest = app.client.post(&url).bearer_auth(TOKEN).json(&second).send().await.expect("post");
        assert_eq!(as_ingest.status(), 200);
        assert_eq!(app.builds().await.len(), 1);
    }

    async fn many_events_in_one_request_are_all_applied(app: TestApp) {
        // 150 runs of 2 events each = 300 events (the cap is 500); run i
        // succeeds after 60 + i seconds.
        let start = minutes_ago(60);
        let mut events = Vec::new();
        for i in 0..150 {
            let run = format!("r{i}");
            events.push(run_event("azure-pipelines", &run, &format!("{run}-s"), "in_progress", json!({"started_at": ts(start)})));
            events.push(run_event("azure-pipelines", &run, &format!("{run}-f"), "completed",
                json!({"conclusion": "success", "completed_at": ts(start + Duration::seconds(60 + i))})));
        }
        let (status, answer) = post(&app, &json!({"events": events})).await;
        assert_eq!((status, answer["applied"].as_i64()), (200, Some(300)), "{answer}");
        let (_, list) = app.get("/api/builds?provider=azure-pipelines&limit=1").await;
        assert_eq!(list["total"], 150);
        // Mean of 60..=209 s = 134.5 s.
        let (_, summary) = app.get("/api/metrics/summary?provider=azure-pipelines").await;
        assert_eq!((summary["success_count"].as_i64(), summary["avg_build_time_seconds"].as_f64()), (Some(150), Some(134.5)));
        let too_many: Vec<Value> = (0..501).map(|i| run_event("other", "x", &format!("k{i}"), "queued", json!({}))).collect();
        let (status, problem) = post(&app, &json!(too_many)).await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem["errors"][0]["message"].as_str().expect("message").contains("500"));
    }

    async fn a_run_without_a_workflow_has_a_null_workflow_in_the_minutes(app: TestApp) {
        // A Jenkins run sent without a workflow; its job ran 270 s: 5 runner minutes.
        let start = minutes_ago(10);
        let (end, job_start) = (start + Duration::seconds(300), start + Duration::seconds(30));
        let events = json!([
            {"idempotency_key": "r", "type": "run", "provider": "jenkins", "repository": "acme/app",
             "run_id": "300", "status": "completed", "conclusion": "success",
             "started_at": ts(start), "completed_at": ts(end)},
            {"idempotency_key": "j", "type": "job", "provider": "jenkins", "repository": "acme/app",
             "run_id": "300", "job_id": "300-build", "name": "build", "status": "completed",
             "conclusion": "success", "created_at": ts(start), "started_at": ts(job_start),
             "completed_at": ts(end)},
        ]);
        let (status, body) = post(&app, &json!({"events": events})).await;
        assert_eq!(status, 200, "{body}");
        for group_by in ["workflow", "job"] {
            // Two days (from yesterday's 00:00 UTC): the job of 10 minutes
            // ago is inside just after midnight too.
            let path = format!("/api/insights/minutes?window_days=2&group_by={group_by}&provider=jenkins");
            let (status, minutes) = app.get(&path).await;
            assert_eq!(status, 200, "{minutes}");
            let row = &minutes["rows"][0];
            assert_eq!(row["repo"], "acme/app", "{minutes}");
            assert!(row.as_object().is_some_and(|r| r.contains_key("workflow")), "{group_by}: {row}");
            assert_eq!(row["workflow"], Value::Null, "{group_by}: {row}");
            assert_eq!(row["runner_minutes"], 5, "{row}");
        }
        let (_, by_job) = app.get("/api/insights/minutes?window_days=1&group_by=job&provider=jenkins").await;
        assert_eq!(by_job["rows"][0]["job"], "build");
        let (_, by_repo) = app.get("/api/insights/minutes?window_days=1&provider=jenkins").await;
        assert!(by_repo["rows"][0].as_object().is_some_and(|r| !r.contains_key("workflow")), "{by_repo}");
    }
}

/// Without an ingest token configured (the README's first command), a
/// sender's unknown token is told how to configure one, and a missing
/// token is told that either kind is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_an_ingest_token_says_how_to_set_one() {
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |s| s.ingest_token = None)
        .await
        .expect("sqlite");
    let event = run_event("drone", "1", "drone-1", "queued", json!({}));
    for path in ["/api/builds/events", "/api/test-results?repo=a/b&run_id=1&job=j"] {
        let unknown = app
            .client
            .post(app.url(path))
            .bearer_auth("change-me-ingest")
            .json(&event)
            .send()
            .await
            .expect("post");
        assert_eq!(unknown.status(), 401, "{path}");
        let problem: Value = unknown.json().await.expect("problem");
        assert!(
            problem["detail"].as_str().expect("detail").contains("CICD_INGEST_TOKEN"),
            "{path}: {problem}"
        );
        let none = app.client.post(app.url(path)).json(&event).send().await.expect("post");
        assert_eq!(none.status(), 401, "{path}");
        let problem: Value = none.json().await.expect("problem");
        assert!(problem["detail"].as_str().expect("detail").contains("ingest token"), "{path}: {problem}");
    }
    assert_eq!(app.builds().await.len(), 0);
}
