//! `/api/metrics/timeseries` over HTTP on a dataset worked out by hand, in
//! a time zone that is not UTC (Asia/Kolkata, +05:30 all year, so the
//! expected day boundaries can be computed here independently).

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::payloads::{Run, iso, job_payload};

/// Start of today in Kolkata, as UTC.
fn kolkata_midnight() -> DateTime<Utc> {
    let ist = FixedOffset::east_opt(5 * 3600 + 1800).expect("offset");
    let today = Utc::now().with_timezone(&ist).date_naive();
    ist.from_local_datetime(&today.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("one")
        .with_timezone(&Utc)
}

async fn run(
    app: &crate::helpers::TestApp,
    id: i64,
    repo: &str,
    branch: &str,
    start: DateTime<Utc>,
    end: (&str, Option<&str>, i64),
    queue: Option<i64>,
) {
    let mut run = Run::new(id, start);
    run.repo = repo.into();
    run.branch = branch.into();
    app.deliver_json("workflow_run", &run.at(end.0, end.1, end.2).payload(), "stored").await;
    if let Some(queue) = queue {
        let started = start + Duration::seconds(queue);
        let job = job_payload(id * 10, &run, "in_progress", None, start, started, None);
        app.deliver_json("workflow_job", &job, "stored").await;
    }
}

on_both_backends! {
    async fn timeseries_on_a_hand_worked_dataset(app: TestApp) {
        let m = kolkata_midnight();
        let s = Duration::seconds;
        let ok = |secs| ("completed", Some("success"), secs);
        let failed = |secs| ("completed", Some("failure"), secs);
        run(&app, 1, "o/a", "main", m - s(1), ok(100), None).await;                      // yesterday
        run(&app, 2, "o/a", "main", m, ok(60), Some(30)).await;                           // today
        run(&app, 3, "o/a", "main", m + s(60), failed(300), Some(10)).await;              // today
        run(&app, 4, "o/a", "feature", m + s(120), ok(120), None).await;                  // today
        run(&app, 5, "o/a", "main", m + s(180), ("completed", Some("cancelled"), 30), None).await;
        run(&app, 6, "o/a", "main", m - Duration::days(3) + s(10), ("in_progress", None, 5), None).await;
        run(&app, 7, "o/a", "main", m - Duration::days(7) + s(5), ok(999), None).await;   // outside 7 days
        run(&app, 8, "o/other", "main", m + s(240), failed(50), None).await;              // today

        let (status, t) = app.get("/api/metrics/timeseries?window_days=7&bucket=day&tz=Asia/Kolkata").await;
        assert_eq!(status, 200, "{t}");
        assert_eq!(t["tz"], "Asia/Kolkata");
        let buckets = t["buckets"].as_array().expect("buckets");
        assert_eq!(buckets.len(), 7);
        assert_eq!(t["from"], iso(m - Duration::days(6)));
        assert_eq!(t["to"], iso(m + Duration::days(1)));
        let today = &buckets[6];
        assert_eq!(today["start"], iso(m));
        assert_eq!(today["hours"], json!(24.0));
        // Today: 2, 3, 4, 5, 8 → success 2, failed 2, cancelled 1; rate 0.5;
        // durations [50, 60, 120, 300]: p50 h = 1.5 → 90, p95 h = 2.85 → 120 + 0.85·180 = 273;
        // queues [10, 30] → 20.
        assert_eq!(
            (&today["total_builds"], &today["success_count"], &today["failure_count"], &today["cancelled_count"], &today["other_count"]),
            (&json!(5), &json!(2), &json!(2), &json!(1), &json!(0))
        );
        assert_eq!(today["success_rate"], json!(0.5));
        assert_eq!(today["p50_build_time_seconds"], json!(90.0));
        assert_eq!(today["p95_build_time_seconds"], json!(273.0));
        assert_eq!(today["median_queue_seconds"], json!(20.0));
        assert_eq!(buckets[5]["total_builds"], 1);
        assert_eq!(buckets[5]["p50_build_time_seconds"], json!(100.0));
        assert_eq!(buckets[3]["other_count"], 1);
        assert_eq!(buckets[3]["success_rate"], Value::Null);
        assert_eq!(buckets[0]["total_builds"], 0);
        // Totals: 1–6 and 8; durations [50, 60, 100, 120, 300]: p50 = 100,
        // p95 h = 3.8 → 120 + 0.8·180 = 264.
        let totals = &t["totals"];
        assert_eq!(totals["total_builds"], 7);
        assert_eq!(totals["success_rate"], json!(0.6));
        assert_eq!(totals["p50_build_time_seconds"], json!(100.0));
        assert_eq!(totals["p95_build_time_seconds"], json!(264.0));

        // Filtered: o/a on main today → 2, 3, 5: durations [60, 300]: p50 180, p95 h = 0.95 → 288.
        let (_, f) = app.get("/api/metrics/timeseries?tz=Asia/Kolkata&repo=o/a&branch=main").await;
        let today = &f["buckets"][6];
        assert_eq!(today["total_builds"], 3);
        assert_eq!(today["success_rate"], json!(0.5));
        assert_eq!(today["p50_build_time_seconds"], json!(180.0));
        assert_eq!(today["p95_build_time_seconds"], json!(288.0));
        assert_eq!(f["totals"]["total_builds"], 5);
    }

    async fn timeseries_refuses_bad_parameters(app: TestApp) {
        for query in ["tz=Mars/Olympus", "bucket=hour", "window_days=0", "window_days=366", "window_days=x"] {
            let response = app.client.get(app.url(&format!("/api/metrics/timeseries?{query}"))).send().await.expect("sent");
            assert_eq!(response.status().as_u16(), 422, "{query}");
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let body: Value = response.json().await.expect("json");
            assert_eq!(body["status"], 422);
        }
        let (status, t) = app.get("/api/metrics/timeseries").await;
        assert_eq!(status, 200);
        assert_eq!(t["tz"], "UTC");
        assert_eq!(t["buckets"].as_array().map(Vec::len), Some(7));
    }
}
