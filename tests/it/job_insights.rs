//! `/api/insights/jobs` and `/api/insights/jobs/{key}` over HTTP on a
//! dataset worked out by hand: a job queued before its run started, a
//! re-run's carried-over job, clock skew, a still-queued job, a skipped
//! job, matrix variants grouped under one key, steps; the same answers
//! from the daily roll-ups after a fold; bad parameters.

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::store::rollups::{DAY, plan};
use cicd_dashboard::store::{Grain, JobFilter, Store, hour_plan};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::job_steps::{step, with_steps};
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

/// A job of `run` named `name`: created at +`created`, started at
/// +`started` (None: still queued), completed at +`done` with
/// `conclusion` (None: in progress), seconds from the run's start.
pub fn job(
    id: i64,
    run: &Run,
    name: &str,
    created: i64,
    started: Option<i64>,
    done: Option<(i64, &str)>,
) -> Value {
    let at = |s: i64| run.started_at + Duration::seconds(s);
    let status = match (started, done) {
        (_, Some(_)) => "completed",
        (Some(_), None) => "in_progress",
        (None, None) => "queued",
    };
    let mut payload = job_payload(
        id,
        run,
        status,
        done.map(|(_, c)| c),
        at(created),
        at(started.unwrap_or(created)),
        done.map(|(s, _)| at(s)),
    );
    payload["workflow_job"]["name"] = json!(name);
    payload
}

fn steps_at(run: &Run, steps: &[(i64, &str, &str, i64, i64)]) -> Vec<Value> {
    let at = |s: i64| Some(run.started_at + Duration::seconds(s));
    steps
        .iter()
        .map(|&(n, name, conclusion, from, to)| {
            let mut s = step(n, "completed", Some(conclusion), at(from), at(to));
            s["name"] = json!(name);
            s
        })
        .collect()
}

/// Seeds the hand-worked dataset the tests below (and the Jobs view's
/// browser test) read.
pub async fn seed(app: &TestApp) {
    let start = |minutes: i64| -> DateTime<Utc> { minutes_ago(minutes) };
    let r1 = Run::new(1, start(24 * 60));
    let r2 = Run::new(2, start(2 * 24 * 60));
    let mut r2b = r2.clone();
    r2b.attempt = 2;
    r2b.started_at = r2.started_at + Duration::seconds(1000);
    let r3 = Run::new(3, start(3 * 60));
    let r4 = Run::new(4, start(9 * 24 * 60));
    for run in [&r1, &r2, &r2b, &r4] {
        app.deliver_json("workflow_run", &run.at("completed", Some("success"), 2000).payload(), "stored")
            .await;
    }
    app.deliver_json("workflow_run", &r3.at("in_progress", None, 10).payload(), "stored").await;
    let jobs = [
        // Queued 10 s before its run started, picked up at +20: queue 30, run 60.
        with_steps(
            job(11, &r1, "test (ubuntu-latest, 3.11)", -10, Some(20), Some((80, "success"))),
            steps_at(
                &r1,
                &[
                    (1, "Set up job", "success", 20, 22),
                    (2, "Run tests", "success", 22, 72),
                    (3, "Upload", "skipped", 72, 72),
                ],
            ),
        ),
        with_steps(
            job(12, &r1, "test (windows-latest, 3.11)", 0, Some(10), Some((130, "failure"))),
            steps_at(&r1, &[(1, "Set up job", "success", 10, 16), (2, "Run tests", "failure", 16, 116)]),
        ),
        // Skew: completed 3 s before it started → run 0.
        job(13, &r1, "lint", 0, Some(5), Some((2, "success"))),
        // Skipped: its steps (as a provider may send them) are in no figure.
        with_steps(
            job(14, &r1, "deploy", 0, Some(0), Some((0, "skipped"))),
            steps_at(&r1, &[(1, "Deploy", "success", 0, 5)]),
        ),
        with_steps(
            job(21, &r2, "test (ubuntu-latest, 3.11)", 0, Some(40), Some((220, "success"))),
            steps_at(&r2, &[(1, "Set up job", "success", 40, 44), (2, "Run tests", "failure", 44, 194)]),
        ),
        // Skew: started 3 s before it was created → queue 0; run 33.
        job(22, &r2, "lint", 0, Some(-3), Some((30, "success"))),
        // Attempt 2: "lint" carried over (completed before the attempt
        // began), "test" re-run: queue 10, run 60.
        with_steps(
            job(23, &r2b, "lint", -1000, Some(-997), Some((-970, "success"))),
            steps_at(&r2b, &[(1, "Lint", "success", -997, -971)]),
        ),
        job(24, &r2b, "test (ubuntu-latest, 3.11)", 0, Some(10), Some((70, "success"))),
        job(31, &r3, "test (ubuntu-latest, 3.11)", 0, None, None),
        job(32, &r3, "lint", 0, Some(15), None),
        // The previous window.
        job(41, &r4, "test (ubuntu-latest, 3.11)", 0, Some(10), Some((110, "success"))),
        job(42, &r4, "test (macos-latest, 3.12)", 0, Some(20), Some((320, "failure"))),
    ];
    for payload in &jobs {
        app.deliver_json("workflow_job", payload, "stored").await;
    }
}

/// An answer without the fields that move with the clock.
async fn get(app: &TestApp, path: &str) -> Value {
    let (status, mut body) = app.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    for field in ["window_start", "previous_window_start"] {
        body.as_object_mut().expect("object").remove(field);
    }
    body
}

fn line<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))
}

on_both_backends! {
    async fn job_insights_from_a_hand_worked_dataset(app: TestApp) {
        seed(&app).await;
        let list = get(&app, "/api/insights/jobs?window_days=7").await;
        // "deploy" ran only skipped: not listed.
        assert_eq!(list["jobs"].as_array().expect("jobs").len(), 2, "{list}");
        // test: jobs 11, 12, 21, 24 and still-queued 31 → 5 runs; success
        // 11, 21, 24, failed 12 → 1/4. Durations {60, 120, 180, 60} sorted
        // {60, 60, 120, 180}: p50 h = 1.5 → 90, p95 h = 2.85 → 120 + 0.85·60
        // = 171. Queues (31 has none) {30, 10, 40, 10} → {10, 10, 30, 40}:
        // p50 20, p95 h = 2.85 → 30 + 0.85·10 = 38.5. Runner time 420.
        let test = line(&list, "test");
        assert_eq!(test["repo"], "octo-org/app");
        assert_eq!(test["workflow"], "CI");
        assert_eq!(test["provider_kind"], "github");
        assert_eq!(test["runs"], 5);
        assert_eq!(test["failed"], 1);
        assert_eq!(test["failure_rate"], json!(0.25));
        assert_eq!(test["p50_duration_seconds"], json!(90.0));
        assert_eq!(test["p95_duration_seconds"], json!(171.0));
        assert_eq!(test["p50_queue_seconds"], json!(20.0));
        assert_eq!(test["p95_queue_seconds"], json!(38.5));
        assert_eq!(test["runner_seconds"], 420);
        // Steps by name: "Run tests" {50, 100, 150} p50 100 beats "Set up
        // job" {2, 6, 4} p50 4; "Upload" was skipped.
        assert_eq!(test["slowest_step"]["name"], "Run tests");
        assert_eq!(test["slowest_step"]["p50_duration_seconds"], json!(100.0));
        // Previous window: 41 (success, 100 s, queue 10) and 42 (failure,
        // 300 s, queue 20): rate 0.5, p50 200, p95 h = 0.95 → 290, runner 400.
        assert_eq!(test["previous"]["runs"], 2);
        assert_eq!(test["previous"]["failure_rate"], json!(0.5));
        assert_eq!(test["previous"]["p50_duration_seconds"], json!(200.0));
        assert_eq!(test["previous"]["p95_duration_seconds"], json!(290.0));
        assert_eq!(test["change"]["runs"], 3);
        assert_eq!(test["change"]["failure_rate"], json!(-0.25));
        assert_eq!(test["change"]["p50_duration_seconds"], json!(-110.0));
        assert_eq!(test["change"]["runner_seconds"], 20);
        // lint: 13, 22, 32 (23 carried over) → 3 runs, 0 of 2 failed.
        // Durations {0 (skew), 33}: p50 16.5, p95 0.95·33 = 31.35. Queues
        // {5, 0 (skew), 15}: p50 5, p95 h = 1.9 → 5 + 0.9·10 = 14. Runner 33.
        let lint = line(&list, "lint");
        assert_eq!(lint["runs"], 3);
        assert_eq!(lint["failure_rate"], json!(0.0));
        assert_eq!(lint["p50_duration_seconds"], json!(16.5));
        assert_eq!(lint["p95_duration_seconds"], json!(31.35));
        assert_eq!(lint["p50_queue_seconds"], json!(5.0));
        assert_eq!(lint["p95_queue_seconds"], json!(14.0));
        assert_eq!(lint["runner_seconds"], 33);
        assert_eq!(lint["slowest_step"], Value::Null);
        let lint_key = lint["key"].as_i64().expect("key");
        let lint_detail = get(&app, &format!("/api/insights/jobs/{lint_key}?window_days=7")).await;
        assert_eq!(lint_detail["steps"], json!([]), "the carried-over job's Lint step is in no figure");
        assert_eq!(lint["previous"]["runs"], 0);
        assert_eq!(lint["change"]["p50_duration_seconds"], Value::Null);

        // Default order: runner time, most first; sortable by each figure.
        let names = |l: &Value| -> Vec<String> {
            l["jobs"].as_array().expect("jobs").iter().map(|j| j["name"].as_str().unwrap_or_default().to_owned()).collect()
        };
        assert_eq!(names(&list), ["test", "lint"]);
        assert_eq!(names(&get(&app, "/api/insights/jobs?sort=name&order=asc").await), ["lint", "test"]);
        assert_eq!(names(&get(&app, "/api/insights/jobs?sort=failure_rate&order=asc").await), ["lint", "test"]);
        // Nulls last in either order.
        assert_eq!(names(&get(&app, "/api/insights/jobs?sort=slowest_step&order=asc").await), ["test", "lint"]);
        // Filters.
        assert_eq!(names(&get(&app, "/api/insights/jobs?workflow=Other").await).len(), 0);
        assert_eq!(names(&get(&app, "/api/insights/jobs?branch=dev").await).len(), 0);
        assert_eq!(names(&get(&app, "/api/insights/jobs?branch=main&repo=octo-org/app&provider=github").await).len(), 2);

        // The key's detail.
        let key = test["key"].as_i64().expect("key");
        let detail = get(&app, &format!("/api/insights/jobs/{key}?window_days=7")).await;
        assert_eq!(detail["runs"], 5);
        // The detail's window is the list's (asked a moment later): 7 days
        // back from now, the previous 7 days before it.
        let (_, whole) = app.get("/api/insights/jobs?window_days=7").await;
        let (_, one) = app.get(&format!("/api/insights/jobs/{key}?window_days=7")).await;
        let at = |v: &Value| {
            chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339").timestamp()
        };
        assert_eq!(one["window_days"], 7);
        for field in ["window_start", "previous_window_start"] {
            assert!((0..=5).contains(&(at(&one[field]) - at(&whole[field]))), "{field}: {one} {whole}");
        }
        assert_eq!(at(&one["window_start"]) - at(&one["previous_window_start"]), 7 * 86_400);
        assert_eq!(detail["name"], "test");
        let steps = detail["steps"].as_array().expect("steps");
        assert_eq!(steps.len(), 2, "skipped Upload is in no figure: {steps:?}");
        // Set up job {2, 6, 4}: p50 4, p95 h = 1.9 → 4 + 0.9·2 = 5.8.
        assert_eq!(steps[0]["name"], "Set up job");
        assert_eq!(steps[0]["runs"], 3);
        assert_eq!(steps[0]["p50_duration_seconds"], json!(4.0));
        assert_eq!(steps[0]["p95_duration_seconds"], json!(5.8));
        // Run tests {50, 100, 150}, 2 failed of 3: p95 h = 1.9 → 145.
        assert_eq!(steps[1]["name"], "Run tests");
        assert_eq!(steps[1]["failed"], 2);
        assert_eq!(steps[1]["p95_duration_seconds"], json!(145.0));
        // Matrix variants: ubuntu 11, 21, 24, 31 → 4 runs; windows 12 → 1.
        let matrix = detail["matrix"].as_array().expect("matrix");
        assert_eq!(matrix.len(), 2);
        assert_eq!(matrix[0]["values"], "ubuntu-latest, 3.11");
        assert_eq!(matrix[0]["runs"], 4);
        assert_eq!(matrix[1]["values"], "windows-latest, 3.11");
        assert_eq!(matrix[1]["failed"], 1);
        // 8 UTC days (the window's first, partial, through today) adding up.
        let daily = detail["daily"].as_array().expect("daily");
        assert_eq!(daily.len(), 8);
        assert_eq!(daily.iter().map(|d| d["runs"].as_i64().unwrap_or(0)).sum::<i64>(), 5);
        assert_eq!(daily.last().map(|d| d["day"].clone()), Some(json!(Utc::now().format("%Y-%m-%d").to_string())));

        // Folded into the daily roll-ups, the answers stay the same.
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold");
        let view = store.job_insights().job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
        assert!(view.dirty.is_empty(), "{view:?}");
        // Windows starting and ending at every hour of the edge days (runs
        // inside, outside, and in the subtracted part of an edge day) give
        // the tallies of a raw scan, per day and matrix variant.
        let reads = store.job_insights();
        let now = Utc::now().timestamp();
        // The steps of the skipped "deploy" and of the carried-over "lint"
        // are in no figure, raw or folded.
        for view in [None, Some(&view)] {
            let all = reads.job_window((now - 8 * DAY, None), &JobFilter::default(), Grain::Key, true, view).await.expect("all");
            let names: Vec<&str> = all.steps.keys().map(|(_, name)| name.as_str()).collect();
            assert!(!names.contains(&"Deploy") && !names.contains(&"Lint") && names.contains(&"Run tests"), "{names:?}");
        }
        let (mut used_rollups, mut used_hours) = (0, 0);
        for hour in 0..24 {
            let start = (now - 3 * DAY).div_euclid(DAY) * DAY + hour * 3600;
            for end in [None, Some(start + 2 * DAY + 7 * 3600)] {
                let every = JobFilter::default();
                let rolled = reads.job_window((start, end), &every, Grain::DayMatrix, true, Some(&view)).await.expect("rolled");
                let raw = reads.job_window((start, end), &every, Grain::DayMatrix, true, None).await.expect("raw");
                assert_eq!(rolled, raw, "window {start}..{end:?}");
                // Without steps (the job detail's previous window): the same
                // jobs, no steps.
                let mut bare = reads.job_window((start, end), &every, Grain::DayMatrix, false, Some(&view)).await.expect("bare");
                assert!(bare.steps.is_empty() && !raw.steps.is_empty(), "{start}..{end:?}");
                bare.steps = raw.steps.clone();
                assert_eq!(bare, raw, "window {start}..{end:?} without steps");
                used_rollups += usize::from(!plan(start, end, Some(&view)).rollup_days.is_empty());
                // The list's read (packed hours + raw edges), also off the hour.
                for (from, repo) in [(start, None), (start + 1234, Some("octo-org/app".to_owned()))] {
                    let filter = JobFilter { repo, ..JobFilter::default() };
                    let listed = reads.job_list_window(from, end, &filter, Some(&view), now, true).await.expect("list");
                    let raw = reads.job_window((from, end), &filter, Grain::Key, true, None).await.expect("raw");
                    assert_eq!(listed, raw, "list window {from}..{end:?}");
                    used_hours += usize::from(!hour_plan(from, end, now, &view).packed.is_empty());
                }
            }
        }
        assert!(used_rollups > 20, "{used_rollups}");
        assert!(used_hours > 40, "{used_hours}");
        assert_eq!(get(&app, "/api/insights/jobs?window_days=7").await, list);
        assert_eq!(get(&app, &format!("/api/insights/jobs/{key}?window_days=7")).await, detail);
        // A job written after the fold makes its day dirty, and counts at once.
        let late = Run::new(1, minutes_ago(24 * 60));
        app.deliver_json("workflow_job", &job(15, &late, "lint", 0, Some(1), Some((11, "failure"))), "stored").await;
        let after = get(&app, "/api/insights/jobs?window_days=7").await;
        assert_eq!(line(&after, "lint")["runs"], 4);
        assert_eq!(line(&after, "lint")["failed"], 1);
    }

    async fn bad_parameters_are_problems(app: TestApp) {
        for query in ["sort=fastest", "order=up", "provider=nope", "window_days=0"] {
            let (status, body) = app.get(&format!("/api/insights/jobs?{query}")).await;
            assert_eq!(status, 422, "{query}: {body}");
        }
        assert_eq!(app.get("/api/insights/jobs/999").await.0, 404);
        assert_eq!(app.get("/api/insights/jobs/abc").await.0, 404);
        let (status, body) = app.get("/api/insights/jobs").await;
        assert_eq!(status, 200);
        assert_eq!(body["jobs"], json!([]));
    }
}
