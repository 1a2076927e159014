//! `cicd-dashboard replay` against a running server, as the README's quick
//! start uses it.

use std::process::Command;

use crate::helpers::{SECRET, TestApp, fixture_path};
use crate::on_both_backends;

fn replay(app: &TestApp, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
        .arg("replay")
        .args(args)
        .args(["--url", &app.base, "--secret", SECRET])
        .env_remove("CICD_INGEST_TOKEN")
        .output()
        .expect("run replay");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

on_both_backends! {
    async fn replaying_the_bundled_deliveries_fills_the_dashboard(app: TestApp) {
        let webhooks = fixture_path("github/webhooks");
        let recorded = fixture_path("github/recorded/webhooks");
        let (ok, out) = tokio::task::block_in_place(|| {
            replay(&app, &[webhooks.to_str().expect("path"), recorded.to_str().expect("path"), "--shift-to-now"])
        });
        assert!(ok, "{out}");
        assert!(out.contains("0 not accepted"), "{out}");
        assert!(out.lines().any(|l| l.starts_with("202 stored") && l.contains("workflow_run.completed.json")), "{out}");
        // Runs: octokit 289782451; recorded 680604745, 680634037, 680659312; job-only runs
        // 2202229078, 5373506832, 4747967848, 2408553341 → 8 attempts.
        let builds = app.builds().await;
        assert_eq!(builds.len(), 8, "{builds:#?}");
        let (_, summary) = app.get("/api/metrics/summary?window_days=1").await;
        assert!(summary["total_builds"].as_i64().unwrap_or(0) >= 4, "shifted to now: {summary}");
    }

    async fn replay_exits_non_zero_when_deliveries_are_refused(app: TestApp) {
        let file = fixture_path("github/webhooks/workflow_run.completed.json");
        let output = tokio::task::block_in_place(|| {
            Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
                .args(["replay", file.to_str().expect("path"), "--url", &app.base, "--secret", "wrong"])
                .output()
                .expect("run replay")
        });
        assert!(!output.status.success());
        let out = String::from_utf8_lossy(&output.stdout);
        assert!(out.starts_with("401"), "{out}");
        // One file and one refused delivery, in the singular.
        assert!(out.contains("\n1 file: 0 accepted (0 stored, 0 duplicate, 0 ignored), 1 not accepted"), "{out}");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains("1 delivery was not accepted"), "{err}");
        assert!(app.builds().await.is_empty());
    }
}
