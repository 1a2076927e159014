//! A test-results upload for a run attempt not seen yet stores a placeholder
//! attempt of status `tests_reported`: not running, not queued, not finished,
//! in no figure of the summary; the run's real delivery replaces it, and a
//! later upload never puts it back.

use serde_json::Value;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};
use crate::test_results::{QUERY, junit, upload};

async fn summary(app: &TestApp) -> Value {
    let (status, summary) = app.get("/api/metrics/summary?window_days=7").await;
    assert_eq!(status, 200, "{summary}");
    summary
}

on_both_backends! {
    async fn an_upload_before_its_run_is_tests_reported_and_counts_nowhere(app: TestApp) {
        let (status, answer) = upload(&app, QUERY, "application/xml", junit("go-junit-report.xml")).await;
        assert_eq!(status, 201, "{answer}");
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        assert_eq!(builds[0]["status"], "tests_reported", "{}", builds[0]);
        assert_eq!(builds[0]["provider_status"], "tests_reported", "{}", builds[0]);

        // In no figure: not running, not queued, not a build of the window.
        let figures = summary(&app).await;
        for key in ["running_now", "queued_now", "in_progress_count", "queued_count", "completed_builds", "total_builds", "unknown_count"] {
            assert_eq!(figures[key], 0, "{key}: {figures}");
        }
        let (_, running) = app.get("/api/builds?status=running").await;
        assert_eq!(running["total"], 0, "{running}");
        let (_, reported) = app.get("/api/builds?status=tests_reported").await;
        assert_eq!(reported["total"], 1, "{reported}");

        // The run's own delivery (queued) replaces the placeholder.
        app.deliver_json("workflow_run", &Run::new(4242, minutes_ago(5)).payload(), "stored").await;
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        assert_eq!([&builds[0]["status"], &builds[0]["provider_status"]], ["queued", "queued"], "{}", builds[0]);
        let figures = summary(&app).await;
        assert_eq!([&figures["queued_now"], &figures["running_now"], &figures["total_builds"]], [1, 0, 1], "{figures}");

        // A later upload for the same attempt does not set it back.
        let (status, answer) = upload(&app, QUERY, "application/xml", junit("pytest.skipped.xml")).await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(app.builds().await[0]["status"], "queued");
    }
}
