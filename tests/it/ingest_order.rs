//! Order, duplicates and vocabularies: deliveries arriving twice, out of
//! order, jobs before runs, re-runs, and every conclusion GitHub documents.

use serde_json::json;

use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

on_both_backends! {
    async fn the_same_delivery_twice_is_a_duplicate_and_changes_nothing(app: TestApp) {
        let run = Run::new(101, minutes_ago(30)).at("completed", Some("success"), 90);
        let body = serde_json::to_vec(&run.payload()).expect("json");
        let first = app.deliver_as("workflow_run", "guid-1", &body).await;
        assert_eq!(first.status().as_u16(), 202);
        let first: serde_json::Value = first.json().await.expect("json");
        assert_eq!(first, json!({"delivery": "guid-1", "event": "workflow_run", "outcome": "stored"}));
        let before = app.builds().await;

        // Same GUID again, even with a different body: a duplicate, not applied.
        let failed = run.at("completed", Some("failure"), 120);
        let again = app.deliver_as("workflow_run", "guid-1", &serde_json::to_vec(&failed.payload()).expect("json")).await;
        assert_eq!(again.status().as_u16(), 202);
        let again: serde_json::Value = again.json().await.expect("json");
        assert_eq!(again["outcome"], "duplicate");
        assert_eq!(app.builds().await, before);
        assert_eq!(before[0]["status"], "success");
        assert_eq!(before[0]["duration_seconds"], 90);
    }

    async fn completed_before_in_progress_stays_completed(app: TestApp) {
        let run = Run::new(202, minutes_ago(60));
        app.deliver_json("workflow_run", &run.at("completed", Some("failure"), 300).payload(), "stored").await;
        app.deliver_json("workflow_run", &run.at("in_progress", None, 10).payload(), "stored").await;
        app.deliver_json("workflow_run", &run.at("queued", None, 0).payload(), "stored").await;
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1);
        assert_eq!(builds[0]["status"], "failed");
        assert_eq!(builds[0]["provider_status"], "completed");
        assert_eq!(builds[0]["conclusion"], "failure");
        assert_eq!(builds[0]["duration_seconds"], 300);
    }

    async fn a_job_before_its_run_creates_the_attempt_and_the_run_fills_it_in(app: TestApp) {
        let start = minutes_ago(20);
        let run = Run::new(303, start);
        // The job: queued at start+5 s, picked up at start+35 s, done at start+95 s.
        let created = start + chrono::Duration::seconds(5);
        let picked = start + chrono::Duration::seconds(35);
        let done = start + chrono::Duration::seconds(95);
        app.deliver_json("workflow_job", &job_payload(9001, &run, "completed", Some("success"), created, picked, Some(done)), "stored").await;
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1);
        assert_eq!(builds[0]["status"], "running", "a finished job implies a run in progress");
        assert_eq!(builds[0]["workflow"], "CI");
        assert_eq!(builds[0]["started_at"], serde_json::Value::Null, "the run's own start is not known yet");
        assert_eq!(builds[0]["first_job_started_at"], crate::payloads::iso(picked));

        app.deliver_json("workflow_run", &run.at("completed", Some("success"), 100).payload(), "stored").await;
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "the run joined the job's attempt");
        assert_eq!(builds[0]["status"], "success");
        assert_eq!(builds[0]["run_number"], 303);
        assert_eq!(builds[0]["duration_seconds"], 100);
        assert_eq!(builds[0]["queue_seconds"], 35, "first job started 35 s after the attempt");
        assert_eq!(builds[0]["started_at"], crate::payloads::iso(start));
        assert_eq!(builds[0]["first_job_started_at"], crate::payloads::iso(picked));
        let detail = app.build(&builds[0]["id"]).await;
        assert_eq!(detail["jobs"][0]["queue_seconds"], 30);
        assert_eq!(detail["jobs"][0]["duration_seconds"], 60);
        assert_eq!(detail["jobs"][0]["status"], "success");

        // A late "queued" delivery for the job does not move it back.
        app.deliver_json("workflow_job", &job_payload(9001, &run, "queued", None, created, created, None), "stored").await;
        let detail = app.build(&builds[0]["id"]).await;
        assert_eq!(detail["jobs"][0]["status"], "success");
        assert_eq!(detail["jobs"][0]["started_at"], crate::payloads::iso(picked));
    }

    async fn two_attempts_of_one_run_are_kept_apart(app: TestApp) {
        let first = Run::new(404, minutes_ago(120));
        let mut second = Run::new(404, minutes_ago(60));
        second.attempt = 2;
        second.created_at = first.created_at; // GitHub keeps attempt 1's created_at
        app.deliver_json("workflow_run", &first.at("completed", Some("failure"), 200).payload(), "stored").await;
        app.deliver_json("workflow_run", &second.at("completed", Some("success"), 50).payload(), "stored").await;
        let builds = app.builds().await;
        assert_eq!(builds.len(), 2);
        // Newest start first: attempt 2.
        assert_eq!(builds[0]["run_attempt"], 2);
        assert_eq!(builds[0]["status"], "success");
        assert_eq!(builds[0]["duration_seconds"], 50, "from attempt 2's run_started_at, not created_at");
        assert_eq!(builds[1]["run_attempt"], 1);
        assert_eq!(builds[1]["status"], "failed");
        assert_eq!(builds[1]["duration_seconds"], 200);
        assert_eq!(builds[0]["external_id"], builds[1]["external_id"]);
    }

    async fn every_documented_conclusion_and_an_unknown_one_is_stored(app: TestApp) {
        let cases = [
            ("success", "success"),
            ("failure", "failed"),
            ("timed_out", "failed"),
            ("startup_failure", "failed"),
            ("cancelled", "cancelled"),
            ("skipped", "skipped"),
            ("neutral", "neutral"),
            ("action_required", "action_required"),
            ("stale", "stale"),
            ("some_future_value", "unknown"),
        ];
        for (i, (conclusion, _)) in cases.iter().enumerate() {
            let run = Run::new(500 + i as i64, minutes_ago(100 - i as i64));
            app.deliver_json("workflow_run", &run.at("completed", Some(conclusion), 10).payload(), "stored").await;
        }
        let statuses = ["requested", "queued", "pending", "waiting", "in_progress", "brand_new_status"];
        for (i, status) in statuses.iter().enumerate() {
            let run = Run::new(600 + i as i64, minutes_ago(50 - i as i64));
            app.deliver_json("workflow_run", &run.at(status, None, 1).payload(), "stored").await;
        }
        let builds = app.builds().await;
        for (i, (conclusion, normalised)) in cases.iter().enumerate() {
            let b = builds.iter().find(|b| b["external_id"].as_str() == Some(format!("{}", 500 + i).as_str())).expect("stored");
            assert_eq!(b["conclusion"], *conclusion);
            assert_eq!(b["status"], *normalised, "{conclusion}");
        }
        let expected = ["queued", "queued", "queued", "queued", "running", "unknown"];
        for (i, status) in statuses.iter().enumerate() {
            let b = builds.iter().find(|b| b["external_id"].as_str() == Some(format!("{}", 600 + i).as_str())).expect("stored");
            assert_eq!(b["provider_status"], *status);
            assert_eq!(b["status"], expected[i], "{status}");
        }
    }

    async fn concurrent_deliveries_for_one_attempt_end_completed(app: TestApp) {
        let run = Run::new(707, minutes_ago(10));
        let states = [
            run.at("queued", None, 0),
            run.at("in_progress", None, 5),
            run.at("completed", Some("success"), 65),
            run.at("in_progress", None, 6),
        ];
        let mut tasks = Vec::new();
        for round in 0..4 {
            for state in &states {
                let body = serde_json::to_vec(&state.payload()).expect("json");
                let client = app.client.clone();
                let base = app.base.clone();
                let guid = format!("c-{round}-{}", state.updated_at.timestamp());
                tasks.push(tokio::spawn(async move {
                    crate::helpers::deliver_to(&client, &base, "workflow_run", &guid, &body).await
                }));
            }
        }
        for task in tasks {
            assert_eq!(task.await.expect("task"), 202);
        }
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1);
        assert_eq!(builds[0]["status"], "success");
        assert_eq!(builds[0]["duration_seconds"], 65);
    }
}
