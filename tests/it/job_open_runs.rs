//! The runs the job list's packed roll-ups leave out: a run still going at
//! the fold (a job of it completing after), and a run new since the fold.
//! Writes to them stale no hour; they are read by id, and the list equals a
//! raw scan for windows starting and ending around them, before and after
//! the next fold; a write to a settled run still stales its hour.

use chrono::{Duration, Utc};
use cicd_dashboard::store::Store;
use serde_json::Value;
use sqlx::Connection;

use crate::helpers::TestApp;
use crate::job_spans::{compare, compare_at, job, seed};
use crate::job_steps::{step, with_steps};
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

/// The list's reads equal raw scans for windows starting (open-ended) and
/// ending (7-day windows) beside each run in no packed row; answers how
/// many edges.
async fn compare_around_unpacked(store: &Store) -> usize {
    let view =
        store.job_insights().job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
    let mut edges = Vec::new();
    for &at in view.unpacked.values() {
        let hour = at.div_euclid(3600) * 3600;
        edges.extend([at - 1, at, at + 1, hour, hour + 600, hour + 2400, hour - 600]);
    }
    compare_at(store, &edges).await;
    edges.len()
}

async fn fold(store: &Store) {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold");
}

fn runs_of(list: &Value, name: &str) -> i64 {
    let lines = list["jobs"].as_array().expect("jobs");
    lines.iter().filter(|l| l["name"] == name).map(|l| l["runs"].as_i64().unwrap_or(0)).sum()
}

on_both_backends! {
    async fn runs_left_out_of_the_packed_rows_are_read_by_id(app: TestApp) {
        seed(&app).await;
        // Still going at the fold: "build" done, "e2e" running.
        let going = Run::new(900, minutes_ago(40));
        let at = |s: i64| going.started_at + Duration::seconds(s);
        app.deliver_json("workflow_run", &going.at("in_progress", None, 60).payload(), "stored").await;
        let build = job(20_000, &going, "build", (0, 3, 300), "success", &[(1, "Compile", "success", 3, 290)]);
        app.deliver_json("workflow_job", &build, "stored").await;
        let mut test = with_steps(
            job_payload(20_001, &going, "in_progress", None, at(0), at(20), None),
            vec![step(1, "in_progress", None, Some(at(20)), None)],
        );
        test["workflow_job"]["name"] = "e2e".into();
        app.deliver_json("workflow_job", &test, "stored").await;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        fold(&store).await;
        let reads = store.job_insights();
        let view = reads.job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
        // Run 900 and the seed's run of 7 minutes ago (written within ten minutes) are left out.
        assert_eq!(view.unpacked.len(), 2, "{view:?}");
        assert!(view.hours.as_ref().is_some_and(|hours| hours.is_empty()), "{view:?}");
        let before = app.get("/api/insights/jobs?window_days=7").await.1;
        assert_eq!(runs_of(&before, "e2e"), 1, "{before}");

        // After the fold: "e2e" completes (a left-out run written), and a new run with a job.
        let mut test = job(20_001, &going, "e2e", (0, 20, 900), "failure", &[(1, "Run tests", "failure", 20, 890)]);
        test["workflow_job"]["name"] = "e2e".into();
        app.deliver_json("workflow_job", &test, "stored").await;
        let fresh = Run::new(901, minutes_ago(3));
        app.deliver_json("workflow_run", &fresh.at("completed", Some("success"), 100).payload(), "stored").await;
        let quick = job(20_010, &fresh, "e2e", (0, 4, 90), "success", &[(1, "Run tests", "success", 4, 88)]);
        app.deliver_json("workflow_job", &quick, "stored").await;
        let view = reads.job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
        assert!(view.hours.as_ref().is_some_and(|hours| hours.is_empty()), "no hour stale: {view:?}");
        assert_eq!(view.unpacked.len(), 3, "{view:?}");
        assert!(!view.dirty.is_empty(), "the daily roll-ups see the writes: {view:?}");
        assert!(compare_around_unpacked(&store).await >= 21);
        assert!(compare(&store).await > 10);
        let after = app.get("/api/insights/jobs?window_days=7").await.1;
        assert_eq!(runs_of(&after, "e2e"), 2, "{after}");
        let line = after["jobs"].as_array().expect("jobs").iter().find(|l| l["name"] == "e2e").expect("e2e").clone();
        assert_eq!(line["failed"], 1, "{line}");

        // Folded again: still left out (written within ten minutes), still equal.
        fold(&store).await;
        let view = reads.job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
        assert_eq!(view.unpacked.len(), 3, "{view:?}");
        assert!(compare_around_unpacked(&store).await >= 21);
        assert_eq!(app.get("/api/insights/jobs?window_days=7").await.1["jobs"], after["jobs"]);

        // A settled run (seeded days ago, packed) written after the fold: its hour is stale.
        let mut late = Run::new(503, minutes_ago(3 * 24 * 60 + 111));
        late.repo = "octo-org/lib".into();
        let extra = job(10_039, &late, "lint", (0, 2, 40), "success", &[]);
        app.deliver_json("workflow_job", &extra, "stored").await;
        let view = reads.job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
        assert_eq!(view.hours.as_ref().map(|hours| hours.len()), Some(1), "{view:?}");
        assert!(compare_around_unpacked(&store).await >= 21);
        assert!(compare(&store).await > 10);

        // Run 900 completes; ten minutes on (as a fold then sees it) every
        // run has settled: their days are folded again and they are packed.
        app.deliver_json("workflow_run", &going.at("completed", Some("failure"), 950).payload(), "stored").await;
        let view = reads.job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
        assert_eq!(view.unpacked.len(), 3, "{view:?}");
        store.metrics().fold_rollups(Utc::now().timestamp() + 700).await.expect("fold");
        let view = reads.job_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
        assert!(view.unpacked.is_empty(), "{view:?}");
        assert!(compare(&store).await > 10);
        assert_eq!(app.get("/api/insights/jobs?window_days=7").await.1["jobs"], after_late(&app).await);
    }
}

/// The 7-day list read raw (no fold recent enough to use): the reference.
async fn after_late(app: &TestApp) -> Value {
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    sqlx::query("UPDATE rollup_state SET folded_through = 0").execute(&mut conn).await.expect("forget");
    let raw = app.get("/api/insights/jobs?window_days=7").await.1["jobs"].clone();
    sqlx::query("UPDATE rollup_state SET folded_through = $1")
        .bind(Utc::now().timestamp() + 700)
        .execute(&mut conn)
        .await
        .expect("restore");
    raw
}
