//! Each job's kept run start (`jobs.run_sort_at`, migration 0037), by
//! which the job detail finds one key's jobs of a span of starts: after
//! every kind of change (a job delivered before its run, the run's start
//! then moving it to another window, a start moved by hand, a job moved
//! to another attempt, the kept start overwritten) it equals its
//! attempt's `sort_at`, and `/api/insights/jobs/{key}` counts what the
//! list (which reads the attempts' starts) counts.

use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection, Row};

use crate::helpers::TestApp;
use crate::job_insights::{job, seed};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

/// (job id, start), sorted: as kept on the jobs, or as their attempts say.
type Starts = Vec<(i64, i64)>;

const KEPT: &str = "SELECT id, run_sort_at AS at FROM jobs ORDER BY id";
const ATTEMPTS: &str =
    "SELECT j.id, b.sort_at AS at FROM jobs j JOIN builds b ON b.id = j.build_id ORDER BY j.id";

async fn starts(db: &mut AnyConnection, sql: &str) -> Starts {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *db).await.expect("starts");
    rows.iter().map(|r| (r.try_get("id").expect("id"), r.try_get("at").expect("at"))).collect()
}

/// The kept starts of the database at `url`, checked against the
/// attempts' (the `db copy` test: the target's triggers keep them).
pub async fn kept(url: &str) -> Starts {
    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(url).await.expect("connect");
    let kept = starts(&mut db, KEPT).await;
    assert_eq!(kept, starts(&mut db, ATTEMPTS).await, "{url}: each job keeps its attempt's start");
    kept
}

/// The "test" key's runs in the last 7 days and the 7 before, from the
/// detail; checked against the list's line for the key.
async fn test_runs(app: &TestApp, key: i64) -> (i64, i64) {
    let (status, detail) = app.get(&format!("/api/insights/jobs/{key}?window_days=7")).await;
    assert_eq!(status, 200, "{detail}");
    let (status, list) = app.get("/api/insights/jobs?window_days=7").await;
    assert_eq!(status, 200, "{list}");
    let line = list["jobs"].as_array().expect("jobs").iter().find(|l| l["key"] == key).cloned();
    let line = line.unwrap_or(Value::Null);
    let runs = |v: &Value| v["runs"].as_i64().unwrap_or(0);
    let previous = |v: &Value| v["previous"]["runs"].as_i64().unwrap_or(0);
    assert_eq!(
        (runs(&detail), previous(&detail)),
        (runs(&line), previous(&line)),
        "detail {detail}\nlist {line}"
    );
    (runs(&detail), previous(&detail))
}

on_both_backends! {
    // The "test" key of `job_insights::seed`: 5 runs in the last 7 days
    // (11, 12, 21, 24, 31), 2 in the 7 before (41, 42). By hand, after
    // each step below (this key's jobs only change the figures):
    // A. job 51 of a new run 5 (started 10 days ago) delivered before its
    //    run, itself started 6 days ago: its implied attempt starts then →
    //    6 and 2.
    // B. run 5's delivery: its start is 10 days ago → 5 and 3.
    // C. run 3 (job 31) moved back 10 days by hand → 4 and 4.
    // D. job 41 moved to run 1's attempt (a day ago) → 5 and 3.
    // E. every kept start overwritten with 0: put back → 5 and 3.
    async fn the_kept_run_start_follows_every_change(app: TestApp) {
        seed(&app).await;
        sqlx::any::install_default_drivers();
        let mut db = AnyConnection::connect(&app.database_url).await.expect("connect");
        kept(&app.database_url).await;
        let (_, list) = app.get("/api/insights/jobs?window_days=7").await;
        let test = list["jobs"].as_array().expect("jobs").iter().find(|l| l["name"] == "test").cloned();
        let key = test.and_then(|l| l["key"].as_i64()).expect("the test key");
        assert_eq!(test_runs(&app, key).await, (5, 2));

        let r5 = Run::new(5, minutes_ago(10 * 24 * 60));
        let early = job(51, &r5, "test (ubuntu-latest, 3.11)", 0, Some(4 * 86400), Some((4 * 86400 + 60, "success")));
        app.deliver_json("workflow_job", &early, "stored").await;
        kept(&app.database_url).await;
        assert_eq!(test_runs(&app, key).await, (6, 2), "A: the job's own start places its implied attempt");
        app.deliver_json("workflow_run", &r5.at("completed", Some("success"), 4 * 86400 + 100).payload(), "stored").await;
        kept(&app.database_url).await;
        assert_eq!(test_runs(&app, key).await, (5, 3), "B: the run's start moves it to the previous window");

        let attempt = |run: i64| format!("(SELECT id FROM builds WHERE external_id = '{run}' AND run_attempt = 1)");
        let steps = [
            (format!("UPDATE builds SET sort_at = sort_at - {} WHERE id = {}", 10 * 86400, attempt(3)), (4, 4)),
            (format!("UPDATE jobs SET build_id = {} WHERE external_id = '41'", attempt(1)), (5, 3)),
            ("UPDATE jobs SET run_sort_at = 0".to_owned(), (5, 3)),
        ];
        for (i, (sql, want)) in steps.iter().enumerate() {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(&mut db).await.expect("change");
            kept(&app.database_url).await;
            assert_eq!(test_runs(&app, key).await, *want, "step {}: {sql}", ["C", "D", "E"][i]);
        }
        // The detail's days still add up to its runs.
        let (_, detail) = app.get(&format!("/api/insights/jobs/{key}?window_days=7")).await;
        let daily: i64 = detail["daily"].as_array().expect("daily").iter().map(|d| d["runs"].as_i64().unwrap_or(0)).sum();
        assert_eq!(json!(daily), detail["runs"]);
    }
}
