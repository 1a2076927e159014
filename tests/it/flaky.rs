//! Flaky detection over HTTP on a dataset worked out by hand (each
//! definition of `domain::flaky`): "re-run failed jobs" with carried-over
//! successful jobs, a push and a pull_request run on one SHA, a cancelled
//! attempt, a GitLab retry; deliveries out of order and repeated. Checks
//! `/api/insights/flaky` (figures, ranking, filters, bad parameters) and
//! the `flaky` fields of `/api/builds` and `/api/builds/{id}`.

use chrono::Duration;
use serde_json::{Value, json};

use crate::gitlab_payloads::{HookJob, Pipeline, deliver};
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

/// A completed job of `run`, `name`, running from +`from` to +`to` seconds
/// after the run's start.
pub fn job(id: i64, run: &Run, name: &str, conclusion: &str, from: i64, to: i64) -> Value {
    let at = |s: i64| run.started_at + Duration::seconds(s);
    let mut payload = job_payload(id, run, "completed", Some(conclusion), at(from), at(from), Some(at(to)));
    payload["workflow_job"]["name"] = json!(name);
    payload
}

/// A run's completed payload on commit `sha` from `event`.
pub fn finished(run: &Run, conclusion: &str, seconds: i64, sha: &str, event: &str) -> Value {
    let mut payload = run.at("completed", Some(conclusion), seconds).payload();
    payload["workflow_run"]["head_sha"] = json!(sha);
    payload["workflow_run"]["event"] = json!(event);
    payload
}

/// Seeds the dataset the tests below (and the Flaky view's browser test)
/// read. GitHub, workflow "CI", repository octo-org/app:
/// - run 501 on SHA a…: attempt 1 (5 h ago) failed — build passed
///   (120 s), "test (ubuntu)" failed (300 s), "test (mac)" passed; attempt
///   2 (4 h ago, "re-run failed jobs") passed — build and test (mac)
///   carried over as new passing rows, "test (ubuntu)" passed (280 s).
///   Delivered attempt 2 first, every job twice.
/// - runs 601 (push, failed, 400 s, no jobs, 3 h ago) and 602
///   (pull_request, passed, 2 h ago) on SHA b….
/// - run 701 on SHA c…: attempt 1 cancelled, attempt 2 passed.
///
/// GitLab pipeline 9100 (project grp/app, one SHA): "test" failed (+60 →
/// +240: 180 s) with "lint" passed, then "test" retried and passed.
pub async fn seed(app: &TestApp) {
    let r501 = Run::new(501, minutes_ago(300));
    let r501b = Run { attempt: 2, started_at: minutes_ago(240), ..r501.clone() };
    let (sha_a, sha_b, sha_c) = ("a".repeat(40), "b".repeat(40), "c".repeat(40));
    app.deliver_json("workflow_run", &finished(&r501b, "success", 600, &sha_a, "push"), "stored").await;
    for payload in [
        job(5021, &r501b, "build", "success", 0, 120),
        job(5022, &r501b, "test (ubuntu)", "success", 10, 290),
        job(5023, &r501b, "test (mac)", "success", 0, 200),
        job(5011, &r501, "build", "success", 0, 120),
        job(5012, &r501, "test (ubuntu)", "failure", 10, 310),
        job(5013, &r501, "test (mac)", "success", 0, 200),
    ] {
        app.deliver_json("workflow_job", &payload, "stored").await;
        app.deliver_json("workflow_job", &payload, "stored").await;
    }
    app.deliver_json("workflow_run", &finished(&r501, "failure", 600, &sha_a, "push"), "stored").await;
    let r601 = Run::new(601, minutes_ago(180));
    let r602 = Run::new(602, minutes_ago(120));
    app.deliver_json("workflow_run", &finished(&r601, "failure", 400, &sha_b, "push"), "stored").await;
    app.deliver_json("workflow_run", &finished(&r602, "success", 500, &sha_b, "pull_request"), "stored")
        .await;
    let r701 = Run::new(701, minutes_ago(100));
    let r701b = Run { attempt: 2, started_at: minutes_ago(90), ..r701.clone() };
    app.deliver_json("workflow_run", &finished(&r701, "cancelled", 50, &sha_c, "push"), "stored").await;
    app.deliver_json("workflow_job", &job(7011, &r701, "lint", "cancelled", 0, 50), "stored").await;
    app.deliver_json("workflow_run", &finished(&r701b, "success", 60, &sha_c, "push"), "stored").await;
    app.deliver_json("workflow_job", &job(7021, &r701b, "lint", "success", 0, 60), "stored").await;

    let t0 = minutes_ago(60);
    let at = |s: i64| t0 + Duration::seconds(s);
    let pipeline = Pipeline { id: 9100, project: "grp/app", created: t0 };
    let test = HookJob {
        id: 91001,
        name: "test",
        status: "failed",
        created: t0,
        started: Some(at(60)),
        finished: Some(at(240)),
        retries_count: 0,
        allow_failure: false,
    };
    let lint =
        HookJob { id: 91002, name: "lint", status: "success", finished: Some(at(120)), ..test.clone() };
    let retry = HookJob {
        id: 91003,
        status: "success",
        created: at(600),
        started: Some(at(620)),
        finished: Some(at(720)),
        retries_count: 1,
        ..test.clone()
    };
    deliver(app, "Pipeline Hook", &pipeline.hook("failed", Some(at(300)), &[&test, &lint]), "stored").await;
    deliver(app, "Job Hook", &pipeline.job_hook(&test), "stored").await;
    deliver(app, "Job Hook", &pipeline.job_hook(&retry), "stored").await;
    deliver(app, "Pipeline Hook", &pipeline.hook("success", Some(at(720)), &[&retry, &lint]), "stored").await;
}

async fn flaky(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get(&format!("/api/insights/flaky{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

/// The build id of `run`'s attempt `attempt` (any provider).
async fn build_id(app: &TestApp, run: i64, attempt: i64) -> i64 {
    let (_, body) = app.get(&format!("/api/builds?run={run}&limit=100")).await;
    body["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .find(|b| b["run_attempt"] == attempt)
        .and_then(|b| b["id"].as_i64())
        .unwrap_or_else(|| panic!("run {run} attempt {attempt}: {body}"))
}

on_both_backends! {
    // By hand (window 7 days, every attempt in it):
    // GitHub CI — commit occurrences: SHA a (attempt 1 failed, 2 passed;
    // wasted = attempt 1's failed jobs = test (ubuntu) 300 s) and SHA b
    // (601 failed with no jobs stored: its 400 s duration); run 701's
    // cancelled attempt is no failure. occurrences 2, passed_on_retry 1
    // (501), flaky_jobs 1, flaky failures 2, wasted 700 s; conclusive
    // attempts 501×2, 601, 602, 701#2 = 5 → rate 2/5 = 0.4.
    // GitLab pipeline — attempt 1 (failed) → attempt 2 (passed): commit
    // and retry occurrences, wasted = test's 180 s; conclusive attempts
    // 2 → rate 1/2 = 0.5. Ranked: CI (700) before the pipeline (180).
    // Job keys: GitHub "test" (test (ubuntu) 300 s, rate 1/5 = 0.2) then
    // GitLab "test" (180 s, rate 0.5); "build", "test (mac)" (carried over)
    // and "lint" (cancelled, then passed) are not flaky.
    async fn flaky_insights_follow_the_hand_worked_definitions(app: TestApp) {
        seed(&app).await;
        let body = flaky(&app, "").await;
        let workflows = body["workflows"].as_array().expect("workflows");
        assert_eq!(workflows.len(), 2, "{body}");
        let ci = &workflows[0];
        assert_eq!((ci["provider_kind"].as_str(), ci["workflow"].as_str()), (Some("github"), Some("CI")), "{body}");
        assert_eq!(
            [&ci["occurrences"], &ci["passed_on_retry"], &ci["flaky_jobs"], &ci["flaky_failures"], &ci["attempts"], &ci["wasted_seconds"]],
            [&json!(2), &json!(1), &json!(1), &json!(2), &json!(5), &json!(700)],
            "{ci}"
        );
        assert_eq!(ci["flaky_rate"], 0.4);
        // Newest first: SHA b (602 started 2 h ago) before SHA a (501#2, 4 h ago).
        let examples = ci["examples"].as_array().expect("examples");
        assert_eq!(examples.len(), 2);
        assert_eq!((examples[0]["build_id"].as_i64(), examples[0]["failed_build_id"].as_i64()), (Some(build_id(&app, 602, 1).await), Some(build_id(&app, 601, 1).await)));
        assert_eq!((examples[1]["build_id"].as_i64(), examples[1]["failed_build_id"].as_i64()), (Some(build_id(&app, 501, 2).await), Some(build_id(&app, 501, 1).await)));
        assert_eq!(examples[0]["commit_sha"], "b".repeat(40));
        let gitlab = &workflows[1];
        assert_eq!(gitlab["provider_kind"], "gitlab");
        assert_eq!(
            [&gitlab["occurrences"], &gitlab["passed_on_retry"], &gitlab["flaky_jobs"], &gitlab["attempts"], &gitlab["wasted_seconds"]],
            [&json!(1), &json!(1), &json!(1), &json!(2), &json!(180)],
            "{gitlab}"
        );
        assert_eq!(gitlab["flaky_rate"], 0.5);

        let jobs = body["jobs"].as_array().expect("jobs");
        assert_eq!(jobs.len(), 2, "{body}");
        assert_eq!((jobs[0]["provider_kind"].as_str(), jobs[0]["name"].as_str()), (Some("github"), Some("test")));
        assert_eq!([&jobs[0]["occurrences"], &jobs[0]["wasted_seconds"]], [&json!(1), &json!(300)]);
        assert_eq!(jobs[0]["flaky_rate"], 0.2);
        assert_eq!(jobs[0]["examples"][0]["job_name"], "test (ubuntu)");
        assert_eq!((jobs[1]["provider_kind"].as_str(), jobs[1]["wasted_seconds"].as_i64()), (Some("gitlab"), Some(180)));
        assert_eq!(jobs[1]["flaky_rate"], 0.5);
        assert!(jobs[0]["key"].as_i64().is_some() && jobs[0]["last_seen"].as_str().is_some());

        // Filters.
        let only = flaky(&app, "?provider=gitlab").await;
        assert_eq!((only["workflows"].as_array().map(Vec::len), only["jobs"].as_array().map(Vec::len)), (Some(1), Some(1)), "{only}");
        let ci_only = flaky(&app, "?repo=octo-org/app&workflow=CI&window_days=30").await;
        assert_eq!(ci_only["workflows"][0]["wasted_seconds"], 700, "{ci_only}");
        assert_eq!(ci_only["workflows"].as_array().map(Vec::len), Some(1));
        let none = flaky(&app, "?branch=release").await;
        assert_eq!(none["workflows"], json!([]), "{none}");
        // Bad parameters: 422 problems naming them.
        for query in ["?window_days=0", "?window_days=x", "?provider=nope"] {
            let (status, problem) = app.get(&format!("/api/insights/flaky{query}")).await;
            assert_eq!(status, 422, "{query}: {problem}");
            assert!(problem["detail"].as_str().is_some(), "{problem}");
        }
    }

    // Badges: the failed and the passing attempt of each occurrence (501
    // #1 and #2, 601, 602, the pipeline's two attempts) are flaky; run
    // 701's are not. Jobs: the failed and the passing try of
    // "test (ubuntu)" (5012, 5022) and of GitLab's "test" (91001, 91003).
    async fn flaky_badges_on_attempts_and_jobs(app: TestApp) {
        seed(&app).await;
        let (_, list) = app.get("/api/builds?limit=100").await;
        let mut flags: Vec<(String, i64, bool)> = list["builds"]
            .as_array()
            .expect("builds")
            .iter()
            .map(|b| (b["external_id"].as_str().expect("id").to_string(), b["run_attempt"].as_i64().expect("n"), b["flaky"].as_bool().expect("flaky")))
            .collect();
        flags.sort();
        let expected: Vec<(String, i64, bool)> = [("501", 1, true), ("501", 2, true), ("601", 1, true), ("602", 1, true), ("701", 1, false), ("701", 2, false), ("9100", 1, true), ("9100", 2, true)]
            .iter()
            .map(|(r, n, f)| (r.to_string(), *n, *f))
            .collect();
        assert_eq!(flags, expected);
        for (run, attempt, flaky_job) in [(501, 1, "5012"), (501, 2, "5022"), (9100, 1, "91001"), (9100, 2, "91003")] {
            let detail = app.build(&json!(build_id(&app, run, attempt).await)).await;
            assert_eq!(detail["flaky"], true);
            let flaky_jobs: Vec<&str> = detail["jobs"].as_array().expect("jobs").iter()
                .filter(|j| j["flaky"] == true)
                .map(|j| j["external_id"].as_str().expect("id"))
                .collect();
            assert_eq!(flaky_jobs, [flaky_job], "{detail}");
        }
        let calm = app.build(&json!(build_id(&app, 701, 2).await)).await;
        assert_eq!(calm["flaky"], false);
        assert!(calm["jobs"].as_array().expect("jobs").iter().all(|j| j["flaky"] == false), "{calm}");
        // The CSV export carries the badge too, one row per attempt.
        let response = app.client.get(app.url("/api/builds/export?format=csv")).send().await.expect("sent");
        let body = response.text().await.expect("csv");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
        let mut exported: Vec<(String, i64, bool)> = reader
            .records()
            .map(|r| r.expect("row"))
            .map(|r| (r[column("external_id")].to_owned(), r[column("run_attempt")].parse().expect("n"), &r[column("flaky")] == "true"))
            .collect();
        exported.sort();
        assert_eq!(exported, expected);
    }

    // Attempts stored before the table existed: with the occurrences gone
    // and the marker reset, opening the database again finds the same ones.
    async fn flaky_occurrences_of_earlier_attempts_are_found_at_start_up(app: TestApp) {
        use sqlx::Connection;
        seed(&app).await;
        let before = flaky(&app, "?window_days=30").await;
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
        for sql in ["DELETE FROM flaky_occurrences", "DELETE FROM flaky_days", "UPDATE flaky_backfill SET done = 0"] {
            sqlx::query(sql).execute(&mut db).await.expect("reset");
        }
        assert_eq!(flaky(&app, "?window_days=30").await["workflows"], json!([]));
        let store = cicd_dashboard::store::Store::connect(&app.database_url, &Default::default()).await.expect("store");
        store.migrate().await.expect("migrate and backfill");
        let after = flaky(&app, "?window_days=30").await;
        assert_eq!(after["workflows"], before["workflows"]);
        assert_eq!(after["jobs"], before["jobs"]);
    }
}
