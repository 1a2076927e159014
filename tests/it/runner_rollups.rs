//! The runner roll-ups give the answers of a scan: `/api/insights/runners`
//! and `/api/insights/minutes` read after a fold (whole days from the
//! roll-ups, running jobs live) equal the answers read with no roll-ups
//! (every job scanned), on the hand-worked dataset of `insights_runners`
//! plus jobs over a week (a job crossing midnight, a job running 30 h whose
//! interval is cut at the end of the day after its start, a job running now
//! for three days), and again after out-of-order and duplicate deliveries,
//! a job whose start moves to another day, and a re-run (new attempt, new
//! job ids), both before the next fold (those days scanned) and after it;
//! and after retention deleted the earliest run attempts (their days
//! scanned until the next fold refolds them). The minutes with a
//! repository or provider filter read the roll-ups too. Every day folded is
//! read from the roll-ups, the earliest stored one and today included.
//! Migration 0038's fill (its file's statements), run on folded rows whose
//! cell ids were cleared, gives the same answers.

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::insights_runners::{J, job, seed};
use crate::payloads::Run;

const COST: &str = "ubuntu-*=0.008,windows-*=0.016,self-hosted=0,linux=0.5";

const PATHS: [&str; 15] = [
    "/api/insights/runners?window_days=1",
    "/api/insights/runners?window_days=2",
    "/api/insights/runners?window_days=7",
    "/api/insights/runners?window_days=30",
    "/api/insights/minutes?window_days=7&group_by=repo",
    "/api/insights/minutes?window_days=7&group_by=workflow",
    "/api/insights/minutes?window_days=7&group_by=job",
    "/api/insights/minutes?window_days=7&group_by=label",
    "/api/insights/minutes?window_days=2&group_by=label",
    "/api/insights/minutes?window_days=1&group_by=job",
    "/api/insights/minutes?window_days=30&group_by=job",
    "/api/insights/minutes?window_days=7&group_by=job&repo=octo-org/week",
    "/api/insights/minutes?window_days=30&group_by=label&provider=github",
    "/api/insights/minutes?window_days=7&group_by=repo&provider=gitlab&repo=octo-org/app",
    "/api/insights/runners?window_days=7&repo=octo-org/week&provider=github",
];

fn midnight(days_ago: i64) -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    DateTime::from_timestamp(now.div_euclid(86_400) * 86_400 - days_ago * 86_400, 0).expect("time")
}

/// Every answer, without what moves with the clock (`now`, ages).
async fn answers(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for path in PATHS {
        let (status, mut answer) = app.get(path).await;
        assert_eq!(status, 200, "{path}: {answer}");
        if let Some(o) = answer.as_object_mut() {
            o.remove("now");
        }
        for set in answer["label_sets"].as_array_mut().into_iter().flatten() {
            if let Some(w) = set["longest_waiting"].as_object_mut() {
                w.remove("age_seconds");
            }
        }
        out.push(answer);
    }
    out
}

async fn fold(store: &Store) {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold");
}

/// The scan's answers: with the roll-ups forgotten (nothing folded).
async fn scanned(app: &TestApp, store: &Store) -> Vec<Value> {
    store.metrics().reset_rollups().await.expect("reset");
    answers(app).await
}

fn at(days_ago: i64, h: i64, m: i64) -> DateTime<Utc> {
    midnight(days_ago) + Duration::seconds(h * 3600 + m * 60)
}

/// A finished job `id` of run `run` (attempt `attempt`).
fn done<'a>(
    id: i64,
    run: i64,
    labels: &'a [&'a str],
    created: DateTime<Utc>,
    started: DateTime<Utc>,
    end: DateTime<Utc>,
) -> J<'a> {
    J {
        id,
        run,
        attempt: 1,
        repo: "octo-org/week",
        labels,
        group: Some("GitHub Actions"),
        status: "completed",
        conclusion: Some("success"),
        created,
        started,
        completed: Some(end),
    }
}

async fn week(app: &TestApp) {
    let ubuntu: &[&str] = &["ubuntu-latest"];
    let farm: &[&str] = &["self-hosted", "linux"];
    // Crossing midnight: day −3 23:30 → day −2 01:00.
    job(app, done(41, 41, ubuntu, at(3, 23, 20), at(3, 23, 30), at(2, 1, 0))).await;
    job(app, done(42, 42, ubuntu, at(2, 0, 10), at(2, 0, 15), at(2, 0, 45))).await;
    // 30 hours from day −5 12:00: counted until the end of day −4.
    job(app, done(43, 43, farm, at(5, 11, 0), at(5, 12, 0), at(3, 18, 0))).await;
    job(app, done(44, 44, farm, at(4, 22, 0), at(4, 23, 0), at(3, 2, 0))).await;
    // Running now since day −3 10:00 (its run still in progress).
    let mut run = Run::new(45, at(3, 9, 0));
    run.repo = "octo-org/week".into();
    app.deliver_json("workflow_run", &run.at("in_progress", None, 10).payload(), "stored").await;
    job(
        app,
        J {
            status: "in_progress",
            conclusion: None,
            completed: None,
            ..done(45, 45, farm, at(3, 9, 0), at(3, 10, 0), at(3, 10, 0))
        },
    )
    .await;
    job(app, done(46, 46, farm, at(3, 10, 30), at(3, 10, 40), at(3, 11, 0))).await;
}

/// Out of order and twice, a start moving to another day, a re-run.
async fn changes(app: &TestApp) {
    let ubuntu: &[&str] = &["ubuntu-latest"];
    let j = || done(51, 51, ubuntu, at(4, 8, 0), at(4, 8, 5), at(4, 8, 50));
    job(app, j()).await;
    job(app, J { status: "in_progress", conclusion: None, completed: None, ..j() }).await;
    job(app, j()).await;
    // Job 42 delivered again with its start a day later.
    job(app, done(42, 42, ubuntu, at(1, 0, 10), at(1, 0, 15), at(1, 0, 45))).await;
    // Run 41 re-run: attempt 2, new job id, on day −2.
    job(app, J { id: 141, attempt: 2, ..done(41, 41, ubuntu, at(2, 6, 0), at(2, 6, 1), at(2, 6, 30)) }).await;
}

/// The minute rows as migration 0038 found them (folded, no cell), then
/// that migration's fill, as written in its file.
async fn refill_cells(app: &TestApp) {
    use sqlx::Connection;
    let file = if app.database_url.starts_with("postgres") {
        include_str!("../../src/store/migrations/postgres/0038_runner_minute_cells.sql")
    } else {
        include_str!("../../src/store/migrations/sqlite/0038_runner_minute_cells.sql")
    };
    let fill = file.split("-- The fill:").nth(1).and_then(|rest| rest.split_once('\n'));
    let fill = fill.and_then(|(_, rest)| rest.split("-- A window's cells").next());
    let fill = fill.expect("the migration's fill");
    let before =
        ["UPDATE rollup_runner_minutes SET cell = NULL", "UPDATE rollup_runner_hour_minutes SET cell = NULL"];
    let statements = before.into_iter().chain(["DELETE FROM runner_minute_cells"]).chain(
        fill.split(';')
            .filter(|sql| sql.lines().any(|line| !line.trim().is_empty() && !line.starts_with("--"))),
    );
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    let mut filled = 0;
    for sql in statements {
        filled = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.expect(sql).rows_affected();
    }
    assert!(filled > 0, "the hour rows got their cells");
}

async fn case(app: TestApp) {
    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    seed(&app).await;
    week(&app).await;
    let scan = answers(&app).await;
    fold(&store).await;
    let view =
        store.metrics().runner_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
    assert!(view.dirty.is_empty(), "{view:?}");
    // Every day with a job started is folded: the earliest (day −5) and today too.
    let day = |days_ago: i64| midnight(days_ago).timestamp().div_euclid(86_400);
    for d in [5, 4, 3, 2, 1, 0] {
        assert!(view.clean(day(d), Utc::now().timestamp()), "day −{d} clean: {view:?}");
    }
    assert_eq!(answers(&app).await, scan, "folded = scanned");
    refill_cells(&app).await;
    assert_eq!(answers(&app).await, scan, "cells filled by migration 0038 = scanned");

    changes(&app).await;
    let stale = answers(&app).await;
    fold(&store).await;
    let refolded = answers(&app).await;
    let scan = scanned(&app, &store).await;
    assert_eq!(stale, scan, "dirty days scanned = scanned");
    assert_eq!(refolded, scan, "refolded = scanned");
    // Hand-worked peaks of the 7-day window (hour 0 = day −6 00:00).
    let peaks = |labels: Value| -> Vec<i64> {
        let sets = scan[2]["label_sets"].as_array().expect("sets");
        let set = sets.iter().find(|s| s["labels"] == labels).expect("label set");
        set["hourly"]
            .as_array()
            .expect("hourly")
            .iter()
            .map(|h| h["peak_concurrency"].as_i64().unwrap_or(-1))
            .collect()
    };
    let farm = peaks(json!(["linux", "self-hosted"]));
    // Day −4 23:00: job 43 (cut at the end of day −4) and job 44 → 2.
    assert_eq!(farm[2 * 24 + 23], 2);
    // Day −3 01:00: job 44 alone (43 no longer counts); 02:00: nothing.
    assert_eq!((farm[3 * 24 + 1], farm[3 * 24 + 2]), (1, 0));
    // Day −3 10:00: job 45 (running now) and job 46 → 2; 11:00: 45 alone.
    assert_eq!((farm[3 * 24 + 10], farm[3 * 24 + 11]), (2, 1));
    // Day −2 09:00, long after: job 45 still running → 1.
    assert_eq!(farm[4 * 24 + 9], 1);
    // Ubuntu day −2 00:00: job 41 (from day −3) alone, job 42 moved a day
    // later (day −1 00:00: 42 alone); 06:00: the re-run's new job.
    let ubuntu = peaks(json!(["ubuntu-latest"]));
    assert_eq!((ubuntu[4 * 24], ubuntu[5 * 24], ubuntu[4 * 24 + 6]), (1, 1, 1));

    // Retention deletes run 43 (started with its job, day −5 12:00; counted in
    // day −4's peaks): day −5 is unfolded, so scanned, until the next fold.
    fold(&store).await;
    store.delete_older_than(at(5, 12, 30)).await.expect("retention");
    let view =
        store.metrics().runner_rollup_view(Utc::now().timestamp()).await.expect("view").expect("fresh");
    assert!(!view.folded.contains_key(&day(5)), "{view:?}");
    let trimmed = answers(&app).await;
    fold(&store).await;
    let refolded = answers(&app).await;
    let scan = scanned(&app, &store).await;
    assert_eq!(trimmed, scan, "trimmed day scanned = scanned");
    assert_eq!(refolded, scan, "trimmed day refolded = scanned");
    assert_ne!(scan[3], stale[3], "retention changed the 30-day answer");
}

/// The scan's answers, then the roll-ups folded again as they were.
async fn scanned_then_refold(app: &TestApp, store: &Store) -> Vec<Value> {
    let scan = scanned(app, store).await;
    fold(store).await;
    scan
}

fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

/// Hourly granularity of today and yesterday: after a fold, the hours of a
/// day not clean as a whole (a job ending after `now`, a job written since
/// the fold) are read from the hourly roll-ups where clean, the others
/// scanned; the answers equal the scan with a job finished in the current
/// hour, one ending in the future, one running 3 h into its hour, a job across midnight, a past hour made
/// dirty (its job redelivered with another end), a job running now
/// started this hour, and a job started across the day boundary redelivered.
async fn hours_case(app: TestApp) {
    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    seed(&app).await;
    week(&app).await;
    fold(&store).await;
    let t = Utc::now();
    let ubuntu: &[&str] = &["ubuntu-latest"];
    let farm: &[&str] = &["self-hosted", "linux"];
    let m = Duration::minutes;
    let past = || done(61, 61, ubuntu, t - m(125), t - m(120), t - m(110));
    job(&app, past()).await;
    // Finishing in the current hour (or just before it).
    job(&app, done(62, 62, farm, t - m(45), t - m(40), t - Duration::seconds(20))).await;
    // Across midnight: yesterday 23:50 → today 00:20 (in the future before 00:20).
    let midnight_job = || done(63, 63, ubuntu, at(1, 23, 45), at(1, 23, 50), at(0, 0, 20));
    job(&app, midnight_job()).await;
    // Three hours long, into the hour of the next one (whose peaks are scanned).
    job(&app, done(66, 66, farm, t - m(185), t - m(180), t - m(1))).await;
    // Ending in the future: today is not clean as a whole after the fold.
    job(&app, done(64, 64, farm, t - m(6), t - m(5), t + m(10))).await;
    let stale = answers(&app).await;
    fold(&store).await;
    let now = Utc::now().timestamp();
    let view = store.metrics().runner_rollup_view(now).await.expect("view").expect("fresh");
    let today = now.div_euclid(86_400);
    assert!(!view.clean(today, now), "today is not clean as a whole: {view:?}");
    assert!(!view.hour_clean(hour_of(t - m(5)), now), "the future end's hour: {view:?}");
    assert!(view.hour_clean(hour_of(t - m(120)), now), "a finished past hour: {view:?}");
    assert!(view.hours.contains_key(&((today - 1) * 24)), "yesterday is folded hourly: {view:?}");
    assert!(!view.hours.contains_key(&((today - 2) * 24)), "the day before is not: {view:?}");
    let hourly = answers(&app).await;
    let scan = scanned_then_refold(&app, &store).await;
    assert_eq!(stale, scan, "dirty hours scanned = scanned");
    assert_eq!(hourly, scan, "clean hours rolled up = scanned");

    // A past hour made dirty, a job running now started this hour, the
    // job across midnight redelivered with another end.
    job(&app, J { completed: Some(t - m(90)), ..past() }).await;
    let mut run = Run::new(65, t - m(2));
    run.repo = "octo-org/week".into();
    app.deliver_json("workflow_run", &run.at("in_progress", None, 10).payload(), "stored").await;
    let running = J {
        status: "in_progress",
        conclusion: None,
        completed: None,
        ..done(65, 65, farm, t - m(2), t - m(1), t)
    };
    job(&app, running).await;
    let now = Utc::now().timestamp();
    let view = store.metrics().runner_rollup_view(now).await.expect("view").expect("fresh");
    assert!(view.dirty_hours.contains(&hour_of(t - m(120))), "{view:?}");
    let dirty = answers(&app).await;
    assert_eq!(dirty, scanned_then_refold(&app, &store).await, "a dirty past hour = scanned");
    assert_ne!(dirty, stale, "the changes changed the answers");
    job(&app, J { completed: Some(at(0, 0, 5)), ..midnight_job() }).await;
    let boundary = answers(&app).await;
    fold(&store).await;
    let refolded = answers(&app).await;
    let scan = scanned(&app, &store).await;
    assert_eq!(boundary, scan, "a dirty hour before midnight = scanned");
    assert_eq!(refolded, scan, "refolded hours = scanned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hourly_runner_rollups_answer_as_a_scan_sqlite() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.runners.runner_cost = Some(COST.into())).await;
    hours_case(app.expect("sqlite")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hourly_runner_rollups_answer_as_a_scan_postgres() {
    if let Some(app) =
        TestApp::spawn_with(Backend::Postgres, |s| s.runners.runner_cost = Some(COST.into())).await
    {
        hours_case(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runner_rollups_answer_as_a_scan_sqlite() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.runners.runner_cost = Some(COST.into())).await;
    case(app.expect("sqlite")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runner_rollups_answer_as_a_scan_postgres() {
    if let Some(app) =
        TestApp::spawn_with(Backend::Postgres, |s| s.runners.runner_cost = Some(COST.into())).await
    {
        case(app).await;
    }
}
