//! `/api/metrics/summary` from daily roll-ups: the same answer as the raw
//! scan, on a dataset worked out by hand, before and after changes the
//! roll-ups have not folded yet (a status change, a start moved to another
//! day, a new attempt today, retention deleting old days); the `repo` /
//! `branch` filters; the counts behind `builds_last_24h`.

use chrono::{Duration, Utc};
use cicd_dashboard::store::rollups::{DAY, STALE_AFTER_SECONDS, plan};
use cicd_dashboard::store::{PointFilter, Store};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

const D: i64 = 24 * 60;

/// The summary without the fields that move with the clock.
async fn summary(app: &TestApp, query: &str) -> Value {
    let (status, mut s) = app.get(&format!("/api/metrics/summary?{query}")).await;
    assert_eq!(status, 200, "{s}");
    let object = s.as_object_mut().expect("object");
    object.remove("window_start");
    if let Some(previous) = object.get_mut("previous").and_then(Value::as_object_mut) {
        previous.remove("window_start");
        previous.remove("window_end");
    }
    s
}

/// `total` of the unfiltered builds list.
async fn total(app: &TestApp) -> i64 {
    let (status, page) = app.get("/api/builds?limit=1").await;
    assert_eq!(status, 200, "{page}");
    page["total"].as_i64().expect("total")
}

/// Folds every change made so far (the job itself leaves the last minute).
async fn fold_everything(store: &Store) -> usize {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold")
}

async fn deliver(
    app: &TestApp,
    run: &Run,
    status: &str,
    conclusion: Option<&str>,
    secs: i64,
    queue: Option<i64>,
) {
    app.deliver_json("workflow_run", &run.at(status, conclusion, secs).payload(), "stored").await;
    if let Some(queue) = queue {
        let started = run.started_at + Duration::seconds(queue);
        let job = job_payload(run.id * 10, run, "in_progress", None, run.started_at, started, None);
        app.deliver_json("workflow_job", &job, "stored").await;
    }
}

fn run(id: i64, repo: &str, branch: &str, minutes: i64) -> Run {
    let mut run = Run::new(id, minutes_ago(minutes));
    run.repo = repo.into();
    run.branch = branch.into();
    run
}

on_both_backends! {
    async fn summary_from_rollups_equals_the_raw_scan(app: TestApp) {
        // id  repo  branch  start        outcome            queue
        //  1  o/a   main    1 day ago    success 100 s      10 s
        //  2  o/a   main    2 days ago   success 200 s      30 s
        //  3  o/a   dev     3 days ago   failure 300 s
        //  4  o/b   main    4 days ago   success 400 s      20 s
        //  5  o/b   main    5 days ago   failure 500 s
        //  6  o/b   main    6 days ago   in progress
        //  7  o/a   main    9 days ago   success 600 s
        //  8  o/b   main    10 days ago  failure 700 s      40 s
        //  9  o/a   main    20 days ago  success 800 s
        // 10  o/a   main    2 hours ago  cancelled 30 s
        let runs = [
            (run(1, "o/a", "main", D), "completed", Some("success"), 100, Some(10)),
            (run(2, "o/a", "main", 2 * D), "completed", Some("success"), 200, Some(30)),
            (run(3, "o/a", "dev", 3 * D), "completed", Some("failure"), 300, None),
            (run(4, "o/b", "main", 4 * D), "completed", Some("success"), 400, Some(20)),
            (run(5, "o/b", "main", 5 * D), "completed", Some("failure"), 500, None),
            (run(6, "o/b", "main", 6 * D), "in_progress", None, 5, None),
            (run(7, "o/a", "main", 9 * D), "completed", Some("success"), 600, None),
            (run(8, "o/b", "main", 10 * D), "completed", Some("failure"), 700, Some(40)),
            (run(9, "o/a", "main", 20 * D), "completed", Some("success"), 800, None),
            (run(10, "o/a", "main", 120), "completed", Some("cancelled"), 30, None),
        ];
        for (run, status, conclusion, secs, queue) in &runs {
            deliver(&app, run, status, *conclusion, *secs, *queue).await;
        }

        // By hand, 7 days: runs 1–6 and 10 → 7 attempts; success 3, failed 2;
        // rate 3/5; times [100, 200, 300, 400, 500]: mean 300, p50 300,
        // p95 (h = 3.8) 400 + 0.8·100 = 480; queues [10, 30, 20] → 20.
        // Previous 7 days: runs 7, 8 → rate 1/2, p50 (h = 0.5) 650,
        // p95 (h = 0.95) 695, queue 40.
        let raw7 = summary(&app, "window_days=7").await;
        assert_eq!(raw7["total_builds"], 7);
        assert_eq!((raw7["success_count"].clone(), raw7["failure_count"].clone()), (json!(3), json!(2)));
        assert_eq!(raw7["success_rate"], json!(0.6));
        assert_eq!(raw7["avg_build_time_seconds"], json!(300.0));
        assert_eq!(raw7["p50_build_time_seconds"], json!(300.0));
        assert_eq!(raw7["p95_build_time_seconds"], json!(480.0));
        assert_eq!(raw7["median_queue_seconds"], json!(20.0));
        assert_eq!(raw7["running_now"], 1);
        assert_eq!(raw7["previous"]["total_builds"], 2);
        assert_eq!(raw7["previous"]["p50_build_time_seconds"], json!(650.0));
        assert_eq!(raw7["previous"]["p95_build_time_seconds"], json!(695.0));
        assert_eq!(raw7["previous"]["median_queue_seconds"], json!(40.0));
        // 30 days: all 10; success 5 (1, 2, 4, 7, 9), failed 3 (3, 5, 8) →
        // 5/8; times [100,200,300,400,500,600,700,800]: mean 450,
        // p50 (h = 3.5) 450, p95 (h = 6.65) 765.
        let raw30 = summary(&app, "window_days=30").await;
        assert_eq!(raw30["total_builds"], 10);
        assert_eq!(raw30["success_rate"], json!(5.0 / 8.0));
        assert_eq!(raw30["avg_build_time_seconds"], json!(450.0));
        assert_eq!(raw30["p50_build_time_seconds"], json!(450.0));
        assert_eq!(raw30["p95_build_time_seconds"], json!(765.0));

        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        assert!(store.metrics().rollup_view(Utc::now().timestamp()).await.expect("view").is_none(), "never folded");
        let days = fold_everything(&store).await;
        assert!(days >= 9, "every day with an attempt was folded: {days}");
        // The 30-day window now comes mostly from roll-ups…
        let now = Utc::now().timestamp();
        let view = store.metrics().rollup_view(now).await.expect("view").expect("fresh roll-ups");
        assert!(
            store.metrics().rollup_view(now + STALE_AFTER_SECONDS + 1).await.expect("view").is_none(),
            "roll-ups not folded for longer than STALE_AFTER_SECONDS are not used"
        );
        let thirty = plan(now - 30 * DAY, None, Some(&view));
        let rolled: i64 = thirty.rollup_days.iter().map(|(a, b)| b - a).sum();
        assert!(rolled >= 29, "{thirty:?}");
        // Windows starting and ending at every hour of the edge days (so
        // whole runs fall inside, outside, and in the subtracted part of an
        // edge day) answer as the raw scan does.
        let everything = PointFilter::default();
        let mut subtracted = 0;
        for hour in 0..24 {
            let start = (now - 5 * DAY).div_euclid(DAY) * DAY + hour * 3600;
            for end in [None, Some(start + 3 * DAY + 7 * 3600), Some(start + 2 * DAY - 3600)] {
                let from_rollups = store.metrics().window_tally(start, end, &everything, Some(&view)).await.expect("tally");
                let raw = store.metrics().window_tally(start, end, &everything, None).await.expect("raw tally");
                let used = plan(start, end, Some(&view));
                assert_eq!(from_rollups, raw, "window {start}..{end:?} by {used:?}");
                subtracted += usize::from(!used.subtract.is_empty());
            }
        }
        assert!(subtracted > 10, "edge days were answered by subtraction");
        // …and answers exactly as the raw scan did.
        assert_eq!(summary(&app, "window_days=7").await, raw7);
        assert_eq!(summary(&app, "window_days=30").await, raw30);
        assert_eq!(total(&app).await, 10);

        // Changes the roll-ups have not seen: run 6 completes as a 900 s
        // failure whose start moved to 8 days ago (previous window), and a
        // new 50 s success starts 10 minutes ago (queue 5 s).
        deliver(&app, &run(6, "o/b", "main", 8 * D), "completed", Some("failure"), 900, None).await;
        deliver(&app, &run(11, "o/b", "main", 10), "completed", Some("success"), 50, Some(5)).await;
        let view = store.metrics().rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
        let six_days_ago = (Utc::now().timestamp() - 6 * DAY) / DAY;
        assert!(view.dirty.contains(&six_days_ago), "the day run 6 left is dirty: {view:?}");
        // By hand, 7 days: runs 1–5, 10, 11 → 7; success 4, failed 2 → 4/6;
        // times [50,100,200,300,400,500]: mean 1550/6 = 258.333, p50 (h = 2.5)
        // 250, p95 (h = 4.75) 475; queues [10, 30, 20, 5] → (10+20)/2 = 15;
        // nothing running. Previous: runs 6, 7, 8 → success 1, failed 2,
        // times [600, 700, 900]: p50 700, p95 (h = 1.9) 880.
        let fresh7 = summary(&app, "window_days=7").await;
        assert_eq!(fresh7["total_builds"], 7);
        assert_eq!(fresh7["success_rate"], json!(4.0 / 6.0));
        assert_eq!(fresh7["avg_build_time_seconds"], json!(258.333));
        assert_eq!(fresh7["p50_build_time_seconds"], json!(250.0));
        assert_eq!(fresh7["p95_build_time_seconds"], json!(475.0));
        assert_eq!(fresh7["median_queue_seconds"], json!(15.0));
        assert_eq!(fresh7["running_now"], 0);
        assert_eq!(fresh7["previous"]["total_builds"], 3);
        assert_eq!(fresh7["previous"]["success_rate"], json!(1.0 / 3.0));
        assert_eq!(fresh7["previous"]["p50_build_time_seconds"], json!(700.0));
        assert_eq!(fresh7["previous"]["p95_build_time_seconds"], json!(880.0));
        let fresh30 = summary(&app, "window_days=30").await;
        assert_eq!(fresh30["total_builds"], 11);
        assert_eq!(total(&app).await, 11, "the list's total counts the attempts the roll-ups have not seen");
        // Folding them changes nothing; neither does forgetting the roll-ups.
        fold_everything(&store).await;
        assert!(store.metrics().rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh").dirty.is_empty());
        assert_eq!(summary(&app, "window_days=7").await, fresh7);
        assert_eq!(summary(&app, "window_days=30").await, fresh30);
        store.metrics().reset_rollups().await.expect("reset");
        assert_eq!(summary(&app, "window_days=7").await, fresh7);
        fold_everything(&store).await;

        // Retention deletes run 9 (20 days ago): counted nowhere at once,
        // before any fold.
        let (deleted, _) = store.delete_older_than(Utc::now() - Duration::days(15)).await.expect("retention");
        assert_eq!(deleted, 1);
        let after = summary(&app, "window_days=30").await;
        assert_eq!(after["total_builds"], 10);
        assert_eq!(after["success_count"], 5);
        assert_eq!(total(&app).await, 10);
    }

    async fn summary_filters_by_repo_and_branch(app: TestApp) {
        let runs = [
            (run(1, "o/a", "main", 60), "completed", Some("success"), 100),
            (run(2, "o/a", "dev", 50), "completed", Some("failure"), 300),
            (run(3, "o/b", "main", 40), "completed", Some("success"), 200),
            (run(4, "o/b", "main", 30), "in_progress", None, 5),
        ];
        for (run, status, conclusion, secs) in &runs {
            deliver(&app, run, status, *conclusion, *secs, None).await;
        }
        // o/a: 2 attempts, rate 1/2, mean 200, latest (50 min ago) failed.
        let a = summary(&app, "repo=o/a").await;
        assert_eq!(a["total_builds"], 2);
        assert_eq!(a["success_rate"], json!(0.5));
        assert_eq!(a["avg_build_time_seconds"], json!(200.0));
        assert_eq!(a["last_build_status"], "failed");
        assert_eq!(a["running_now"], 0);
        assert_eq!(a["by_repo"].as_array().map(Vec::len), Some(1));
        // main: runs 1, 3, 4 → success 2 of 2 decided, one running, latest running.
        let main = summary(&app, "branch=main").await;
        assert_eq!(main["total_builds"], 3);
        assert_eq!(main["success_rate"], json!(1.0));
        assert_eq!(main["running_now"], 1);
        assert_eq!(main["last_build_status"], "running");
        // o/a on main: run 1 only; its repository line says success, not
        // the dev branch's later failure.
        let both = summary(&app, "repo=o/a&branch=main").await;
        assert_eq!(both["total_builds"], 1);
        assert_eq!(both["by_repo"][0]["last_build_status"], "success");
        let none = summary(&app, "repo=nobody/none").await;
        assert_eq!(none["total_builds"], 0);
        assert_eq!(none["last_build_status"], Value::Null);
        // Unfiltered: everything.
        assert_eq!(summary(&app, "").await["total_builds"], 4);
        // The `builds_last_24h{status}` gauge's source, on the same data
        // plus one failure 2 days ago (outside 24 h): success 2, failed 1,
        // running 1.
        deliver(&app, &run(5, "o/b", "main", 2 * D), "completed", Some("failure"), 9, None).await;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let mut counts = store.metrics().status_counts_since(Utc::now() - Duration::hours(24)).await.expect("counts");
        counts.sort_by_key(|(status, _)| status.as_str());
        let counts: Vec<(&str, i64)> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        assert_eq!(counts, vec![("failed", 1), ("running", 1), ("success", 2)]);
    }
}
