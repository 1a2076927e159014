//! Job keys beyond the insights list's figures, on both back ends: the
//! list's pages (`limit`, `offset`, `total`), runner minutes grouped by
//! job key (matrix variants in one row), and retention of the roll-ups
//! and of the job keys and runner minute cells nothing names any more;
//! job keys read by id.

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::store::rollups::DAY;
use cicd_dashboard::store::{JobFilter, Store};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::payloads::{Run, job_payload};
use crate::{on_both_backends, on_postgres};

async fn get(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn names(list: &Value) -> Vec<String> {
    list["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A completed run started at `at` with one job `name` that queued 10 s
/// and ran 60 s.
async fn run_with_job(app: &TestApp, id: i64, at: DateTime<Utc>, name: &str) {
    let run = Run::new(id, at);
    app.deliver_json("workflow_run", &run.at("completed", Some("success"), 100).payload(), "stored").await;
    let mut job = job_payload(
        id * 10,
        &run,
        "completed",
        Some("success"),
        at,
        at + Duration::seconds(10),
        Some(at + Duration::seconds(70)),
    );
    job["workflow_job"]["name"] = json!(name);
    app.deliver_json("workflow_job", &job, "stored").await;
}

/// The rows of the last 7 days' runner minutes per job.
async fn minutes(app: &TestApp) -> Value {
    get(app, "/api/insights/minutes?window_days=7&group_by=job").await["rows"].clone()
}

on_both_backends! {
    async fn the_job_list_is_paged_after_sorting(app: TestApp) {
        crate::job_insights::seed(&app).await;
        // Two keys by runner time: test (420 s), lint (33 s); see job_insights.rs.
        let first = get(&app, "/api/insights/jobs?window_days=7&limit=1").await;
        assert_eq!((first["total"].clone(), first["limit"].clone(), first["offset"].clone()), (json!(2), json!(1), json!(0)));
        assert_eq!(names(&first), ["test"]);
        let second = get(&app, "/api/insights/jobs?window_days=7&limit=1&offset=1").await;
        assert_eq!(names(&second), ["lint"]);
        assert_eq!(second["total"], 2);
        // Sorted first, then paged: ascending by name, the second is test.
        assert_eq!(names(&get(&app, "/api/insights/jobs?sort=name&order=asc&limit=1&offset=1").await), ["test"]);
        let past = get(&app, "/api/insights/jobs?offset=2").await;
        assert_eq!((past["jobs"].clone(), past["total"].clone()), (json!([]), json!(2)));
        assert_eq!(get(&app, "/api/insights/jobs").await["limit"], 100);
        for query in ["limit=0", "limit=1001", "limit=ten", "offset=-1", "sort=p99_duration", "order=sideways"] {
            let (status, body) = app.get(&format!("/api/insights/jobs?{query}")).await;
            assert_eq!(status, 422, "{query}: {body}");
            assert_eq!(body["status"], 422);
        }
    }

    async fn minutes_per_job_group_matrix_variants_under_their_key(app: TestApp) {
        crate::job_insights::seed(&app).await;
        // Completed, not skipped, started in the last 7 UTC days, each run
        // time rounded up to whole minutes (job_insights.rs's dataset):
        // test: 11 ubuntu 60 s → 1, 12 windows 120 s → 2, 21 ubuntu 180 s
        //   → 3, 24 ubuntu (attempt 2) 60 s → 1: 4 jobs, 7 minutes, one row
        //   (before: one row per matrix variant, 5 and 2 minutes).
        // lint: 13 (skew, 0 s → 0), 22 33 s → 1, 23 27 s → 1: 3 jobs, 2 minutes.
        // Still-queued 31 and in-progress 32 are not completed; deploy 14 skipped;
        // run 4 is 9 days old.
        let by_job = get(&app, "/api/insights/minutes?window_days=7&group_by=job").await;
        let rows = by_job["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 2, "{by_job}");
        assert_eq!((&rows[0]["job"], &rows[0]["workflow"], &rows[0]["repo"]), (&json!("test"), &json!("CI"), &json!("octo-org/app")));
        assert_eq!((&rows[0]["jobs"], &rows[0]["runner_minutes"]), (&json!(4), &json!(7)));
        assert_eq!((&rows[1]["job"], &rows[1]["jobs"], &rows[1]["runner_minutes"]), (&json!("lint"), &json!(3), &json!(2)));
        assert_eq!(by_job["totals"]["runner_minutes"], 9);
    }

    async fn retention_deletes_old_roll_ups_and_unused_job_keys(app: TestApp) {
        let now = Utc::now().timestamp();
        // The cutoff: noon of the UTC day 90 days back.
        let cutoff_day = (now - 90 * DAY).div_euclid(DAY);
        let cutoff = cutoff_day * DAY + 12 * 3600;
        let at = |s: i64| DateTime::from_timestamp(s, 0).expect("time");
        // Run 1, ten days before the cutoff's day; run 2 on the cutoff's day
        // but before the cutoff (06:00); run 3 an hour ago.
        run_with_job(&app, 1, at((cutoff_day - 10) * DAY + 3600), "old-job").await;
        run_with_job(&app, 2, at(cutoff_day * DAY + 6 * 3600), "edge-job").await;
        run_with_job(&app, 3, at(now - 3600), "new-job").await;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold");
        let list = get(&app, "/api/insights/jobs?window_days=7").await;
        assert_eq!(names(&list), ["new-job"]);

        let (attempts, _) = store.delete_older_than(at(cutoff)).await.expect("retention");
        assert_eq!(attempts, 2, "runs 1 and 2 started before the cutoff");
        let (rollups, keys) = store.delete_job_leftovers(cutoff).await.expect("leftovers");
        // Run 1's day only (the cutoff's day stays whole): rollup_counts 1
        // (repo, success), rollup_durations 1, rollup_queues 1, rollup_jobs
        // 1, rollup_job_times 2 (its duration and its queue), no steps,
        // rollup_job_hours 1 (its hour), rollup_job_hour_spans 3 (its 2, 4
        // and 8 aligned hours), and the runner roll-ups of its job
        // (started 01:00:10, 60 s): rollup_runner_days 1 (its queue time
        // packed in it), rollup_runner_minutes 1, rollup_runner_peaks 1 (hour 01);
        // and the packed day spans (1, 2, … 64 aligned days) holding a day
        // with jobs that start before the cutoff's day, none before run 1's.
        let today = now.div_euclid(DAY);
        let spans: std::collections::BTreeSet<(i64, i64)> = [cutoff_day - 10, cutoff_day, today]
            .iter()
            .flat_map(|&day| (0..=6).map(move |level| (day.div_euclid(1 << level) * (1 << level), level)))
            .filter(|&(first, _)| first >= cutoff_day - 10 && first < cutoff_day)
            .collect();
        assert_eq!(rollups, 13 + spans.len() as u64, "{spans:?}");
        // old-job: no job, no roll-up → deleted; edge-job: its jobs are gone
        // but its day's roll-up still names it → kept; new-job has a job.
        assert_eq!(keys, 1);
        let mut left: Vec<String> =
            store.job_insights().job_keys(&JobFilter::default()).await.expect("keys").into_values().map(|k| k.name).collect();
        left.sort();
        assert_eq!(left, ["edge-job", "new-job"]);
        // The runner minute cells: old-job's (its day's minute row went
        // with the roll-ups) is named by no row and deleted; edge-job's day
        // keeps its row until the next fold recomputes it without its job.
        let recent = minutes(&app).await;
        assert_eq!(store.delete_unused_minute_cells().await.expect("cells"), 1);
        assert_eq!(minutes(&app).await, recent);
        // Again: nothing more to delete; the answers are unchanged.
        assert_eq!(store.delete_job_leftovers(cutoff).await.expect("again"), (0, 0));
        assert_eq!(store.delete_unused_minute_cells().await.expect("cells again"), 0);
        assert_eq!(get(&app, "/api/insights/jobs?window_days=7").await["jobs"], list["jobs"]);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold after retention");
        assert_eq!(store.delete_unused_minute_cells().await.expect("edge cell"), 1);
        assert_eq!(recent.as_array().map(|rows| rows.len()), Some(1), "{recent}");
        assert_eq!((&recent[0]["job"], &recent[0]["jobs"], &recent[0]["runner_minutes"]), (&json!("new-job"), &json!(1), &json!(1)));
        assert_eq!(minutes(&app).await, recent);
        // A new job under a deleted key's name gets a key again, and its
        // minutes a new cell.
        run_with_job(&app, 4, at(now - 1800), "old-job").await;
        let mut after = names(&get(&app, "/api/insights/jobs?window_days=7&sort=name&order=asc").await);
        after.sort();
        assert_eq!(after, ["new-job", "old-job"]);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold with a new cell");
        assert_eq!(store.delete_unused_minute_cells().await.expect("no unused cell"), 0);
        let rows = minutes(&app).await;
        let mut jobs: Vec<(String, i64)> = rows
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| (row["job"].as_str().unwrap_or_default().to_owned(), row["runner_minutes"].as_i64().unwrap_or(-1)))
            .collect();
        jobs.sort();
        assert_eq!(jobs, [("new-job".to_owned(), 1), ("old-job".to_owned(), 1)], "{rows}");
    }
}

on_both_backends! {
    async fn job_keys_by_id_reads_new_keys_once_and_skips_unknown_ids(app: TestApp) {
        let now = Utc::now();
        run_with_job(&app, 71, now - Duration::hours(2), "build").await;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let reads = store.job_insights();
        let every = reads.job_keys(&JobFilter::default()).await.expect("keys");
        assert_eq!(every.len(), 1);
        let build = *every.keys().next().expect("a key");
        let found = reads.job_keys_by_id(&[build, 9_999]).await.expect("by id");
        assert_eq!(found.len(), 1, "the unknown id is skipped: {found:?}");
        assert_eq!(found[&build].name, "build");
        // A key created after the first read is read when asked for; the
        // first comes from memory, as stored.
        run_with_job(&app, 72, now - Duration::hours(1), "lint").await;
        let every = reads.job_keys(&JobFilter::default()).await.expect("keys");
        let lint = *every.iter().find(|(_, k)| k.name == "lint").expect("lint").0;
        let found = reads.job_keys_by_id(&[lint, build]).await.expect("by id");
        assert_eq!((found[&lint].name.as_str(), found[&build].name.as_str()), ("lint", "build"));
        assert_eq!(found[&build], every[&build]);
        // And the list names both.
        let list = get(&app, "/api/insights/jobs?window_days=1&sort=name&order=asc").await;
        assert_eq!(names(&list), vec!["build", "lint"]);
    }
}

on_postgres! {
    async fn the_trim_of_minute_cells_and_a_fold_wait_for_the_folds_lock(app: TestApp) {
        use sqlx::Connection;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        // Another replica's fold, holding the lock between reading a cell's
        // id and writing the rows that name it.
        let mut other = sqlx::PgConnection::connect(&app.database_url).await.expect("connect");
        let mut fold = other.begin().await.expect("begin");
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(cicd_dashboard::store::rollups::FOLD_LOCK)
            .execute(&mut *fold)
            .await
            .expect("lock");
        let trim = tokio::spawn({
            let store = store.clone();
            async move { store.delete_unused_minute_cells().await }
        });
        let next_fold = tokio::spawn({
            let store = store.clone();
            async move { store.metrics().fold_rollups(Utc::now().timestamp() - 1).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(!trim.is_finished(), "the trim ran while a fold held its lock");
        assert!(!next_fold.is_finished(), "two folds interleaved");
        fold.commit().await.expect("commit");
        assert_eq!(trim.await.expect("join").expect("trim"), 0);
        next_fold.await.expect("join").expect("fold");
    }
}
