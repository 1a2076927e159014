//! `/api/events` with several streams: one shared reader serves them all,
//! and every stream gets every change, as the same JSON.

use std::time::Duration;

use crate::helpers::wait_for_event;
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

on_both_backends! {
    async fn every_stream_gets_every_change_as_the_same_json(app: TestApp) {
        let mut streams = Vec::new();
        for _ in 0..3 {
            streams.push(app.client.get(app.url("/api/events")).send().await.expect("events"));
        }
        // Changes in quick succession (a batch may hold several of them).
        let run = Run::new(88, minutes_ago(5));
        app.deliver_json("workflow_run", &run.at("in_progress", None, 1).payload(), "stored").await;
        app.deliver_json("workflow_run", &run.at("completed", Some("success"), 60).payload(), "stored").await;
        let job = job_payload(880, &run, "completed", Some("success"), run.started_at, run.started_at, Some(run.started_at));
        app.deliver_json("workflow_job", &job, "stored").await;
        let mut finals = Vec::new();
        for stream in &mut streams {
            // Read until both the run's final state and its job have come.
            let (mut build, mut job_seen) = (None, false);
            wait_for_event(stream, Duration::from_secs(10), |name, data| {
                if name == "build" && data["external_id"] == "88" && data["status"] == "success" {
                    build = Some(data.clone());
                }
                job_seen |= name == "job" && data["external_id"] == "880" && data["build_id"].is_i64();
                build.is_some() && job_seen
            })
            .await
            .expect("the completed run and its job reach every stream");
            finals.push(build);
        }
        assert!(finals.windows(2).all(|pair| pair[0] == pair[1]), "{finals:?}");
    }
}
