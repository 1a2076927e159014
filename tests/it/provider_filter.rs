//! `provider=<kind>` on every build and metric route, with GitHub webhook
//! rows and two generic providers' rows in one database, on both back ends.

use chrono::Duration;
use serde_json::{Value, json};

use crate::build_events::{post, run_event};
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

fn ts(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A finished generic run of `acme/app`: started `minutes` ago, lasting
/// `seconds`.
fn finished(provider: &str, run: &str, minutes: i64, seconds: i64, conclusion: &str) -> Vec<Value> {
    let start = minutes_ago(minutes);
    vec![
        run_event(provider, run, &format!("{run}-s"), "in_progress", json!({"started_at": ts(start)})),
        run_event(
            provider,
            run,
            &format!("{run}-f"),
            "completed",
            json!({"conclusion": conclusion, "completed_at": ts(start + Duration::seconds(seconds))}),
        ),
    ]
}

/// Three providers side by side (hand-worked figures below):
/// GitHub (`octo-org/app`): success 120 s (50 min ago), failure 60 s (40 min ago);
/// Buildkite (`acme/app`): success 200 s (30 min ago), one running (20 min ago);
/// Jenkins (`acme/app`): success 300 s (25 min ago), failure 100 s (10 min ago).
pub(crate) async fn seed_three_providers(app: &TestApp) {
    for (id, minutes, seconds, conclusion) in [(1, 50, 120, "success"), (2, 40, 60, "failure")] {
        let run = Run::new(id, minutes_ago(minutes)).at("completed", Some(conclusion), seconds);
        app.deliver_json("workflow_run", &run.payload(), "stored").await;
    }
    let mut events = finished("buildkite", "k1", 30, 200, "success");
    events.push(run_event(
        "buildkite",
        "k2",
        "k2-s",
        "in_progress",
        json!({"started_at": ts(minutes_ago(20))}),
    ));
    events.extend(finished("jenkins", "j1", 25, 300, "success"));
    events.extend(finished("jenkins", "j2", 10, 100, "failure"));
    let (status, answer) = post(app, &json!(events)).await;
    assert_eq!((status, answer["applied"].as_i64()), (200, Some(7)), "{answer}");
}

on_both_backends! {
    async fn every_build_and_metric_route_filters_by_provider(app: TestApp) {
        seed_three_providers(&app).await;

        let (_, all) = app.get("/api/builds").await;
        assert_eq!(all["total"], 6);
        let (_, jenkins) = app.get("/api/builds?provider=jenkins").await;
        assert_eq!(jenkins["total"], 2);
        assert!(jenkins["builds"].as_array().expect("builds").iter().all(|b| b["provider_kind"] == "jenkins"));

        // GitHub: success rate 1/2, mean (120 + 60) / 2 = 90 s.
        let (_, github) = app.get("/api/metrics/summary?provider=github").await;
        assert_eq!((github["total_builds"].as_i64(), github["success_rate"].as_f64()), (Some(2), Some(0.5)), "{github}");
        assert_eq!(github["avg_build_time_seconds"].as_f64(), Some(90.0));
        assert_eq!(github["running_now"], 0);
        // Buildkite: 2 attempts, 1 success of 200 s, 1 running now; the
        // latest buildkite attempt of acme/app is the running one.
        let (_, buildkite) = app.get("/api/metrics/summary?provider=buildkite").await;
        assert_eq!((buildkite["total_builds"].as_i64(), buildkite["running_now"].as_i64()), (Some(2), Some(1)), "{buildkite}");
        assert_eq!(buildkite["avg_build_time_seconds"].as_f64(), Some(200.0));
        assert_eq!(buildkite["by_repo"][0]["last_build_status"], "running", "{buildkite}");
        // Jenkins on acme/app: mean (300 + 100) / 2 = 200 s; its latest failed.
        let (_, jenkins) = app.get("/api/metrics/summary?provider=jenkins&repo=acme/app").await;
        assert_eq!((jenkins["total_builds"].as_i64(), jenkins["failure_count"].as_i64()), (Some(2), Some(1)), "{jenkins}");
        assert_eq!(jenkins["avg_build_time_seconds"].as_f64(), Some(200.0));
        assert_eq!(jenkins["by_repo"][0]["last_build_status"], "failed");
        assert_eq!(jenkins["last_build_status"], "failed");
        let (_, everything) = app.get("/api/metrics/summary").await;
        assert_eq!((everything["total_builds"].as_i64(), everything["running_now"].as_i64()), (Some(6), Some(1)));

        let (_, series) = app.get("/api/metrics/timeseries?provider=jenkins").await;
        assert_eq!((series["provider"].as_str(), series["totals"]["total_builds"].as_i64()), (Some("jenkins"), Some(2)), "{series}");
        let (_, health) = app.get("/api/metrics/health?provider=buildkite").await;
        let rows = health["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 1, "{health}");
        assert_eq!((rows[0]["repo"].as_str(), rows[0]["total_builds"].as_i64()), (Some("acme/app"), Some(2)));
        let (_, export) = app.get("/api/builds/export?format=json&provider=github").await;
        assert_eq!(export["builds"].as_array().map(Vec::len), Some(2), "{export}");

        for route in ["/api/builds", "/api/builds/export", "/api/metrics/summary", "/api/metrics/timeseries", "/api/metrics/health"] {
            let (status, problem) = app.get(&format!("{route}?provider=hudson")).await;
            assert_eq!(status, 422, "{route}: {problem}");
            let detail = problem["detail"].as_str().expect("detail");
            assert!(detail.contains("github") && detail.contains("buildkite"), "{route}: {detail}");
        }
    }
}
