//! `/api/events` resume: events carry ids, and a reconnect with
//! `Last-Event-ID` first replays what changed since.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::wait_for_event;
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

on_both_backends! {
    async fn a_reconnect_with_last_event_id_replays_missed_changes(app: TestApp) {
        // Live events carry an id (Unix seconds when sent).
        let mut live = app.client.get(app.url("/api/events")).send().await.expect("events");
        let run = Run::new(77, minutes_ago(5));
        app.deliver_json("workflow_run", &run.at("in_progress", None, 1).payload(), "stored").await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut raw = String::new();
        while !raw.contains("event: build") || !raw.contains("\n\n") {
            let chunk = tokio::time::timeout_at(deadline, live.chunk()).await.expect("in time").expect("chunk").expect("open");
            raw.push_str(&String::from_utf8_lossy(&chunk));
        }
        let id: i64 = raw.lines().find_map(|l| l.strip_prefix("id:")).expect("an id line").trim().parse().expect("numeric id");
        drop(live);

        // While disconnected: the run completes and a job reports.
        app.deliver_json("workflow_run", &run.at("completed", Some("success"), 60).payload(), "stored").await;
        let job = job_payload(770, &run, "completed", Some("success"), run.started_at, run.started_at, Some(run.started_at));
        app.deliver_json("workflow_job", &job, "stored").await;

        let mut resumed = app.client.get(app.url("/api/events")).header("last-event-id", id.to_string()).send().await.expect("events");
        let build = wait_for_event(&mut resumed, Duration::from_secs(5), |name, data| {
            name == "build" && data["external_id"] == "77" && data["status"] == "success"
        }).await;
        assert!(build.is_some(), "the completed run is replayed");
        let job = wait_for_event(&mut resumed, Duration::from_secs(5), |name, data| name == "job" && data["external_id"] == "770").await;
        assert!(job.is_some_and(|(_, data)| data["build_id"].is_i64()), "its job is replayed");

        // An id from long ago asks for a full re-read instead.
        let mut stale = app.client.get(app.url("/api/events")).header("last-event-id", "1").send().await.expect("events");
        let resync = wait_for_event(&mut stale, Duration::from_secs(5), |name, _| name == "resync").await;
        assert_eq!(resync.map(|(_, data)| data["missed"].clone()), Some(Value::Null));
    }
}
