//! Reads the page needs beyond the plain list: `latest_attempt=true` (each
//! run's final outcome), `GET /api/repos` (repository suggestions) and the
//! health line's `latest.branch`, on hand-worked datasets.

use serde_json::Value;

use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

/// Attempt `attempt` of run `id`, started `minutes` ago, ended with `conclusion`.
fn attempt(id: i64, attempt: i64, minutes: i64, conclusion: &str) -> Value {
    let mut run = Run::new(id, minutes_ago(minutes));
    run.attempt = attempt;
    run.at("completed", Some(conclusion), 60).payload()
}

/// `(external_id, run_attempt)` of each build of a list answer.
fn keys(page: &Value) -> Vec<(String, i64)> {
    page["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .map(|b| {
            (b["external_id"].as_str().expect("id").to_owned(), b["run_attempt"].as_i64().expect("attempt"))
        })
        .collect()
}

fn key(id: &str, attempt: i64) -> (String, i64) {
    (id.to_owned(), attempt)
}

on_both_backends! {
    async fn latest_attempt_keeps_each_runs_final_outcome(app: TestApp) {
        // Run 1: failed, then fixed by a re-run (success).
        // Run 2: failed once, never re-run.
        // Run 3: success.
        // Run 4: failed, cancelled, failed again (three attempts).
        // Run 5: failed 50 minutes ago, fixed by a re-run 5 minutes ago.
        for (id, n, minutes, conclusion) in [
            (1, 1, 40, "failure"), (1, 2, 30, "success"),
            (2, 1, 35, "failure"),
            (3, 1, 25, "success"),
            (4, 1, 20, "failure"), (4, 2, 15, "cancelled"), (4, 3, 10, "failure"),
            (5, 1, 50, "failure"), (5, 2, 5, "success"),
        ] {
            app.deliver_json("workflow_run", &attempt(id, n, minutes, conclusion), "stored").await;
        }
        // Every attempt: 9; failed attempts: 1/1, 2/1, 4/1, 4/3, 5/1 = 5.
        let (_, all) = app.get("/api/builds").await;
        assert_eq!(all["total"], 9);
        let (_, failed) = app.get("/api/builds?status=failed").await;
        assert_eq!(failed["total"], 5);
        // Final outcomes: 1 success (attempt 2), 2 failed, 3 success, 4 failed (attempt 3), 5 success (attempt 2).
        let (status, latest) = app.get("/api/builds?latest_attempt=true").await;
        assert_eq!(status, 200, "{latest}");
        assert_eq!(latest["total"], 5);
        assert_eq!(keys(&latest), [key("5", 2), key("4", 3), key("3", 1), key("1", 2), key("2", 1)]);
        // The failed filter with final outcomes: runs 2 and 4 only (run 1 was fixed).
        let (_, still_failing) = app.get("/api/builds?status=failed&latest_attempt=true").await;
        assert_eq!(still_failing["total"], 2);
        assert_eq!(keys(&still_failing), [key("4", 3), key("2", 1)]);
        // A later attempt outside the other filters still replaces an earlier one:
        // since 45 minutes ago leaves out run 5's first attempt by start, and
        // until 8 minutes ago leaves out its re-run; run 5 is not listed at all.
        let since = (minutes_ago(45)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let until = (minutes_ago(8)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (_, ranged) = app.get(&format!("/api/builds?latest_attempt=true&since={since}&until={until}")).await;
        assert_eq!(keys(&ranged), [key("4", 3), key("3", 1), key("1", 2), key("2", 1)]);
        // `false` (or `0`) is the same as leaving it out; the export follows it too.
        let (_, off) = app.get("/api/builds?latest_attempt=false").await;
        assert_eq!(off["total"], 9);
        let (_, zero) = app.get("/api/builds?latest_attempt=0&status=failed").await;
        assert_eq!(zero["total"], 5);
        let (_, exported) = app.get("/api/builds/export?format=json&latest_attempt=1&status=failed").await;
        assert_eq!(keys(&exported), [key("4", 3), key("2", 1)]);
        // Anything else is a 422 problem naming the parameter.
        let response = app.client.get(app.url("/api/builds?latest_attempt=yes")).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 422);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.expect("json");
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("latest_attempt")), "{problem}");
    }

    async fn repos_lists_every_repository_with_builds(app: TestApp) {
        let (status, empty) = app.get("/api/repos").await;
        assert_eq!(status, 200);
        assert_eq!(empty, serde_json::json!({"repos": []}));
        // Three repositories, one with two attempts; names sort byte-wise.
        let mut latest = None;
        for (id, repo, minutes) in [(1, "octo-org/web", 30), (2, "octo-org/api", 20), (3, "octo-org/web", 10), (4, "acme/tools", 5)] {
            let mut run = Run::new(id, minutes_ago(minutes));
            run.repo = repo.into();
            if id == 3 {
                latest = Some(run.started_at);
            }
            app.deliver_json("workflow_run", &run.at("completed", Some("success"), 30).payload(), "stored").await;
        }
        let (status, body) = app.get("/api/repos").await;
        assert_eq!(status, 200, "{body}");
        let names: Vec<&str> = body["repos"].as_array().expect("repos").iter().map(|r| r["repo"].as_str().expect("repo")).collect();
        assert_eq!(names, ["acme/tools", "octo-org/api", "octo-org/web"]);
        let web = latest.expect("web").to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(body["repos"][2]["last_started_at"], web.as_str(), "the later of its two attempts");
    }

    async fn health_lines_name_the_latest_attempts_branch(app: TestApp) {
        // CI on main, then on feature/login (latest); Lint only on main.
        for (id, workflow, branch, minutes, conclusion) in [
            (1, "CI", "main", 30, "success"),
            (2, "CI", "feature/login", 20, "failure"),
            (3, "Lint", "main", 10, "success"),
        ] {
            let mut run = Run::new(id, minutes_ago(minutes));
            run.workflow = workflow.into();
            run.branch = branch.into();
            app.deliver_json("workflow_run", &run.at("completed", Some(conclusion), 30).payload(), "stored").await;
        }
        let (status, health) = app.get("/api/metrics/health").await;
        assert_eq!(status, 200, "{health}");
        let rows = health["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0]["workflow"].as_str(), rows[0]["latest"]["branch"].as_str()), (Some("CI"), Some("feature/login")));
        assert_eq!(rows[0]["last_failure"]["branch"], "feature/login");
        assert_eq!((rows[1]["workflow"].as_str(), rows[1]["latest"]["branch"].as_str()), (Some("Lint"), Some("main")));
        // The branch filter narrows the attempts first: CI on main alone.
        let (_, main) = app.get("/api/metrics/health?branch=main").await;
        assert_eq!(main["rows"][0]["latest"]["branch"], "main");
        assert_eq!(main["rows"][0]["last_failure"], Value::Null);
    }
}
