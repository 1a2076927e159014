//! `/api/insights/runners` and `/api/insights/minutes` over HTTP on a
//! dataset worked out by hand, on both back ends: queue time from the job's
//! own timestamps (a job queued before its run started), clock skew
//! clamped, skipped jobs left out, still-queued jobs only in "queued now",
//! a job waiting for an approval not queued for a runner, a re-run's
//! carried-over job counted once, deliveries out of order, concurrency
//! peaks across an hour boundary, minute multipliers and cost globs.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::payloads::{Run, job_payload};

const COST: &str = "ubuntu-*=0.008,windows-*=0.016,self-hosted=0,linux=0.5";

/// Yesterday 00:00 UTC: every finished job of the dataset is yesterday, so
/// the figures do not depend on the hour the test runs.
fn yesterday() -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    DateTime::from_timestamp(now.div_euclid(86_400) * 86_400 - 86_400, 0).expect("time")
}

pub struct J<'a> {
    pub id: i64,
    pub run: i64,
    pub attempt: i64,
    pub repo: &'a str,
    pub labels: &'a [&'a str],
    pub group: Option<&'a str>,
    pub status: &'a str,
    pub conclusion: Option<&'a str>,
    pub created: DateTime<Utc>,
    pub started: DateTime<Utc>,
    pub completed: Option<DateTime<Utc>>,
}

pub async fn job(app: &TestApp, j: J<'_>) {
    let mut run = Run::new(j.run, j.created);
    run.repo = j.repo.into();
    run.attempt = j.attempt;
    let mut payload = job_payload(j.id, &run, j.status, j.conclusion, j.created, j.started, j.completed);
    payload["workflow_job"]["labels"] = json!(j.labels);
    payload["workflow_job"]["runner_group_name"] = json!(j.group);
    app.deliver_json("workflow_job", &payload, "stored").await;
}

fn hm(h: i64, m: i64, s: i64) -> Duration {
    Duration::seconds(h * 3600 + m * 60 + s)
}

pub async fn seed(app: &TestApp) {
    let y = yesterday();
    let now = Utc::now();
    let (app_repo, farm) = ("octo-org/app", "octo-org/farm");
    let ubuntu: &[&str] = &["ubuntu-latest"];
    let farm_labels: &[&str] = &["self-hosted", "Linux"];
    let gh = Some("GitHub Actions");
    let base = |id, run, repo, labels, group| J {
        id,
        run,
        attempt: 1,
        repo,
        labels,
        group,
        status: "completed",
        conclusion: Some("success"),
        created: y,
        started: y,
        completed: None,
    };
    // A1: queued 10:00:00, its run started 10:00:20 (the job was queued
    // first), the job started 10:00:30 → queue 30 s; ran 1 170 s → 20 min.
    let mut run1 = Run::new(1, y + hm(10, 0, 20));
    run1.repo = app_repo.into();
    app.deliver_json("workflow_run", &run1.at("in_progress", None, 10).payload(), "stored").await;
    job(
        app,
        J {
            created: y + hm(10, 0, 0),
            started: y + hm(10, 0, 30),
            completed: Some(y + hm(10, 20, 0)),
            ..base(11, 1, app_repo, ubuntu, gh)
        },
    )
    .await;
    // A2: 10:50 → 10:52 (queue 120 s) → 11:10 (1 080 s → 18 min).
    job(
        app,
        J {
            created: y + hm(10, 50, 0),
            started: y + hm(10, 52, 0),
            completed: Some(y + hm(11, 10, 0)),
            ..base(12, 2, app_repo, ubuntu, gh)
        },
    )
    .await;
    // A3: queued 11:05:00 but "started" 11:04:50 (skewed clocks) → queue
    // clamped to 0; ran 11:04:50 → 11:20:00 = 910 s → 16 min.
    job(
        app,
        J {
            created: y + hm(11, 5, 0),
            started: y + hm(11, 4, 50),
            completed: Some(y + hm(11, 20, 0)),
            ..base(13, 3, app_repo, ubuntu, gh)
        },
    )
    .await;
    // A4: skipped — in no figure.
    job(
        app,
        J {
            conclusion: Some("skipped"),
            created: y + hm(11, 30, 0),
            started: y + hm(11, 30, 0),
            completed: Some(y + hm(11, 30, 0)),
            ..base(14, 4, app_repo, ubuntu, None)
        },
    )
    .await;
    // A5, A6: queued now (GitHub fills started_at while queued), 600 s and 60 s ago.
    let queued = |id, ago| J {
        status: "queued",
        conclusion: None,
        created: now - Duration::seconds(ago),
        started: now - Duration::seconds(ago),
        ..base(id, id, app_repo, ubuntu, None)
    };
    job(app, queued(15, 600)).await;
    job(app, queued(16, 60)).await;
    // A7: waiting for a deployment approval: not queued for a runner.
    job(app, J { status: "waiting", ..queued(17, 3000) }).await;
    // B1 (self-hosted): 09:00 → 09:05 (queue 300 s) → 09:35 (30 min); its
    // completion arrives before its in_progress delivery, and attempt 2
    // carries it over (same job id): one job, in attempt 1.
    let b1 = || J {
        created: y + hm(9, 0, 0),
        started: y + hm(9, 5, 0),
        completed: Some(y + hm(9, 35, 0)),
        ..base(21, 21, farm, farm_labels, Some("build-farm"))
    };
    job(app, b1()).await;
    job(app, J { status: "in_progress", conclusion: None, completed: None, ..b1() }).await;
    job(app, J { attempt: 2, ..b1() }).await;
    // B2: queued and started 09:10 (queue 0), running now.
    job(
        app,
        J {
            status: "in_progress",
            conclusion: None,
            created: y + hm(9, 10, 0),
            started: y + hm(9, 10, 0),
            ..base(22, 22, farm, farm_labels, Some("build-farm"))
        },
    )
    .await;
    // M1 (macOS): 60 s → 1 min, ×10. W1 (Windows): 1 s → 1 min, ×2.
    job(
        app,
        J {
            created: y + hm(12, 0, 0),
            started: y + hm(12, 0, 10),
            completed: Some(y + hm(12, 1, 10)),
            ..base(31, 31, app_repo, &["macos-14"], gh)
        },
    )
    .await;
    job(
        app,
        J {
            created: y + hm(13, 0, 0),
            started: y + hm(13, 0, 0),
            completed: Some(y + hm(13, 0, 1)),
            ..base(32, 32, app_repo, &["windows-latest"], gh)
        },
    )
    .await;
}

fn set<'a>(answer: &'a Value, labels: &[&str]) -> &'a Value {
    answer["label_sets"]
        .as_array()
        .expect("label sets")
        .iter()
        .find(|s| s["labels"] == json!(labels))
        .unwrap_or_else(|| panic!("label set {labels:?} in {answer}"))
}

async fn case(app: TestApp) {
    seed(&app).await;
    let (status, r) = app.get("/api/insights/runners?window_days=2").await;
    assert_eq!(status, 200, "{r}");
    let order: Vec<&Value> = r["label_sets"].as_array().expect("sets").iter().map(|s| &s["labels"]).collect();
    // Most queued now first (ubuntu: 2), then by jobs (farm 2, macOS 1, Windows 1), then labels.
    assert_eq!(
        order,
        vec![
            &json!(["ubuntu-latest"]),
            &json!(["linux", "self-hosted"]),
            &json!(["macos-14"]),
            &json!(["windows-latest"])
        ]
    );

    let a = set(&r, &["ubuntu-latest"]);
    // Queues [0, 30, 120]: p50 h = 1 → 30; p95 h = 1.9 → 30 + 0.9·90 = 111; max 120.
    assert_eq!(
        (&a["jobs"], &a["queue_p50_seconds"], &a["queue_p95_seconds"], &a["queue_max_seconds"]),
        (&json!(3), &json!(30.0), &json!(111.0), &json!(120))
    );
    assert_eq!((&a["self_hosted"], &a["runner_groups"]), (&json!(false), &json!(["GitHub Actions"])));
    assert_eq!((&a["queued_now"], &a["running_now"]), (&json!(2), &json!(0)));
    let longest = &a["longest_waiting"];
    assert_eq!((&longest["job"], &longest["repo"]), (&json!("job-15"), &json!("octo-org/app")));
    let age = longest["age_seconds"].as_i64().expect("age");
    assert!((600..660).contains(&age), "A5 was queued 600 s before the request: {age}");
    assert!(longest["url"].as_str().expect("url").ends_with("/job/15"));
    // Hour 10: A1 then A2, never together → 1. Hour 11: A2 (until 11:10)
    // and A3 (from 11:04:50) overlap → 2. Hour 12: none.
    let hourly = a["hourly"].as_array().expect("hourly");
    let peaks: Vec<&Value> = hourly[9..13].iter().map(|h| &h["peak_concurrency"]).collect();
    assert_eq!(peaks, vec![&json!(0), &json!(1), &json!(2), &json!(0)]);
    assert_eq!(hourly[0]["start"], crate::payloads::iso(yesterday()));
    assert_eq!(a["peak_concurrency"], 2);
    let day = &a["daily"][0];
    assert_eq!(
        (&day["jobs"], &day["queue_p50_seconds"], &day["queue_p95_seconds"], &day["peak_concurrency"]),
        (&json!(3), &json!(30.0), &json!(111.0), &json!(2))
    );

    let b = set(&r, &["linux", "self-hosted"]);
    // Queues [0, 300]: p50 150, p95 h = 0.95 → 285; max 300. B1 counted once.
    assert_eq!(
        (&b["jobs"], &b["queue_p50_seconds"], &b["queue_p95_seconds"], &b["queue_max_seconds"]),
        (&json!(2), &json!(150.0), &json!(285.0), &json!(300))
    );
    assert_eq!(
        (&b["self_hosted"], &b["runner_groups"], &b["running_now"], &b["queued_now"]),
        (&json!(true), &json!(["build-farm"]), &json!(1), &json!(0))
    );
    assert_eq!(b["longest_waiting"], Value::Null);
    // Hour 9: B1 [09:05, 09:35) and B2 [09:10, now) → 2; hour 10 on: B2 alone → 1.
    let peaks: Vec<&Value> =
        b["hourly"].as_array().expect("hourly")[8..12].iter().map(|h| &h["peak_concurrency"]).collect();
    assert_eq!(peaks, vec![&json!(0), &json!(2), &json!(1), &json!(1)]);

    // Filters: one repository; an unknown provider is a 422 problem.
    let (_, farm) = app.get("/api/insights/runners?window_days=2&repo=octo-org/farm&provider=github").await;
    assert_eq!(farm["label_sets"].as_array().map(Vec::len), Some(1), "{farm}");
    for bad in ["provider=nosuch", "window_days=0", "window_days=x"] {
        let (status, problem) = app.get(&format!("/api/insights/runners?{bad}")).await;
        assert_eq!(status, 422, "{bad}: {problem}");
    }

    // Minutes by label set, with COST: ubuntu 20 + 18 + 16 = 54 min ×1 →
    // 54 billable, 54 · 0.008 = 0.432; Windows 1 min ×2 → 2, 0.016; macOS
    // 1 min ×10 → 10, unpriced; farm 30 min, self-hosted ×0 → 0, and
    // `self-hosted=0` matches before `linux=0.5` → cost 0. Running B2 is
    // not counted. Totals: 86 runner, 66 billable, 0.448, 1 unpriced.
    let (status, m) = app.get("/api/insights/minutes?window_days=2&group_by=label").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["priced"], true);
    let rows: Vec<(Value, Value, Value, Value, Value)> = m["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["labels"].clone(),
                r["runner_minutes"].clone(),
                r["billable_minutes"].clone(),
                r["cost"].clone(),
                r["unpriced_minutes"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!(["ubuntu-latest"]), json!(54), json!(54), json!(0.432), json!(0)),
            (json!(["windows-latest"]), json!(1), json!(2), json!(0.016), json!(0)),
            (json!(["macos-14"]), json!(1), json!(10), json!(0.0), json!(1)),
            (json!(["linux", "self-hosted"]), json!(30), json!(0), json!(0.0), json!(0)),
        ]
    );
    let t = &m["totals"];
    assert_eq!(
        (&t["jobs"], &t["runner_minutes"], &t["billable_minutes"], &t["cost"], &t["unpriced_minutes"]),
        (&json!(6), &json!(86), &json!(66), &json!(0.448), &json!(1))
    );
    // By repository: app 56 runner / 66 billable / 0.448; farm 30 / 0 / 0.
    let (_, by_repo) = app.get("/api/insights/minutes?window_days=2").await;
    assert_eq!(by_repo["group_by"], "repo");
    assert_eq!(by_repo["rows"][0]["repo"], "octo-org/app");
    assert_eq!(
        (&by_repo["rows"][0]["runner_minutes"], &by_repo["rows"][0]["billable_minutes"]),
        (&json!(56), &json!(66))
    );
    assert_eq!(by_repo["rows"][1]["runner_minutes"], 30);
    let (_, by_job) = app.get("/api/insights/minutes?window_days=2&group_by=job&repo=octo-org/farm").await;
    assert_eq!(
        (&by_job["rows"][0]["job"], &by_job["rows"][0]["workflow"], &by_job["rows"][0]["runner_minutes"]),
        (&json!("job-21"), &json!("CI"), &json!(30))
    );
    let (status, _) = app.get("/api/insights/minutes?group_by=branch").await;
    assert_eq!(status, 422);

    // The build detail shows the runner group and the hosting.
    let builds = app.builds().await;
    let farm_build =
        builds.iter().find(|b| b["external_id"] == "21" && b["run_attempt"] == 1).expect("build 21");
    let detail = app.build(&farm_build["id"]).await;
    assert_eq!(
        (&detail["jobs"][0]["runner_group"], &detail["jobs"][0]["self_hosted"]),
        (&json!("build-farm"), &json!(true))
    );
}

async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| s.runners.runner_cost = Some(COST.into())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runners_and_minutes_on_a_hand_worked_dataset_sqlite() {
    case(spawn(Backend::Sqlite).await.expect("sqlite")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runners_and_minutes_on_a_hand_worked_dataset_postgres() {
    if let Some(app) = spawn(Backend::Postgres).await {
        case(app).await;
    }
}

/// A job still `queued` in a run attempt that has finished (its final job
/// delivery lost, or a GitLab `created` job left in a finished pipeline)
/// will never get a runner: not in "queued now", while the same job in an
/// unfinished run is.
/// (Read over two UTC days: the jobs of 30 minutes ago are yesterday until
/// 00:30 UTC.)
async fn finished_runs_hold_no_waiting_jobs(app: TestApp) {
    let at = Utc::now() - Duration::minutes(30);
    for (run_id, job_id) in [(801, 8011), (802, 8021)] {
        let mut run = Run::new(run_id, at);
        run.repo = "octo-org/lost".into();
        app.deliver_json("workflow_run", &run.at("in_progress", None, 0).payload(), "stored").await;
        let labels: &[&str] = &["lost-label"];
        let j = J {
            id: job_id,
            run: run_id,
            attempt: 1,
            repo: "octo-org/lost",
            labels,
            group: None,
            status: "queued",
            conclusion: None,
            created: at,
            started: at,
            completed: None,
        };
        job(&app, j).await;
    }
    // Run 801 finishes (failed) while its job is still queued; 802 runs on.
    let mut done = Run::new(801, at);
    done.repo = "octo-org/lost".into();
    app.deliver_json("workflow_run", &done.at("completed", Some("failure"), 600).payload(), "stored").await;
    let (status, r) = app.get("/api/insights/runners?window_days=2&repo=octo-org/lost").await;
    assert_eq!(status, 200, "{r}");
    let s = set(&r, &["lost-label"]);
    assert_eq!((&s["queued_now"], &s["longest_waiting"]["job"]), (&json!(1), &json!("job-8021")), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_runs_hold_no_waiting_jobs_sqlite() {
    finished_runs_hold_no_waiting_jobs(spawn(Backend::Sqlite).await.expect("sqlite")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_runs_hold_no_waiting_jobs_postgres() {
    if let Some(app) = spawn(Backend::Postgres).await {
        finished_runs_hold_no_waiting_jobs(app).await;
    }
}
