//! The job list's read from the packed day spans (and packed hours, raw
//! edges) against a raw scan of every job, on a dataset spread over 40
//! days: today, the earliest day, a day made dirty after the fold and then
//! folded again, filters (repository, workflow, branch, provider), a
//! re-run's carried-over job, skipped jobs and steps.

use chrono::{Duration, Utc};
use cicd_dashboard::store::rollups::DAY;
use cicd_dashboard::store::{Grain, JobFilter, Store, hour_plan, split_days};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::TestApp;
use crate::job_steps::{step, with_steps};
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

/// A completed job of `run`: created at +`created`, started at
/// +`started`, completed at +`done` with `conclusion`, with `steps`
/// (`(number, name, conclusion, from, to)`), seconds from the run's start.
pub(crate) fn job(
    id: i64,
    run: &Run,
    name: &str,
    times: (i64, i64, i64),
    conclusion: &str,
    steps: &[(i64, &str, &str, i64, i64)],
) -> Value {
    let at = |s: i64| run.started_at + Duration::seconds(s);
    let (created, started, done) = times;
    let mut payload =
        job_payload(id, run, "completed", Some(conclusion), at(created), at(started), Some(at(done)));
    payload["workflow_job"]["name"] = json!(name);
    let steps = steps
        .iter()
        .map(|&(n, name, conclusion, from, to)| {
            let mut s = step(n, "completed", Some(conclusion), Some(at(from)), Some(at(to)));
            s["name"] = json!(name);
            s
        })
        .collect();
    with_steps(payload, steps)
}

/// Runs on 40 days (one a day, at varied times; the last one minutes ago),
/// in two repositories, two workflows and two branches.
pub(crate) async fn seed(app: &TestApp) {
    for k in 0..40i64 {
        let minutes = if k == 0 { 7 } else { k * 24 * 60 + (k * 37) % 600 };
        let mut run = Run::new(500 + k, minutes_ago(minutes));
        run.repo = if k % 2 == 0 { "octo-org/app".into() } else { "octo-org/lib".into() };
        run.workflow = if k % 3 == 0 { "Nightly".into() } else { "CI".into() };
        run.branch = if k % 4 == 0 { "dev".into() } else { "main".into() };
        app.deliver_json("workflow_run", &run.at("completed", Some("success"), 900).payload(), "stored")
            .await;
        let id = 10_000 + k * 10;
        let variant = format!("test (ubuntu-latest, {})", k % 3);
        let failed = if k % 5 == 0 { "failure" } else { "success" };
        let steps = [
            (1, "Set up job", "success", 5, 9 + k % 4),
            (2, "Run tests", failed, 9 + k % 4, 60 + k),
            (3, "Upload", "skipped", 60 + k, 60 + k),
        ];
        let jobs = [
            job(id, &run, &variant, (0, 5 + k % 7, 60 + k), failed, &steps),
            job(id + 1, &run, "lint", (-10, k % 11, 20 + (k * 7) % 13), "success", &[]),
            job(id + 2, &run, "deploy", (0, 0, 0), "skipped", &[]),
        ];
        for payload in &jobs {
            app.deliver_json("workflow_job", payload, "stored").await;
        }
        if k % 7 == 3 {
            // A re-run: "lint" carried over (completed before attempt 2
            // began), the test job run again.
            let mut again = run.clone();
            again.attempt = 2;
            again.started_at = run.started_at + Duration::seconds(1000);
            app.deliver_json(
                "workflow_run",
                &again.at("completed", Some("success"), 900).payload(),
                "stored",
            )
            .await;
            app.deliver_json(
                "workflow_job",
                &job(id + 3, &again, "lint", (-1000, -995, -980), "success", &[]),
                "stored",
            )
            .await;
            app.deliver_json(
                "workflow_job",
                &job(id + 4, &again, &variant, (0, 3, 70), "success", &steps),
                "stored",
            )
            .await;
        }
    }
}

/// Every filter the list takes.
pub(crate) fn filters() -> Vec<JobFilter> {
    let text = |s: &str| Some(s.to_owned());
    vec![
        JobFilter::default(),
        JobFilter { repo: text("octo-org/app"), ..JobFilter::default() },
        JobFilter { workflow: text("Nightly"), ..JobFilter::default() },
        JobFilter { branch: text("dev"), ..JobFilter::default() },
        JobFilter { provider: Some(cicd_dashboard::domain::ProviderKind::GitHub), ..JobFilter::default() },
        JobFilter { provider: Some(cicd_dashboard::domain::ProviderKind::GitLab), ..JobFilter::default() },
    ]
}

/// The list's reads (current window with steps, previous without) equal
/// raw scans for 7- and 30-day windows at several starts; answers how
/// many read whole days from spans.
pub(crate) async fn compare(store: &Store) -> usize {
    let reads = store.job_insights();
    let now = Utc::now().timestamp();
    let view = reads.job_rollup_view(now).await.expect("view").expect("fresh");
    let mut from_spans = 0;
    for days in [7, 30, 39] {
        for shift in [0, 1234, 3 * 3600, 11 * 3600 + 17] {
            let start = now - days * DAY - shift;
            let before = start - days * DAY;
            for filter in filters() {
                let listed =
                    reads.job_list_window(start, None, &filter, Some(&view), now, true).await.expect("list");
                let raw =
                    reads.job_window((start, None), &filter, Grain::Key, true, None).await.expect("raw");
                assert_eq!(listed, raw, "{days} d from {start}, {filter:?}");
                let mut previous = reads
                    .job_list_window(before, Some(start), &filter, Some(&view), now, false)
                    .await
                    .expect("list");
                let mut raw = reads
                    .job_window((before, Some(start)), &filter, Grain::Key, true, None)
                    .await
                    .expect("raw");
                raw.steps.clear();
                previous.steps.clear();
                assert_eq!(previous, raw, "previous {days} d from {before}, {filter:?}");
            }
            from_spans += usize::from(!split_days(&hour_plan(start, None, now, &view).packed).0.is_empty());
        }
    }
    from_spans
}

on_both_backends! {
    async fn job_list_from_day_spans_equals_a_scan(app: TestApp) {
        seed(&app).await;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold");
        let list = app.get("/api/insights/jobs?window_days=30").await.1;
        assert!(compare(&store).await > 10);
        // A job written after the fold: its day is dirty (read raw) and
        // counts at once; folded, its spans are rebuilt.
        let mut late = Run::new(505, minutes_ago(5 * 24 * 60 + 185) /* as run 505 was seeded */);
        late.repo = "octo-org/lib".into();
        late.workflow = "CI".into();
        let extra = job(10_059, &late, "lint", (0, 2, 400), "failure", &[(1, "Lint", "failure", 2, 399)]);
        app.deliver_json("workflow_job", &extra, "stored").await;
        let reads = store.job_insights();
        let view = reads.job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
        assert_eq!(view.dirty.len(), 1, "{view:?}");
        // Of that day, only the late job's run's hour is stale.
        assert_eq!(view.hours.as_ref().map(|hours| hours.len()), Some(1), "{view:?}");
        assert!(compare_dirty(&store).await);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold");
        assert!(compare(&store).await > 10);
        // Longer spans lost (as retention drops those starting before its
        // cutoff) are read as their halves.
        let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
        let long: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rollup_job_spans WHERE days = 16").fetch_one(&mut conn).await.expect("count");
        assert!(long > 0);
        sqlx::query("DELETE FROM rollup_job_spans WHERE days > 1 AND days < 32").execute(&mut conn).await.expect("delete");
        assert!(compare(&store).await > 10);
        let after = app.get("/api/insights/jobs?window_days=30").await.1;
        let runs = |list: &Value, repo: &str| -> i64 {
            list["jobs"].as_array().expect("jobs").iter().filter(|l| l["name"] == "lint" && l["repo"] == repo).map(|l| l["runs"].as_i64().unwrap_or(0)).sum()
        };
        assert_eq!(runs(&after, "octo-org/lib"), runs(&list, "octo-org/lib") + 1);
        // Skipped "deploy" is in no line; "Upload" in no step.
        assert!(after["jobs"].as_array().expect("jobs").iter().all(|l| l["name"] != "deploy"), "{after}");
    }
}

/// [`compare`] while one hour is stale (not asserting span use): windows
/// over it, and starting or ending inside it or beside it (its
/// neighbours' packed rows minus their parts outside).
async fn compare_dirty(store: &Store) -> bool {
    let reads = store.job_insights();
    let view = reads.job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
    let stale: Vec<i64> = view.hours.iter().flatten().copied().collect();
    let mut edges = vec![Utc::now().timestamp() - 30 * DAY];
    for hour in stale {
        edges.extend([-2400, -1000, 0, 600, 2400, 4000, 5400].map(|at| hour * 3600 + at));
    }
    compare_at(store, &edges).await;
    true
}

/// The list's reads equal raw scans, for every filter, for the windows
/// starting at each of `edges` (open-ended, with steps) and the 7-day
/// windows (less 1 234 s) ending there (without).
pub(crate) async fn compare_at(store: &Store, edges: &[i64]) {
    let reads = store.job_insights();
    let now = Utc::now().timestamp();
    let view = reads.job_rollup_view(now).await.expect("view").expect("fresh");
    for filter in filters() {
        for &edge in edges {
            let listed =
                reads.job_list_window(edge, None, &filter, Some(&view), now, true).await.expect("list");
            let raw = reads.job_window((edge, None), &filter, Grain::Key, true, None).await.expect("raw");
            assert_eq!(listed, raw, "from {edge}, {filter:?}");
            let start = edge - 7 * DAY + 1234;
            let mut listed = reads
                .job_list_window(start, Some(edge), &filter, Some(&view), now, false)
                .await
                .expect("list");
            let mut raw =
                reads.job_window((start, Some(edge)), &filter, Grain::Key, true, None).await.expect("raw");
            listed.steps.clear();
            raw.steps.clear();
            assert_eq!(listed, raw, "{start}..{edge}, {filter:?}");
        }
    }
}
