//! `/health`, `/api/builds` (paging, filters, order) and `/api/builds/{id}`.

use serde_json::Value;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

on_both_backends! {
    async fn health_reports_the_database(app: TestApp) {
        let (status, body) = app.get("/health").await;
        assert_eq!(status, 200);
        assert_eq!(body["ok"], true);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["database"], "connected");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        let ts = body["timestamp"].as_str().expect("timestamp");
        assert!(ts.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
    }

    async fn builds_page_filter_and_order(app: TestApp) {
        // 7 attempts in two repos, started 70, 60, …, 10 minutes ago.
        for i in 0..7 {
            let mut run = Run::new(1000 + i, minutes_ago(70 - 10 * i));
            run.repo = if i % 2 == 0 { "octo-org/even".into() } else { "octo-org/odd".into() };
            run.branch = if i < 3 { "main".into() } else { "feature/x".into() };
            let conclusion = if i == 6 { "failure" } else { "success" };
            app.deliver_json("workflow_run", &run.at("completed", Some(conclusion), 30).payload(), "stored").await;
        }
        // A job for a run never seen: an attempt with no start yet, listed last.
        let ghost = Run::new(2000, minutes_ago(5));
        app.deliver_json("workflow_job", &job_payload(1, &ghost, "queued", None, minutes_ago(5), minutes_ago(5), None), "stored").await;

        let (_, page) = app.get("/api/builds?limit=3&offset=0").await;
        assert_eq!(page["total"], 8);
        assert_eq!(page["limit"], 3);
        assert_eq!(page["offset"], 0);
        assert_eq!(page["has_more"], true);
        let ids: Vec<&str> = page["builds"].as_array().expect("array").iter().map(|b| b["external_id"].as_str().expect("id")).collect();
        assert_eq!(ids, ["1006", "1005", "1004"]);

        let (_, last) = app.get("/api/builds?limit=3&offset=6").await;
        assert_eq!(last["has_more"], false);
        let ids: Vec<&str> = last["builds"].as_array().expect("array").iter().map(|b| b["external_id"].as_str().expect("id")).collect();
        assert_eq!(ids, ["1000", "2000"], "no start yet sorts last");
        // It has no start, so no bound of the start matches it: `until` alone
        // lists the 7 started ones (it once listed the ghost too).
        let until = minutes_ago(0).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (status, bounded) = app.get(&format!("/api/builds?until={until}")).await;
        assert_eq!(status, 200, "{bounded}");
        assert_eq!(bounded["total"], 7, "{bounded}");
        let (_, ancient) = app.get("/api/builds?since=1960-01-01T00:00:00Z").await;
        assert_eq!(ancient["total"], 7, "{ancient}");

        let (_, even) = app.get("/api/builds?repo=octo-org/even").await;
        assert_eq!(even["total"], 4);
        let (_, main) = app.get("/api/builds?branch=main&repo=octo-org/odd").await;
        assert_eq!(main["total"], 1);
        let (_, failed) = app.get("/api/builds?status=failed").await;
        assert_eq!(failed["total"], 1);
        assert_eq!(failed["builds"][0]["external_id"], "1006");
        let (_, ci) = app.get("/api/builds?workflow=CI&provider=github").await;
        assert_eq!(ci["total"], 8);
        // Keyset paging walks the same order as offsets, page by page.
        let walked = walk_by_cursor(&app, 3).await;
        assert_eq!(walked, ["1006", "1005", "1004", "1003", "1002", "1001", "1000", "2000"]);
        let (status, problem) = app.get("/api/builds?cursor=yesterday").await;
        assert_eq!(status, 422, "{problem}");

        let (_, none) = app.get("/api/builds?workflow=Nope").await;
        assert_eq!(none["total"], 0);
        assert_eq!(none["builds"], Value::Array(vec![]));
        assert_eq!(none["has_more"], false);
    }

    async fn cursor_paging_passes_an_attempt_known_only_from_its_jobs(app: TestApp) {
        // Runs started 10, 20 and 30 minutes ago, and an attempt known only
        // from its job, which started 15 minutes ago: it is listed by that
        // start, and the cursor after it must carry the same position.
        for (id, minutes) in [(4001, 10), (4002, 20), (4003, 30)] {
            let run = Run::new(id, minutes_ago(minutes)).at("completed", Some("success"), 60);
            app.deliver_json("workflow_run", &run.payload(), "stored").await;
        }
        let only_jobs = Run::new(4004, minutes_ago(16));
        let job = job_payload(41, &only_jobs, "in_progress", None, minutes_ago(16), minutes_ago(15), None);
        app.deliver_json("workflow_job", &job, "stored").await;

        let walked = walk_by_cursor(&app, 1).await;
        assert_eq!(walked, ["4001", "4004", "4002", "4003"], "by cursor, as by offset");
    }

    async fn build_detail_has_every_field_and_its_jobs(app: TestApp) {
        let start = minutes_ago(30);
        let run = Run::new(3000, start);
        app.deliver_json("workflow_run", &run.at("completed", Some("success"), 120).payload(), "stored").await;
        let s = |secs| start + chrono::Duration::seconds(secs);
        app.deliver_json("workflow_job", &job_payload(11, &run, "completed", Some("success"), s(0), s(20), Some(s(80))), "stored").await;
        app.deliver_json("workflow_job", &job_payload(12, &run, "completed", Some("skipped"), s(0), s(90), Some(s(90))), "stored").await;
        let builds = app.builds().await;
        let detail = app.build(&builds[0]["id"]).await;
        for field in [
            "id", "provider_kind", "provider_name", "external_id", "repo", "workflow", "workflow_id", "run_number",
            "run_attempt", "event", "branch", "commit_sha", "triggered_by", "url", "status", "provider_status",
            "conclusion", "created_at", "started_at", "first_job_started_at", "finished_at", "duration_seconds",
            "queue_seconds", "jobs",
        ] {
            assert!(detail.get(field).is_some(), "missing {field}");
        }
        assert_eq!(detail["triggered_by"], "hubot");
        assert_eq!(detail["queue_seconds"], 20);
        let jobs = detail["jobs"].as_array().expect("jobs");
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0]["external_id"], "11");
        assert_eq!(jobs[0]["duration_seconds"], 60);
        assert_eq!(jobs[0]["queue_seconds"], 20);
        assert_eq!(jobs[1]["status"], "skipped");
        for field in ["id", "external_id", "name", "status", "provider_status", "conclusion", "runner_name", "labels", "created_at", "started_at", "finished_at", "queue_seconds", "duration_seconds", "url"] {
            assert!(jobs[0].get(field).is_some(), "job missing {field}");
        }
    }
}

/// The `external_id`s of every attempt, following `next_cursor` from the
/// first page of `limit`; each page but the last says `has_more`.
async fn walk_by_cursor(app: &TestApp, limit: u32) -> Vec<String> {
    let mut walked = Vec::new();
    let mut path = format!("/api/builds?limit={limit}");
    loop {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{page}");
        for b in page["builds"].as_array().expect("array") {
            walked.push(b["external_id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert_eq!(page["has_more"], true);
                path = format!("/api/builds?limit={limit}&cursor={cursor}");
            }
            None => {
                assert_eq!(page["has_more"], false);
                return walked;
            }
        }
    }
}
