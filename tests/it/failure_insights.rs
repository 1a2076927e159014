//! Failure insights over HTTP on a hand-worked dataset, on both back ends:
//! failed jobs come in through the generic build API, get their reasons
//! from the `failure-reasons` pass and from error messages written the way
//! a fetcher writes them, and `/api/insights/failures`, its signature
//! detail and the build detail answer what was worked out by hand.
//! Messy cases: a cancelled job (not a failure), a failure outside the
//! window, a job delivered twice, one arriving before its run.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::config::FailureSettings;
use cicd_dashboard::domain::ProviderKind;
use cicd_dashboard::domain::failure::Classifier;
use cicd_dashboard::providers::failure_fetch::FailureFetch;
use cicd_dashboard::scheduler::failure_reasons::record_pending;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::build_events::post;
use crate::helpers::TestApp;
use crate::on_both_backends;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A finished run `run` of `repo` on `branch` with one job `job` that
/// ended `conclusion` at `end` (started 60 s before), as generic events;
/// the job first, so it arrives before its run.
fn run(repo: &str, branch: &str, run: &str, job: &str, conclusion: &str, end: DateTime<Utc>) -> Vec<Value> {
    let start = end - Duration::seconds(60);
    vec![
        json!({"idempotency_key": format!("{run}-job"), "type": "job", "provider": "jenkins",
               "repository": repo, "run_id": run, "job_id": format!("{run}-{job}"), "name": job,
               "status": "completed", "conclusion": conclusion, "started_at": ts(start),
               "completed_at": ts(end)}),
        json!({"idempotency_key": format!("{run}-run"), "type": "run", "provider": "jenkins",
               "repository": repo, "workflow": "pipeline", "run_id": run, "status": "completed",
               "conclusion": conclusion, "branch": branch, "started_at": ts(start), "completed_at": ts(end)}),
    ]
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn names(value: &Value) -> Vec<&str> {
    value.as_array().expect("array").iter().map(|v| v.as_str().expect("text")).collect()
}

/// The hand-worked dataset (see the test below), reasons recorded; answers
/// the failure times (a1, a2, a3, b1, c1).
pub(crate) async fn seed(app: &crate::helpers::TestApp) -> [DateTime<Utc>; 5] {
    let now = Utc::now();
    // Failures (signature S1: "assertion failed at <path>:<n>", code;
    // S2: "npm ERR! code ECONNRESET", network → infrastructure):
    //   a1 acme/app main    test  2 days ago  S1
    //   a2 acme/app feature test  1 day ago   S1
    //   a3 acme/web main    lint  3 hours ago S1
    //   b1 acme/app main    build 1 day ago   S2
    //   c1 acme/app main    test  10 days ago S1 (outside 7 days, inside 30)
    //   d1 acme/app main    test  cancelled 1 hour ago: not a failure
    //   e1 acme/app main    test  success: not a failure
    let (a1, a2, a3) = (now - Duration::days(2), now - Duration::days(1), now - Duration::hours(3));
    let (b1, c1) = (now - Duration::days(1) - Duration::minutes(5), now - Duration::days(10));
    let mut events = Vec::new();
    events.extend(run("acme/app", "main", "a1", "test", "failure", a1));
    events.extend(run("acme/app", "feature", "a2", "test", "failure", a2));
    events.extend(run("acme/web", "main", "a3", "lint", "failure", a3));
    events.extend(run("acme/app", "main", "b1", "build", "failure", b1));
    events.extend(run("acme/app", "main", "c1", "test", "failure", c1));
    events.extend(run("acme/app", "main", "d1", "test", "cancelled", now - Duration::hours(1)));
    events.extend(run("acme/app", "main", "e1", "test", "success", now - Duration::hours(1)));
    let (status, body) = post(app, &json!({"events": events})).await;
    assert_eq!(status, 200, "{body}");
    // The same job again: still one failure.
    let (status, body) =
        post(app, &json!({"events": run("acme/app", "main", "a1", "test", "failure", a1)})).await;
    assert_eq!(status, 200, "{body}");

    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    let classifier = Arc::new(Classifier::new(&[]).expect("no patterns"));
    let pending = store.failures().pending(0, 100).await.expect("pending");
    let mut ids: Vec<&str> = pending.iter().map(|p| p.external_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["a1-test", "a2-test", "a3-lint", "b1-build", "c1-test"]);
    // The pass gives every failed job a reason (none known yet: no signature).
    let recorded =
        record_pending(&store, &classifier, &[ProviderKind::GitHub], now.timestamp()).await.expect("pass");
    assert_eq!(recorded, 5);
    assert_eq!(record_pending(&store, &classifier, &[], now.timestamp()).await.expect("again"), 0);
    assert_eq!(get(app, "/api/insights/failures").await["signatures"], json!([]));
    // What a fetcher would have found.
    let fetch = FailureFetch { store: store.clone(), classifier, settings: FailureSettings::default() };
    for job in &pending {
        let message = match job.external_id.as_str() {
            "a1-test" => "assertion failed at src/a.rs:10",
            "a2-test" => "assertion failed at src/b/c.rs:42",
            "a3-lint" | "c1-test" => "assertion failed at lib/x.py:7",
            _ => "npm ERR! code ECONNRESET",
        };
        fetch.save(job, &[message.to_owned()], None, now.timestamp()).await.expect("save");
    }

    [a1, a2, a3, b1, c1]
}

on_both_backends! {
    async fn top_signatures_detail_and_same_error_counts_match_the_hand_worked_answer(app: TestApp) {
        let [_, _, a3, _, c1] = seed(&app).await;
        let list = get(&app, "/api/insights/failures").await;
        assert_eq!(list["window_days"], 7);
        let signatures = list["signatures"].as_array().expect("signatures");
        assert_eq!(signatures.len(), 2, "{list}");
        let s1 = &signatures[0];
        assert_eq!(s1["text"], "assertion failed at <path>:<n>");
        assert_eq!((s1["failures"].as_i64(), s1["builds"].as_i64()), (Some(3), Some(3)));
        assert_eq!(s1["class"], "code");
        assert_eq!(s1["infrastructure_failures"], 0);
        assert_eq!(s1["first_seen"], ts(c1), "first seen ever, not in the window");
        assert_eq!(s1["last_seen"], ts(a3));
        assert_eq!(names(&s1["jobs"]), ["test", "lint"]);
        assert_eq!(names(&s1["branches"]), ["main", "feature"]);
        assert_eq!(names(&s1["repositories"]), ["acme/app", "acme/web"]);
        let builds = app.builds().await;
        let build_of = |run: &str| builds.iter().find(|b| b["external_id"] == run).expect("build")["id"].as_i64().expect("id");
        assert_eq!(s1["example_build_id"].as_i64(), Some(build_of("a3")));
        let s2 = &signatures[1];
        assert_eq!((s2["text"].as_str(), s2["failures"].as_i64()), (Some("npm ERR! code ECONNRESET"), Some(1)));
        assert_eq!((s2["class"].as_str(), s2["infrastructure_failures"].as_i64()), (Some("infrastructure"), Some(1)));

        // Filters: class, repository, branch, a 30-day window.
        let infra = get(&app, "/api/insights/failures?class=infrastructure").await;
        assert_eq!(infra["signatures"].as_array().map(Vec::len), Some(1));
        assert_eq!(infra["signatures"][0]["fingerprint"], s2["fingerprint"]);
        let web = get(&app, "/api/insights/failures?repo=acme/web").await;
        assert_eq!(web["signatures"][0]["failures"], 1);
        let feature = get(&app, "/api/insights/failures?branch=feature&workflow=pipeline").await;
        assert_eq!(feature["signatures"][0]["failures"], 1);
        let month = get(&app, "/api/insights/failures?window_days=30").await;
        assert_eq!(month["signatures"][0]["failures"], 4);

        // The signature's failed jobs, newest first.
        let fingerprint = s1["fingerprint"].as_str().expect("fingerprint");
        let detail = get(&app, &format!("/api/insights/failures/{fingerprint}")).await;
        assert_eq!(detail["failures"], 4);
        let runs: Vec<&str> = detail["builds"].as_array().expect("builds").iter().map(|b| b["run_id"].as_str().expect("run")).collect();
        assert_eq!(runs, ["a3", "a2", "a1", "c1"]);
        assert_eq!(detail["builds"][2]["first_error_line"], "assertion failed at src/a.rs:10");

        // Build detail: a1's failed job, same error in 3 other builds.
        let a1_build = get(&app, &format!("/api/builds/{}", build_of("a1"))).await;
        let failure = &a1_build["failures"][0];
        assert_eq!(failure["job_name"], "test");
        assert_eq!(failure["source"], "annotation");
        assert_eq!(failure["error_lines"], json!(["assertion failed at src/a.rs:10"]));
        assert_eq!(failure["same_error_builds"], 3);
        assert_eq!(failure["other_build_ids"], json!([build_of("a3"), build_of("a2"), build_of("c1")]));
        let cancelled = get(&app, &format!("/api/builds/{}", build_of("d1"))).await;
        assert_eq!(cancelled["failures"], json!([]));
    }

    async fn bad_parameters_are_problems_not_errors(app: TestApp) {
        for query in ["class=bogus", "window_days=0", "window_days=366", "window_days=x"] {
            let (status, body) = app.get(&format!("/api/insights/failures?{query}")).await;
            assert_eq!(status, 422, "{query}: {body}");
            assert!(body["detail"].is_string(), "{body}");
        }
        for fingerprint in ["0123456789abcdef", "nothex", "'%20OR%201=1"] {
            let (status, _) = app.get(&format!("/api/insights/failures/{fingerprint}")).await;
            assert_eq!(status, 404, "{fingerprint}");
        }
    }
}
