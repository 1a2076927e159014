//! `/api/metrics/summary` over HTTP on a dataset worked out by hand.

use serde_json::json;

use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

on_both_backends! {
    async fn summary_on_a_hand_worked_dataset(app: TestApp) {
        // In the 7-day window:
        //   5 success, durations 60, 120, 180, 240, 300 s   (repo a)
        //   1 failure, 600 s                                (repo b)
        //   4 skipped, 2 in progress, 1 cancelled           (repo b)
        // Outside it (8 days ago): 1 failure.
        // By hand: total 13; completed 5+1+4+1 = 11; success_rate 5/6; failure_rate 1/6;
        // mean (60+120+180+240+300+600)/6 = 250; p50 (type 7, h = 2.5) = 180 + 0.5·60 = 210;
        // p95 (h = 4.75) = 300 + 0.75·300 = 525.
        let mut id = 0;
        let mut next = |repo: &str, minutes: i64| {
            id += 1;
            let mut run = Run::new(id, minutes_ago(minutes));
            run.repo = repo.into();
            run
        };
        for (i, secs) in [60, 120, 180, 240, 300].into_iter().enumerate() {
            let run = next("o/a", 600 - i as i64 * 10);
            app.deliver_json("workflow_run", &run.at("completed", Some("success"), secs).payload(), "stored").await;
        }
        let run = next("o/b", 300);
        app.deliver_json("workflow_run", &run.at("completed", Some("failure"), 600).payload(), "stored").await;
        for _ in 0..4 {
            let run = next("o/b", 200);
            app.deliver_json("workflow_run", &run.at("completed", Some("skipped"), 1).payload(), "stored").await;
        }
        for _ in 0..2 {
            let run = next("o/b", 100);
            app.deliver_json("workflow_run", &run.at("in_progress", None, 5).payload(), "stored").await;
        }
        let run = next("o/b", 50);
        app.deliver_json("workflow_run", &run.at("completed", Some("cancelled"), 30).payload(), "stored").await;
        let old = next("o/a", 8 * 24 * 60);
        app.deliver_json("workflow_run", &old.at("completed", Some("failure"), 999).payload(), "stored").await;

        let (status, s) = app.get("/api/metrics/summary?window_days=7").await;
        assert_eq!(status, 200, "{s}");
        assert_eq!(s["window_days"], 7);
        assert_eq!(s["total_builds"], 13);
        assert_eq!(s["completed_builds"], 11);
        assert_eq!(s["success_count"], 5);
        assert_eq!(s["failure_count"], 1);
        assert_eq!(s["skipped_count"], 4);
        assert_eq!(s["in_progress_count"], 2);
        assert_eq!(s["cancelled_count"], 1);
        assert_eq!(s["queued_count"], 0);
        assert_eq!(s["success_rate"], json!(5.0 / 6.0));
        assert_eq!(s["failure_rate"], json!(1.0 / 6.0));
        assert_eq!(s["avg_build_time_seconds"], json!(250.0));
        assert_eq!(s["p50_build_time_seconds"], json!(210.0));
        assert_eq!(s["p95_build_time_seconds"], json!(525.0));
        // The newest start is the cancelled run (50 minutes ago).
        assert_eq!(s["last_build_status"], "cancelled");
        assert!(s["last_updated"].as_str().is_some_and(|t| t.ends_with('Z')));
        let by_repo = s["by_repo"].as_array().expect("by_repo");
        assert_eq!(by_repo.len(), 2);
        assert_eq!(by_repo[0]["repo"], "o/a");
        assert_eq!(by_repo[0]["total_builds"], 5);
        assert_eq!(by_repo[0]["success_rate"], json!(1.0));
        assert_eq!(by_repo[0]["avg_build_time_seconds"], json!(180.0));
        assert_eq!(by_repo[0]["last_build_status"], "success");
        assert_eq!(by_repo[1]["repo"], "o/b");
        assert_eq!(by_repo[1]["total_builds"], 8);
        assert_eq!(by_repo[1]["success_rate"], json!(0.0));
        assert_eq!(by_repo[1]["avg_build_time_seconds"], json!(600.0));
        assert_eq!(by_repo[1]["last_build_status"], "cancelled");

        // A 30-day window also holds the old failure: 5 / 7.
        let (_, wide) = app.get("/api/metrics/summary?window_days=30").await;
        assert_eq!(wide["total_builds"], 14);
        assert_eq!(wide["success_rate"], json!(5.0 / 7.0));
    }

    async fn an_empty_store_answers_nulls_not_zeros(app: TestApp) {
        let (status, s) = app.get("/api/metrics/summary").await;
        assert_eq!(status, 200);
        assert_eq!(s["window_days"], 7);
        assert_eq!(s["total_builds"], 0);
        assert_eq!(s["success_rate"], serde_json::Value::Null);
        assert_eq!(s["p95_build_time_seconds"], serde_json::Value::Null);
        assert_eq!(s["last_build_status"], serde_json::Value::Null);
        assert_eq!(s["by_repo"], json!([]));
    }
}

on_both_backends! {
    async fn summary_compares_with_the_previous_window(app: TestApp) {
        use crate::payloads::job_payload;
        use chrono::Duration;
        // Current 7 days: success 100 s (queue 20 s), failure 200 s, one running, one queued.
        // Previous 7 days (8 days ago): success 50 and 70 s, failure 90 s (queue 5 s).
        // 15 days ago: a failure (in neither window); 20 days ago: a run still running.
        // By hand: current median queue 20; running now 2 (all time), queued now 1;
        // previous: 3 builds, success rate 2/3, p50 70, p95 (h = 1.9) 70 + 0.9·20 = 88, queue 5.
        let mut id = 500;
        let mut deliver = |minutes: i64, status: &'static str, conclusion: Option<&'static str>, secs: i64, queue: Option<i64>| {
            id += 1;
            let run = Run::new(id, minutes_ago(minutes));
            let app = &app;
            async move {
                app.deliver_json("workflow_run", &run.at(status, conclusion, secs).payload(), "stored").await;
                if let Some(queue) = queue {
                    let started = run.started_at + Duration::seconds(queue);
                    let job = job_payload(run.id, &run, "in_progress", None, run.started_at, started, None);
                    app.deliver_json("workflow_job", &job, "stored").await;
                }
            }
        };
        let day = 24 * 60;
        deliver(60, "completed", Some("success"), 100, Some(20)).await;
        deliver(50, "completed", Some("failure"), 200, None).await;
        deliver(40, "in_progress", None, 5, None).await;
        deliver(30, "queued", None, 0, None).await;
        deliver(8 * day, "completed", Some("success"), 50, None).await;
        deliver(8 * day + 10, "completed", Some("success"), 70, None).await;
        deliver(8 * day + 20, "completed", Some("failure"), 90, Some(5)).await;
        deliver(15 * day, "completed", Some("failure"), 10, None).await;
        deliver(20 * day, "in_progress", None, 5, None).await;

        let (status, s) = app.get("/api/metrics/summary?window_days=7").await;
        assert_eq!(status, 200, "{s}");
        assert_eq!(s["total_builds"], 4);
        assert_eq!(s["median_queue_seconds"], json!(20.0));
        assert_eq!(s["running_now"], 2);
        assert_eq!(s["queued_now"], 1);
        let previous = &s["previous"];
        assert_eq!(previous["window_end"], s["window_start"]);
        assert_eq!(previous["total_builds"], 3);
        assert_eq!(previous["success_rate"], json!(2.0 / 3.0));
        assert_eq!(previous["p50_build_time_seconds"], json!(70.0));
        assert_eq!(previous["p95_build_time_seconds"], json!(88.0));
        assert_eq!(previous["median_queue_seconds"], json!(5.0));
    }
}

on_both_backends! {
    async fn health_lines_per_repo_and_workflow(app: TestApp) {
        // o/a CI: success (30 min ago), failure (20), running (10) → rate 0.5,
        // latest running, last failure the 20-minute one. o/b CI: one success.
        // 8 days ago: a failure of o/a, outside the 7-day window.
        let cases = [(1, "o/a", 30, "completed", Some("success")), (2, "o/a", 20, "completed", Some("failure")),
            (3, "o/a", 10, "in_progress", None), (4, "o/b", 5, "completed", Some("success")),
            (5, "o/a", 8 * 24 * 60, "completed", Some("failure"))];
        for (id, repo, minutes, status, conclusion) in cases {
            let mut run = Run::new(id, minutes_ago(minutes));
            run.repo = repo.into();
            app.deliver_json("workflow_run", &run.at(status, conclusion, 60).payload(), "stored").await;
        }
        let (status, h) = app.get("/api/metrics/health?window_days=7").await;
        assert_eq!(status, 200, "{h}");
        let rows = h["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!((&rows[0]["repo"], &rows[0]["workflow"]), (&json!("o/a"), &json!("CI")));
        assert_eq!(rows[0]["total_builds"], 3);
        assert_eq!(rows[0]["success_rate"], json!(0.5));
        assert_eq!(rows[0]["latest"]["status"], "running");
        assert_eq!(rows[0]["last_failure"]["url"], "https://github.com/o/a/actions/runs/2");
        assert_eq!(rows[1]["last_failure"], serde_json::Value::Null);
        let (_, only_b) = app.get("/api/metrics/health?repo=o/b&branch=main").await;
        assert_eq!(only_b["rows"].as_array().map(Vec::len), Some(1));
        assert_eq!(only_b["rows"][0]["repo"], "o/b");
        let (_, none) = app.get("/api/metrics/health?branch=nope").await;
        assert_eq!(none["rows"], json!([]));
        let (status, _) = app.get("/api/metrics/health?window_days=0").await;
        assert_eq!(status, 422);
    }
}

on_both_backends! {
    async fn an_attempt_known_only_from_its_jobs_starts_with_its_first_job(app: TestApp) {
        use crate::payloads::job_payload;
        // Run 1 started 40 min ago (success 60 s); run 2 is known only from a
        // job that started 30 min ago; run 3 only from a job still queued.
        let one = Run::new(1, minutes_ago(40));
        app.deliver_json("workflow_run", &one.at("completed", Some("success"), 60).payload(), "stored").await;
        let two = Run::new(2, minutes_ago(31));
        let job = job_payload(20, &two, "in_progress", None, minutes_ago(31), minutes_ago(30), None);
        app.deliver_json("workflow_job", &job, "stored").await;
        let three = Run::new(3, minutes_ago(5));
        let queued = job_payload(30, &three, "queued", None, minutes_ago(5), minutes_ago(5), None);
        app.deliver_json("workflow_job", &queued, "stored").await;
        // By hand: the window holds runs 1 and 2 (run 3 has no start): total 2,
        // one running; the list shows 2 (30 min ago), 1 (40 min ago), then 3.
        let (_, s) = app.get("/api/metrics/summary?window_days=1").await;
        assert_eq!(s["total_builds"], 2, "{s}");
        assert_eq!(s["in_progress_count"], 1);
        assert_eq!(s["last_build_status"], "running");
        let (_, page) = app.get("/api/builds").await;
        let ids: Vec<&str> = page["builds"].as_array().expect("builds").iter().map(|b| b["external_id"].as_str().expect("id")).collect();
        assert_eq!(ids, ["2", "1", "3"]);
        // The run's own delivery brings the real start (31 min ago) and the
        // outcome: still one attempt, now a 90 s success.
        app.deliver_json("workflow_run", &two.at("completed", Some("success"), 90).payload(), "stored").await;
        let (_, s) = app.get("/api/metrics/summary?window_days=1").await;
        assert_eq!(s["total_builds"], 2);
        assert_eq!(s["success_count"], 2);
        assert_eq!(s["in_progress_count"], 0);
        assert_eq!(s["avg_build_time_seconds"], json!(75.0));
        let (_, page) = app.get("/api/builds").await;
        assert_eq!(page["total"], 3);
    }
}
