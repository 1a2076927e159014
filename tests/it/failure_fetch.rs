//! The GitHub failure fetcher against the fake GitHub API, on both back
//! ends: annotations of each failed job (only `failure`-level ones count),
//! the end of its log with `--fetch-logs` (a redirect to a download URL; a
//! 410 for an expired log; a log over the cap cut to its last lines), the
//! failed step, a hostile log line kept as plain text, no log requests
//! without `--fetch-logs`, and the budget rule stopping a pass.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cicd_dashboard::config::{FailureSettings, GitHubApiSettings, GitHubPollSettings};
use cicd_dashboard::domain::ProviderKind;
use cicd_dashboard::domain::failure::Classifier;
use cicd_dashboard::providers::failure_fetch::FailureFetch;
use cicd_dashboard::providers::github::Poller;
use cicd_dashboard::providers::github::failures::GitHubFailures;
use cicd_dashboard::scheduler::failure_reasons::record_pending;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::fake_github::{FakeGitHub, Scripted, job_object, run_object};
use crate::helpers::{TestApp, fixture_bytes};
use crate::on_both_backends;

const REPO: &str = "octo-org/app";

/// A hostile log line: must come back as the same text, never as markup.
pub const HOSTILE: &str =
    "##[error]<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script> failed";

fn failed_job(run: i64, id: i64, started: DateTime<Utc>) -> Value {
    let mut job = job_object(REPO, run, id, "failure", started);
    job["name"] = json!(format!("job-{id}"));
    job["steps"][1]["conclusion"] = json!("failure");
    job["steps"][2]["conclusion"] = json!("skipped");
    job
}

/// A fake with run 500 failed in four jobs: 9001 with annotations, 9002
/// with the recorded real log plus error lines, 9003 whose log expired,
/// 9004 whose log is over the cap (9001's log is not found).
fn scenario(fake: &FakeGitHub) {
    let created = DateTime::from_timestamp(Utc::now().timestamp() - 3600, 0).expect("time");
    let jobs = (9001..=9004).map(|id| failed_job(500, id, created)).collect();
    fake.put_attempt(REPO, run_object(REPO, 500, 1, "completed", Some("failure"), created), jobs);
    let recorded: Value =
        serde_json::from_slice(&fixture_bytes("github/api/list-check-run-annotations.json"))
            .expect("fixture");
    let mut annotations = recorded.as_array().expect("array").clone(); // a warning: not an error
    annotations
        .push(json!({"annotation_level": "failure", "message": "Process completed with exit code 1."}));
    annotations.push(json!({"annotation_level": "failure", "message": "error[E0425]: cannot find value `x` in this scope"}));
    let real_log = String::from_utf8(fixture_bytes("github/recorded/api/get-job-logs.txt")).expect("utf-8");
    let mut state = fake.state();
    state.annotations.insert(9001, annotations);
    state.logs.insert(
        9002,
        Some(format!(
            "{real_log}2021-04-05T15:43:00.1Z {HOSTILE}\r\n##[error]Process completed with exit code 1.\r\n"
        )),
    );
    state.logs.insert(9003, None);
    let filler: String = (0..3000).map(|i| format!("2021-04-05T15:43:00.1Z building module {i}\n")).collect();
    state.logs.insert(9004, Some(format!("{filler}npm ERR! code ECONNRESET\n")));
}

async fn setup(app: &TestApp, fake: &FakeGitHub, fetch_logs: bool) -> (GitHubFailures, Store) {
    let settings = GitHubPollSettings {
        api: GitHubApiSettings {
            github_api_url: fake.url(),
            github_token: Some(Secret::from("ghp_test_token_value")),
            ..GitHubApiSettings::default()
        },
        repos: vec![REPO.into()],
        backfill_days: 1,
        github_retry_base_ms: 20,
        github_secondary_wait_ms: 50,
        ..GitHubPollSettings::default()
    };
    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    let poller = Poller::from_settings(&settings, &store).expect("settings").expect("poller");
    poller.tick(Utc::now()).await.expect("poll");
    let classifier = Arc::new(Classifier::new(&[]).expect("classifier"));
    let now = Utc::now().timestamp();
    assert_eq!(record_pending(&store, &classifier, &[ProviderKind::GitHub], now).await.expect("pass"), 4);
    let settings = FailureSettings { fetch_logs, log_excerpt_bytes: 4096, ..FailureSettings::default() };
    let fetch = FailureFetch { store: store.clone(), classifier, settings };
    (GitHubFailures { client: poller.client().clone(), fetch }, store)
}

async fn failures_by_job(app: &TestApp) -> Vec<Value> {
    let builds = app.builds().await;
    let (status, detail) = app.get(&format!("/api/builds/{}", builds[0]["id"])).await;
    assert_eq!(status, 200, "{detail}");
    detail["failures"].as_array().expect("failures").clone()
}

on_both_backends! {
    async fn annotations_and_log_tails_become_error_lines_signatures_and_classes(app: TestApp) {
        let fake = FakeGitHub::start().await;
        scenario(&fake);
        let (fetcher, _store) = setup(&app, &fake, true).await;
        let stats = fetcher.pass().await.expect("pass");
        assert_eq!((stats.recorded, stats.logs, stats.logs_missing, stats.stopped), (4, 2, 2, false), "{stats:?}");
        assert_eq!(fake.requests(&format!("/repos/{REPO}/check-runs/")).len(), 4);
        assert_eq!(fake.requests(&format!("/repos/{REPO}/actions/jobs/")).len(), 4);
        assert_eq!(fake.requests("/_download/logs/").len(), 2, "redirects followed");
        // Nothing is asked twice.
        assert_eq!(fetcher.pass().await.expect("again").recorded, 0);

        let failures = failures_by_job(&app).await;
        assert_eq!(failures.len(), 4);
        let first = &failures[0];
        assert_eq!(first["failed_step"], "Run a one-line script");
        assert_eq!(first["failed_step_number"], 2);
        assert_eq!(first["source"], "annotation");
        assert_eq!(
            first["error_lines"],
            json!(["Process completed with exit code 1.", "error[E0425]: cannot find value `x` in this scope"])
        );
        assert_eq!(first["signature"], "error[E<n>]: cannot find value '<value>' in this scope");
        assert_eq!(first["class"], "code");
        assert_eq!(first["log_excerpt"], Value::Null, "9001's log is not found (404)");

        let second = &failures[1];
        assert_eq!(second["source"], "log");
        let lines: Vec<&str> = second["error_lines"].as_array().expect("lines").iter().filter_map(Value::as_str).collect();
        assert!(lines.contains(&HOSTILE), "the hostile line is kept verbatim as text: {lines:?}");
        assert!(second["log_excerpt"].as_str().expect("excerpt").contains("Current runner version"));
        assert_eq!(second["log_truncated"], false);

        let third = &failures[2];
        assert_eq!((third["source"].as_str(), third["log_excerpt"].as_str()), (Some("none"), None), "410: expired log");

        let fourth = &failures[3];
        let excerpt = fourth["log_excerpt"].as_str().expect("excerpt");
        assert!(excerpt.len() <= 4096 && excerpt.ends_with("npm ERR! code ECONNRESET\n"), "{}", excerpt.len());
        assert!(excerpt.starts_with("2021-04-05T15:43:00.1Z building module"), "cut at a line start");
        assert_eq!(fourth["log_truncated"], true);
        assert_eq!((fourth["class"].as_str(), fourth["class_reason"].as_str()), (Some("infrastructure"), Some("network")));
    }

    async fn without_fetch_logs_no_log_is_asked_for_and_the_budget_rule_stops_a_pass(app: TestApp) {
        let fake = FakeGitHub::start().await;
        scenario(&fake);
        let (fetcher, _store) = setup(&app, &fake, false).await;
        // The first annotation answer says the budget is spent: the pass
        // stops after it and leaves the other jobs for the next pass.
        fake.state().script.push_back(("GET".into(), format!("/repos/{REPO}/check-runs/"), Scripted::Exhausted { reset_in: 1 }));
        let stats = fetcher.pass().await.expect("pass");
        assert_eq!((stats.recorded, stats.stopped), (1, true), "{stats:?}");
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let stats = fetcher.pass().await.expect("after the reset");
        assert_eq!((stats.recorded, stats.logs, stats.stopped), (3, 0, false), "{stats:?}");
        assert!(fake.requests(&format!("/repos/{REPO}/actions/jobs/")).is_empty());
        let failures = failures_by_job(&app).await;
        assert!(failures.iter().all(|f| f["log_excerpt"].is_null()));
        assert_eq!(failures[0]["source"], "annotation");
    }
}
